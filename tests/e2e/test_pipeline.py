"""The whole pipeline on the real broker and database, read back as a dashboard would.

Simulator -> detections.v1 -> Faust worker (crossings, zone occupancy, sink)
-> PostgreSQL and occupancy.v1 -> GraphQL API (query + subscription); the
worker's and the API's Prometheus metrics, the Grafana dashboard's SQL, and
the JSON log lines, on the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from producers.simulation.scene import Scene
from schemas.config import load_plant_config
from streams.readiness import READY_MESSAGE
from tests.harness import (
    ROOT,
    Namespace,
    Process,
    create_topics,
    free_port,
    publish_frames,
    read_topic,
)
from tests.harness import api as start_api
from tests.harness import worker as start_worker

pytestmark = pytest.mark.e2e

ZONES_QUERY = "{ zones { id occupancy entries exits } }"
MALFORMED = b'{"type": "FrameDetections", "camera_id": "cam-north", "frame_seq": "oops"'


async def graphql(client: httpx.AsyncClient, query: str) -> dict:
    response = await client.post("/graphql", json={"query": query})
    response.raise_for_status()
    return response.json()


async def subscribe(url: str, received: list[dict], acked: asyncio.Event, init: dict) -> None:
    """A dashboard's subscription, speaking graphql-transport-ws by hand."""
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        query = "subscription { occupancy { zoneId occupancy entries exits version } }"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        acked.set()
        async for raw in ws:
            msg = json.loads(raw)
            if msg["type"] == "next":
                received.append(msg["payload"]["data"]["occupancy"])
            elif msg["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
            elif msg["type"] == "error":
                raise AssertionError(f"subscription error: {msg}")


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient, url: str) -> Samples:
    """Every sample of a Prometheus text exposition: (name, labels) -> value."""
    response = await client.get(url)
    response.raise_for_status()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def crossings_per_line(samples: Samples) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for (name, labels), v in samples.items():
        if name == "occupancy_crossings_total":
            key = (dict(labels)["line"], dict(labels)["direction"])
            out[key] = out.get(key, 0.0) + v
    return out


def zone_gauges(samples: Samples) -> dict[str, float]:
    return {
        dict(labels)["zone"]: v
        for (name, labels), v in samples.items()
        if name == "occupancy_zone_occupancy"
    }


def json_messages(log: str) -> list[dict]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


async def test_scene_counts_exactly_through_kafka_postgres_and_graphql(
    namespace: Namespace, processes: list[Process], tmp_path
):
    plant = load_plant_config(ROOT / "config" / "demo-plant.toml")
    # A fixed daytime start: the demo plant resets its zones at 03:00 local time.
    scene = Scene(plant, people=220, seed=11, start=datetime(2026, 1, 6, 10, 0, tzinfo=UTC))
    truth = scene.truth
    assert len(plant.cameras) == 2 and len(plant.zones) >= 3 and truth.crossings > 400

    await asyncio.to_thread(create_topics, namespace)
    metrics_port = free_port()
    worker = start_worker(namespace, tmp_path, metrics_port=metrics_port)
    processes.append(worker)
    api, port = start_api(namespace, tmp_path)
    processes.append(api)
    api.wait_for_log("Application startup complete", timeout=60)
    worker.wait_for_log("Worker ready", timeout=120)

    received: list[dict] = []
    acked = asyncio.Event()
    url = f"ws://127.0.0.1:{port}/graphql"
    sub = asyncio.create_task(subscribe(url, received, acked, namespace.connection_init("viewer")))
    await asyncio.wait_for(acked.wait(), 10)

    frames = list(scene.frames())
    await publish_frames(namespace, frames, inject={len(frames) // 2: (b"cam-north", MALFORMED)})

    expected = {
        zone: {"occupancy": v["occupancy"], "entries": v["entries"], "exits": v["exits"]}
        for zone, v in truth.zones.items()
    }
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=10, headers=namespace.headers("viewer")
    ) as client:
        deadline = time.monotonic() + 180
        got: dict = {}
        while time.monotonic() < deadline:
            body = await graphql(client, ZONES_QUERY)
            got = {
                z["id"]: {k: z[k] for k in ("occupancy", "entries", "exits")}
                for z in body["data"]["zones"]
            }
            if got == expected:
                break
            await asyncio.sleep(0.5)
        assert got == expected, f"GraphQL zones never matched the ground truth\n{worker.tail()}"

        bad = await graphql(client, '{ zone(id: "no-such-zone") { id } }')
        assert bad["data"] is None and "unknown zone" in bad["errors"][0]["message"]

        # The API's /metrics, while the subscription is open.
        open_sub = ("occupancy_api_subscriptions_open", frozenset({("kind", "occupancy")}))
        deadline = time.monotonic() + 10
        api_metrics = await scrape(client, "/metrics")
        while api_metrics.get(open_sub) != 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            api_metrics = await scrape(client, "/metrics")
        assert api_metrics.get(open_sub) == 1, api_metrics
        assert api_metrics[("occupancy_api_live_events_total", frozenset())] > 0
        query_errors = ("occupancy_api_graphql_errors_total", frozenset({("type", "query")}))
        assert api_metrics.get(query_errors, 0) >= 1  # the unknown zone above

    # The database holds every crossing exactly once, with the right directions.
    with psycopg.connect(namespace.dsn) as conn:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT id) FROM crossings"
        ).fetchone()
        per_line = {
            (line, d): n
            for line, d, n in conn.execute(
                "SELECT line_id, direction, count(*) FROM crossings GROUP BY 1, 2"
            )
        }
    assert total == distinct == truth.crossings
    truth_per_line = {
        (line, d): n for line, counts in truth.lines.items() for d, n in counts.items() if n
    }
    assert per_line == truth_per_line

    # The worker's /metrics: crossings per line and direction, zones, the dead letter.
    worker_url = f"http://127.0.0.1:{metrics_port}/metrics"
    async with httpx.AsyncClient(timeout=10) as client:
        deadline = time.monotonic() + 30
        samples = await scrape(client, worker_url)
        while crossings_per_line(samples) != truth_per_line and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            samples = await scrape(client, worker_url)
    assert crossings_per_line(samples) == truth_per_line
    assert zone_gauges(samples) == {z: v["occupancy"] for z, v in expected.items()}
    assert samples[("occupancy_deadletters_total", frozenset({("reason", "invalid_frame")}))] == 1
    lags = [v for (name, _), v in samples.items() if name == "occupancy_consumer_lag_records"]
    assert lags and all(v >= 0 for v in lags)
    assert samples[("occupancy_sink_rows_total", frozenset({("table", "crossings")}))] >= total
    assert samples[("occupancy_sink_batch_seconds_count", frozenset())] >= 1

    # The Grafana dashboard's SQL panels run on this database and see the scene.
    board = json.loads((ROOT / "deploy" / "grafana" / "occupancy.json").read_text())
    sqls = [t["rawSql"] for p in board["panels"] for t in p.get("targets", []) if "rawSql" in t]
    assert sqls
    with psycopg.connect(namespace.dsn) as conn:
        for sql in sqls:
            window = r"\1 >= '2026-01-01' AND \1 < '2026-02-01'"
            rows = conn.execute(re.sub(r"\$__timeFilter\((\w+)\)", window, sql)).fetchall()
            if "history" in sql:
                assert rows, sql

    # JSON log lines (the logs are files, not terminals), the message texts unchanged.
    assert any(
        m["message"].startswith(f"{READY_MESSAGE}: owns ") and m["logger"] == "streams.readiness"
        for m in json_messages(worker.log.read_text(errors="replace"))
    ), worker.tail()
    assert any(
        m["message"] == "Application startup complete."
        for m in json_messages(api.log.read_text(errors="replace"))
    ), api.tail()

    # The subscription, opened before the scene, saw the updates up to the final values.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        last = {u["zoneId"]: u for u in received}
        if {
            z: {k: last[z][k] for k in ("occupancy", "entries", "exits")} for z in last
        } == expected:
            break
        await asyncio.sleep(0.2)
    sub.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sub
    last = {u["zoneId"]: u for u in received}
    assert set(last) == set(expected)
    assert {z: {k: last[z][k] for k in ("occupancy", "entries", "exits")} for z in last} == expected

    # The malformed message went to the dead-letter topic, with reason and origin.
    letters = await read_topic(namespace, "deadletter")
    assert len(letters) == 1
    (letter,) = letters
    assert letter["source_topic"] == namespace.topic("detections")
    assert letter["payload"].encode() == MALFORMED
    assert "invalid FrameDetections" in letter["reason"]
    assert letter["source_offset"] >= 0
