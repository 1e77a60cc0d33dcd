"""History benchmark: sink ingest against a raw COPY, and history query latency.

Run with ``.venv/bin/python -m tests.bench.bench_history`` (PostgreSQL is
started through ``deploy/`` like the tests; ``OCC_DATABASE_URL`` points it at
another server, e.g. one with TimescaleDB). In one run:

1. *Ingest.* Thirty days of a 50-zone plant (one gate per zone, ten cameras;
   a crossing every ``--every`` seconds per zone on average, with a daily
   rhythm and 2 % of crossings up to 10 minutes late) go through the real
   :class:`PostgresSink` in batches of ``--batch`` events, as the worker
   sends them: raw rows, derived levels, and on the plain path the rollups.
   The very same rows (``COPY ... TO`` from that database, binary) are
   written with a bare binary ``COPY ... FROM`` into the same tables of a
   second, freshly migrated database, a day at a time between the sink's
   days, so both run under the same load. Goal: sink >= 50 % of the raw
   COPY's rows/s.
2. *Queries.* The GraphQL ``history`` query for 30 days at hourly
   granularity (720 buckets), executed in-process through the real schema
   (no HTTP), for every one of the 50 zones, ``--rounds`` times in random
   order. Reported: p50/p99 of the whole resolver and of the database part
   alone. Goal: p99 <= 20 ms. On TimescaleDB the continuous aggregates are
   refreshed first, as the policies would have done.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import math
import os
import platform
import random
import statistics
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from api.history.buckets import (
    Granularity,
    HistoryRequest,
    history_timezone,
    read_history,
)
from api.schema import schema
from api.state import ApiState
from schemas.config import PlantConfig
from schemas.events import CrossingEvent, OccupancyChanged, crossing_id
from schemas.migrate import migrate, refresh_history
from streams.core.zones import ZoneGraph, ZoneOccupancy
from streams.sinks.postgres import PostgresSink
from tests.harness import ROOT, deploy

ZONES = 50
CAMERAS = 10
TIMEZONE = "Europe/Berlin"
FIELDS = "start entries exits minOccupancy maxOccupancy avgOccupancy"
QUERIES = {
    form: "query ($zone: ID!, $from: DateTime!, $to: DateTime!) {"
    f" history(zone: $zone, from: $from, to: $to, granularity: HOUR) {{ {form} {{ {FIELDS} }} }} }}"
    for form in ("series", "buckets")
}


def plant() -> PlantConfig:
    return PlantConfig.model_validate(
        {
            "timezone": TIMEZONE,
            "zones": [{"id": f"area-{i:02d}"} for i in range(ZONES)],
            "cameras": [{"id": f"cam-{c}"} for c in range(CAMERAS)],
            "lines": [
                {
                    "id": f"gate-{i:02d}",
                    "camera_id": f"cam-{i % CAMERAS}",
                    "points": [[40.0, 360.0], [600.0, 360.0]],
                    "from_zone": "outside",
                    "to_zone": f"area-{i:02d}",
                }
                for i in range(ZONES)
            ],
        }
    )


def events(
    config: PlantConfig, start: datetime, days: int, every_s: float, batch: int, seed: int
) -> Iterator[tuple[int, list[CrossingEvent | OccupancyChanged]]]:
    """``(day, batch)``: crossings and occupancy changes in arrival order, a day at a time."""
    rng = random.Random(seed)
    graph = ZoneGraph(config.zones)
    reducers = {z.id: ZoneOccupancy(z.id) for z in config.zones}
    inside = dict.fromkeys(reducers, 0)
    pending: list[CrossingEvent | OccupancyChanged] = []
    seq = 0
    for day in range(days):
        t0 = start + timedelta(days=day)
        moves: list[tuple[datetime, float, Any]] = []
        for line in config.lines:
            zone = line.to_zone
            t = t0 + timedelta(seconds=rng.expovariate(1 / every_s))
            while t < t0 + timedelta(days=1):
                # Busier by day: more arrivals in the morning, more departures later.
                hour = t.hour + t.minute / 60
                inward = rng.random() < (0.75 if hour < 12 else 0.3) or inside[zone] == 0
                inside[zone] += 1 if inward else -1
                seq += 1
                e = CrossingEvent(
                    id=crossing_id(line.camera_id, line.id, seq, seq, t.timestamp()),
                    camera_id=line.camera_id,
                    line_id=line.id,
                    track_id=seq,
                    frame_seq=seq,
                    direction="in" if inward else "out",
                    from_zone="outside" if inward else zone,
                    to_zone=zone if inward else "outside",
                    occurred_at=t,
                    config_version=config.version,
                )
                late = rng.uniform(10, 600) if rng.random() < 0.02 else rng.uniform(0, 1)
                moves.append((t + timedelta(seconds=late), rng.random(), e))
                gap = rng.expovariate(1 / every_s) * (0.5 if 7 <= hour < 18 else 2.0)
                t += timedelta(seconds=gap)
        moves.sort(key=lambda m: (m[0], m[1]))
        for _, _, e in moves:
            pending.append(e)
            for delta in graph.deltas(e):
                pending.extend(reducers[delta.zone_id].apply(delta))
            while len(pending) >= batch:
                yield day, pending[:batch]
                pending = pending[batch:]
    if pending:
        yield days, pending


def create_database(server_dsn: str, name: str) -> str:
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = server_dsn.rsplit("/", 1)[0] + "/" + name
    migrate(dsn, timezone=TIMEZONE)
    return dsn


def drop_database(server_dsn: str, dsn: str) -> None:
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')


def pause_background_jobs(dsn: str) -> None:
    """TimescaleDB: no compression or retention run while we write (either would skew it)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs"
            " WHERE proc_name IN ('policy_compression', 'policy_retention',"
            " 'policy_refresh_continuous_aggregate')"
        )


_TABLES = {
    # table: (time column, column types for binary COPY, in table order)
    "crossings": (
        "occurred_at",
        ["uuid", "timestamptz", "text", "text", "int8", "int8", "text", "text", "text", "text"],
    ),
    "occupancy_samples": (
        "at",
        ["uuid", "timestamptz", "text", "int4", "int8", "int8", "int8", "text", "uuid", "bool"]
        + ["int4"] * 4,
    ),
}


async def export(
    conn: psycopg.AsyncConnection[Any], lo: datetime, hi: datetime
) -> tuple[dict[str, bytes], list[tuple[str, tuple[Any, ...]]]]:
    """The stored rows of ``[lo, hi)`` in event time: binary COPY data per table,
    and the rows themselves, both tables merged in event-time order."""
    data: dict[str, bytes] = {}
    rows: list[tuple[datetime, str, tuple[Any, ...]]] = []
    async with conn.cursor() as cur:
        for table, (column, _) in _TABLES.items():
            where = f"WHERE {column} >= %s AND {column} < %s"
            buf = io.BytesIO()
            query = f"COPY (SELECT * FROM {table} {where}) TO STDOUT (FORMAT BINARY)"
            async with cur.copy(query, (lo, hi)) as copy:
                async for chunk in copy:
                    buf.write(chunk)
            data[table] = buf.getvalue()
            await cur.execute(f"SELECT * FROM {table} {where}", (lo, hi))
            rows += [(r[1], table, r) for r in await cur.fetchall()]
    rows.sort(key=lambda r: r[0])
    return data, [(table, row) for _, table, row in rows]


async def ingest_and_copy(
    sink_db: str,
    batched_db: str,
    bulk_db: str,
    batches: Iterator[tuple[int, list[Any]]],
    start: datetime,
    batch_size: int,
) -> dict[str, float]:
    """Seconds spent in the sink and in two raw COPYs, and rows written.

    Interleaved a day at a time, so all three see the same machine: after the
    sink has written day ``d`` (and with it every late row of day ``d - 1``),
    the rows of day ``d - 1`` are COPYed into the other databases:

    - *batched*: as a client that only writes the rows would: from Python
      tuples, binary COPY, ``batch_size`` rows per transaction, as the sink
      commits (the like-for-like baseline);
    - *bulk*: server to server, one binary COPY per table and day (the
      fastest the database takes these rows in; for reference).
    """
    sink = PostgresSink(sink_db)
    source = await psycopg.AsyncConnection.connect(sink_db, autocommit=True)
    batched = await psycopg.AsyncConnection.connect(batched_db)
    bulk = await psycopg.AsyncConnection.connect(bulk_db)
    spent = {"sink_s": 0.0, "batched_s": 0.0, "bulk_s": 0.0, "rows": 0}
    copied_until = start

    async def copy_until(hi: datetime) -> None:
        data, rows = await export(source, copied_until, hi)
        t = time.perf_counter()
        for i in range(0, len(rows), batch_size):
            chunk = rows[i : i + batch_size]
            async with batched.cursor() as cur:
                for table, (_, types) in _TABLES.items():
                    async with cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
                        copy.set_types(types)
                        for name, row in chunk:
                            if name == table:
                                await copy.write_row(row)
            await batched.commit()
        spent["batched_s"] += time.perf_counter() - t
        t = time.perf_counter()
        async with bulk.cursor() as cur:
            for table, payload in data.items():
                async with cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
                    await copy.write(payload)
        await bulk.commit()
        spent["bulk_s"] += time.perf_counter() - t

    try:
        await sink.flush()  # connects (and checks migrations) outside the timing
        for day, batch in batches:
            if start + timedelta(days=day - 1) > copied_until:
                await copy_until(start + timedelta(days=day - 1))
                copied_until = start + timedelta(days=day - 1)
            for e in batch:
                sink.add(e)
            t = time.perf_counter()
            spent["rows"] += (await sink.flush()).written
            spent["sink_s"] += time.perf_counter() - t
        await copy_until(datetime.max.replace(tzinfo=UTC))
    finally:
        await sink.close()
        for conn in (source, batched, bulk):
            await conn.close()
    return spent


def count_rows(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM crossings) + (SELECT count(*) FROM occupancy_samples)"
        ).fetchone()
    return int(row[0]) if row else 0


def refresh_aggregates(dsn: str) -> float:
    t = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        refresh_history(conn)
    return time.perf_counter() - t


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


async def query_latency(
    dsn: str, config: PlantConfig, start: datetime, end: datetime, rounds: int
) -> dict[str, float]:
    """Milliseconds per query: database read + stitching, and the whole GraphQL resolver."""
    from api.auth.principals import Principal, Role

    BENCH_VIEWER = Principal("bench", Role.VIEWER, "bench")
    pool = AsyncConnectionPool(dsn, min_size=1, max_size=1, open=False)
    await pool.open(wait=True)
    state = ApiState(None, config, pool, None, None)  # type: ignore[arg-type]
    tz = await history_timezone(pool)
    zones = [z.id for z in config.zones]
    variables = {"from": start.isoformat(), "to": end.isoformat()}
    times: dict[str, list[float]] = {"database": [], "series": [], "buckets": []}

    async def graphql(form: str, zone: str) -> None:
        result = await schema.execute(
            QUERIES[form],
            {**variables, "zone": zone},
            context_value={"state": state, "principal": BENCH_VIEWER},
        )
        assert result.errors is None, result.errors
        found = result.data["history"][form]  # type: ignore[index]
        assert len(found["start"] if form == "series" else found) == 720

    try:
        for warm in zones[:5]:  # connection and plan caches
            await graphql("series", warm)
            await graphql("buckets", warm)
        order = [z for _ in range(rounds) for z in zones]
        random.Random(1).shuffle(order)
        # One loop per kind, each after a full collection, so that the garbage
        # one kind leaves behind is collected (and timed) in its own loop.
        gc.collect()
        for zone in order:
            request = HistoryRequest.build(config, Granularity.HOUR, start, end, zone=zone)
            t = time.perf_counter()
            async with pool.connection() as conn:
                await read_history(conn, request, tz)
            times["database"].append((time.perf_counter() - t) * 1000)
        for form in ("series", "buckets"):
            gc.collect()
            for zone in order:
                t = time.perf_counter()
                await graphql(form, zone)
                times[form].append((time.perf_counter() - t) * 1000)
    finally:
        await pool.close()
    out: dict[str, float] = {"queries": len(order)}
    for name, values in times.items():
        out[f"{name}_p50_ms"] = statistics.median(values)
        out[f"{name}_p99_ms"] = pct(values, 99)
    return out


def machine(dsn: str) -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with psycopg.connect(dsn) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        ts = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
    db = f"PostgreSQL {pg.split()[0]}" + (f" + TimescaleDB {ts[0]}" if ts else "")
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {db}"


async def measure(
    args: argparse.Namespace, sink_db: str, batched_db: str, bulk_db: str
) -> dict[str, Any]:
    with psycopg.connect(sink_db) as conn:
        row = conn.execute("SELECT backend FROM history_settings").fetchone()
    backend = row[0] if row else "plain"
    if backend == "timescaledb":
        for dsn in (sink_db, batched_db, bulk_db):
            pause_background_jobs(dsn)
    config = plant()
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=args.days)
    spent = await ingest_and_copy(
        sink_db,
        batched_db,
        bulk_db,
        events(config, start, args.days, args.every, args.batch, seed=7),
        start,
        args.batch,
    )
    rows = int(spent["rows"])
    assert count_rows(sink_db) == count_rows(batched_db) == count_rows(bulk_db) == rows
    refresh_s = refresh_aggregates(sink_db) if backend == "timescaledb" else 0.0
    latency = await query_latency(sink_db, config, end - timedelta(days=30), end, args.rounds)
    return {
        "backend": backend,
        "machine": machine(sink_db),
        "days": args.days,
        "zones": ZONES,
        "rows": rows,
        "batch": args.batch,
        "sink_rows_per_s": rows / spent["sink_s"],
        "batched_copy_rows_per_s": rows / spent["batched_s"],
        "bulk_copy_rows_per_s": rows / spent["bulk_s"],
        "sink_vs_batched_copy": spent["batched_s"] / spent["sink_s"],
        "sink_vs_bulk_copy": spent["bulk_s"] / spent["sink_s"],
        **spent,
        "refresh_s": refresh_s,
        "latency": latency,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    status = ["bash", str(ROOT / "deploy" / "postgres.sh"), "status"]
    running = subprocess.run(status, capture_output=True, check=False).returncode == 0
    server = deploy("postgres.sh", "start").splitlines()[-1]
    tag = uuid.uuid4().hex[:6]
    dbs = [create_database(server, f"occ_bench_{name}_{tag}") for name in ("sink", "raw", "bulk")]
    try:
        return asyncio.run(measure(args, *dbs))
    finally:
        for dsn in dbs:
            drop_database(server, dsn)
        if not running and os.environ.get("OCC_KEEP_SERVICES") != "1":
            deploy("postgres.sh", "stop")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--every", type=float, default=300.0, help="mean seconds between crossings per zone"
    )
    parser.add_argument("--batch", type=int, default=2000, help="events per sink flush")
    parser.add_argument("--rounds", type=int, default=10, help="queries per zone")
    args = parser.parse_args()
    result = run(args)
    out = ROOT / ".run" / "bench" / "history.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    lat = result["latency"]
    print(
        f"\nHistory benchmark ({result['backend']} path): {result['zones']} zones, "
        f"{result['days']} days, {result['rows']:,} rows (crossings + occupancy changes), "
        f"sink batches of {result['batch']}; {result['machine']}\n"
    )
    print("| measure | value | goal |")
    print("|---|---:|---:|")
    r = result
    print(
        f"| sink ingest (PostgresSink, history included) | {r['sink_rows_per_s']:,.0f} rows/s | |"
    )
    print(
        "| raw COPY of the same rows, same batches and commits (client, binary) | "
        f"{r['batched_copy_rows_per_s']:,.0f} rows/s | |"
    )
    print(f"| **sink / raw COPY, same batches** | **{r['sink_vs_batched_copy']:.0%}** | >= 50% |")
    print(
        "| raw COPY of the same rows, one per table and day (server to server) | "
        f"{r['bulk_copy_rows_per_s']:,.0f} rows/s | |"
    )
    print(f"| sink / bulk COPY | {r['sink_vs_bulk_copy']:.0%} | |")
    for name, label in (
        ("database", "history 30 days hourly (720 buckets): database read + stitching"),
        ("series", "... through GraphQL, `series` (columns)"),
        ("buckets", "... through GraphQL, `buckets` (one object per bucket)"),
    ):
        goal = "p99 <= 20 ms" if name == "database" else ""
        print(
            f"| {label}, p50 / p99 | {lat[name + '_p50_ms']:.1f} / "
            f"{lat[name + '_p99_ms']:.1f} ms | {goal} |"
        )
    if result["refresh_s"]:
        print(
            f"\ncontinuous aggregates refreshed in {result['refresh_s']:.1f} s before the queries"
        )
    print(f"\n{lat['queries']:.0f} queries of each kind, in-process; raw figures: {out}")


if __name__ == "__main__":
    main()
