"""Recount a period from the raw detections kept in Kafka, with another configuration.

::

    python -m streams.cli.recount --from 2026-03-02T06:00:00Z --to 2026-03-02T18:00:00Z \\
        --config config/moved-lines.toml [--apply --by "anna"]

Reads ``detections.v1`` between the offsets found by timestamp (producers stamp
records with the capture time), feeds the frames through the same core as the
live pipeline with the given configuration, and writes the result as a
separate run: crossings on ``recount.v1`` and in ``recount_crossings``, a
summary in ``recount_runs``, all tagged by a run id derived from the range and
the configuration (so replaying the same range twice gives the same ids). It
prints per line and per zone what was counted live and what the recount finds.
With ``--apply`` it publishes, for every zone whose net flow differs, an
``OccupancyCalibrated`` command that moves the live occupancy by the difference.

The horizon of a recount is the retention of ``detections.v1``
(``OCC_DETECTIONS_RETENTION_HOURS``, default 14 days).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import ValidationError

from schemas.config import PlantConfig, load_plant_config
from schemas.events import CrossingEvent, FrameDetections
from schemas.operations import OccupancyCalibrated
from streams.cli.migrate import migrate_with
from streams.core.recount import Recount, line_counts, run_id_for, zone_flows
from streams.core.zones import ZoneGraph
from streams.settings import Settings
from streams.sinks.postgres import crossing_row

__all__ = ["main", "read_period", "run"]


class _Progress:
    """A one-line progress bar on stderr (only when it is a terminal, or forced)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.enabled = enabled
        self._last = 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.2 or self.done >= self.total):
            self._last = now
            width = 40
            filled = int(width * min(self.done / self.total, 1.0))
            sys.stderr.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done:,}/{self.total:,} records"
            )
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


async def read_period(
    bootstrap: str, topic: str, start: datetime, end: datetime, progress: bool = False
) -> AsyncIterator[bytes]:
    """Raw values of ``topic`` whose record timestamps lie in [start, end)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        for _ in range(100):
            if consumer.assignment():
                break
            await asyncio.sleep(0.1)
        tps = sorted(consumer.assignment())
        if not tps:
            raise RuntimeError(f"topic {topic!r} does not exist")
        start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        firsts = await consumer.offsets_for_times(dict.fromkeys(tps, start_ms))
        lasts = await consumer.offsets_for_times(dict.fromkeys(tps, end_ms))
        log_ends = await consumer.end_offsets(tps)
        bounds: dict[TopicPartition, tuple[int, int]] = {}
        for tp in tps:
            first = firsts.get(tp)
            if first is None:
                continue  # nothing at or after the start in this partition
            last = lasts.get(tp)
            stop = last.offset if last is not None else log_ends[tp]
            if stop > first.offset:
                bounds[tp] = (first.offset, stop)
        bar = _Progress(sum(b - a for a, b in bounds.values()), progress)
        consumer.unsubscribe()  # from "every partition" to exactly the ones with data
        consumer.assign(list(bounds))
        for tp, (first_offset, _) in bounds.items():
            consumer.seek(tp, first_offset)
        remaining = dict(bounds)
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=5000)
            for tp, records in batches.items():
                stop = remaining.get(tp, (0, 0))[1]
                for record in records:
                    if record.offset >= stop:
                        break
                    bar.advance()
                    yield record.value
                if records and records[-1].offset >= stop - 1:
                    remaining.pop(tp, None)
            for tp in list(remaining):
                if await consumer.position(tp) >= remaining[tp][1]:
                    remaining.pop(tp)
        bar.close()
    finally:
        await consumer.stop()


def _live(dsn: str, start: datetime, end: datetime) -> list[CrossingEvent]:
    cols = (
        "id, camera_id, line_id, track_id, frame_seq, direction, from_zone, to_zone, "
        "occurred_at, config_version"
    )
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            f"SELECT {cols} FROM crossings WHERE occurred_at >= %s AND occurred_at < %s",
            (start, end),
        ).fetchall()
    names = [c.strip() for c in cols.split(",")]
    return [CrossingEvent.model_validate(dict(zip(names, r, strict=True))) for r in rows]


def _store(settings: Settings, rc: Recount, summary: dict[str, Any]) -> None:
    migrate_with(settings)
    with psycopg.connect(settings.database_url) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "INSERT INTO recount_runs (run_id, range_start, range_end, config_version, frames,"
            " crossings, summary) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (run_id) DO UPDATE SET summary = EXCLUDED.summary,"
            " frames = EXCLUDED.frames, crossings = EXCLUDED.crossings",
            (
                rc.run_id,
                rc.start,
                rc.end,
                rc.plant.version,
                rc.frames,
                len(rc.crossings),
                json.dumps(summary),
            ),
        )
        cur.executemany(
            "INSERT INTO recount_crossings (run_id, id, occurred_at, camera_id, line_id, track_id,"
            " frame_seq, direction, from_zone, to_zone, config_version)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [(rc.run_id, *crossing_row(c)) for c in rc.crossings],
        )


def _table(title: str, rows: list[tuple[str, str, int, int]]) -> str:
    out = [title, f"  {'':<16} {'':<8} {'live':>7} {'recount':>8} {'diff':>6}"]
    for name, what, live, new in rows:
        out.append(f"  {name:<16} {what:<8} {live:>7} {new:>8} {new - live:>+6}")
    return "\n".join(out)


async def run(
    settings: Settings,
    plant: PlantConfig,
    start: datetime,
    end: datetime,
    *,
    apply: bool = False,
    by: str = "recount",
    progress: bool = False,
) -> dict[str, Any]:
    """Recount [start, end) with ``plant``; store and publish the run; return its summary."""
    rc = Recount(plant, start, end, run_id_for(start, end, plant), settings.track_ttl_s)
    invalid = 0
    async for raw in read_period(
        settings.kafka_bootstrap_servers, settings.topic("detections"), start, end, progress
    ):
        try:
            rc.feed(FrameDetections.model_validate_json(raw))
        except ValidationError:
            invalid += 1  # already dead-lettered by the live pipeline
    graph = ZoneGraph(plant.zones)
    live = _live(settings.database_url, start, end)
    summary: dict[str, Any] = {
        "run_id": rc.run_id,
        "range": [start.isoformat(), end.isoformat()],
        "config_version": plant.version,
        "frames": rc.frames,
        "invalid_frames": invalid,
        "crossings": len(rc.crossings),
        "lines": {"live": line_counts(live), "recount": rc.lines()},
        "zones": {"live": zone_flows(live, graph), "recount": rc.zones()},
    }
    _store(settings, rc, summary)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for c in rc.crossings:
            await producer.send(
                settings.topic("recount"),
                key=c.camera_id.encode(),
                value=c.model_dump_json().encode(),
                headers=[("run_id", rc.run_id.encode())],
            )
        calibrations = []
        if apply:
            calibrations = _calibrations(settings, summary, by)
            for cal in calibrations:
                await producer.send(
                    settings.topic("commands"),
                    key=cal.zone_id.encode(),
                    value=cal.model_dump_json().encode(),
                )
        await producer.flush()
    finally:
        await producer.stop()
    summary["calibrations"] = [c.model_dump(mode="json") for c in calibrations]
    return summary


def _calibrations(
    settings: Settings, summary: dict[str, Any], by: str
) -> list[OccupancyCalibrated]:
    # Idempotent: the correction holds as of the end of the recounted range,
    # from the live occupancy stored for that instant, so running --apply again
    # yields the very same command (same id, same content), which the zone
    # applies once. Crossings after the range end count on top of it.
    # The samples this run's own corrections caused (an earlier --apply) are not
    # the live occupancy it corrects.
    end = datetime.fromisoformat(summary["range"][1])
    live, new = summary["zones"]["live"], summary["zones"]["recount"]
    zones = sorted(set(live) | set(new))
    ids = {z: uuid.uuid5(uuid.NAMESPACE_URL, f"{summary['run_id']}|{z}") for z in zones}
    with psycopg.connect(settings.database_url) as conn:
        current: dict[str, int] = dict(
            conn.execute(
                "SELECT DISTINCT ON (zone_id) zone_id, occupancy FROM occupancy_samples"
                " WHERE at <= %s AND NOT cause_id = ANY(%s)"
                " ORDER BY zone_id, at DESC, version DESC",
                (end, list(ids.values())),
            ).fetchall()
        )
    out = []
    for zone in zones:
        diff = new.get(zone, {}).get("net", 0) - live.get(zone, {}).get("net", 0)
        if diff == 0:
            continue
        out.append(
            OccupancyCalibrated(
                id=ids[zone],
                zone_id=zone,
                occupancy=max(0, current.get(zone, 0) + diff),
                at=end,
                by=by,
                reason=f"recount {summary['run_id']} of "
                f"{summary['range'][0]}..{summary['range'][1]}: "
                f"net flow {diff:+d} against live counting",
            )
        )
    return out


def report(summary: dict[str, Any]) -> str:
    lines_live, lines_new = summary["lines"]["live"], summary["lines"]["recount"]
    line_rows = [
        (line, d, lines_live.get(line, {}).get(d, 0), lines_new.get(line, {}).get(d, 0))
        for line in sorted(set(lines_live) | set(lines_new))
        for d in ("in", "out")
    ]
    zones_live, zones_new = summary["zones"]["live"], summary["zones"]["recount"]
    zone_rows = [
        (zone, k, zones_live.get(zone, {}).get(k, 0), zones_new.get(zone, {}).get(k, 0))
        for zone in sorted(set(zones_live) | set(zones_new))
        for k in ("entries", "exits")
    ]
    head = (
        f"recount {summary['run_id']}: {summary['frames']:,} frames, "
        f"{summary['crossings']:,} crossings, {summary['invalid_frames']} invalid frames skipped"
    )
    parts = [head, _table("lines", line_rows), _table("zones", zone_rows)]
    for cal in summary.get("calibrations", []):
        parts.append(f"calibration published: {cal['zone_id']} -> {cal['occupancy']}")
    return "\n".join(parts)


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a time zone, e.g. 2026-03-02T06:00:00Z")
    return value.astimezone(UTC)


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    parser = argparse.ArgumentParser(description="Recount a period of raw detections.")
    parser.add_argument("--from", dest="start", type=_utc, required=True)
    parser.add_argument("--to", dest="end", type=_utc, required=True)
    parser.add_argument("--config", default=settings.plant_config, help="plant TOML to count with")
    parser.add_argument("--apply", action="store_true", help="publish calibrations for the diff")
    parser.add_argument("--by", default="recount", help="who applies the calibrations")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    if args.end <= args.start:
        parser.error("--to must be after --from")
    plant = load_plant_config(args.config)
    summary = asyncio.run(
        run(
            settings,
            plant,
            args.start,
            args.end,
            apply=args.apply,
            by=args.by,
            progress=sys.stderr.isatty(),
        )
    )
    print(json.dumps(summary, indent=2) if args.json else report(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
