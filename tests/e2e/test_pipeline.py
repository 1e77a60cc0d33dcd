"""The whole pipeline on the real broker and database, read back as a dashboard would.

Simulator -> detections.v1 -> Faust worker (crossings, zone occupancy, sink)
-> PostgreSQL and occupancy.v1 -> GraphQL API (query + subscription).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
import websockets
from aiokafka import AIOKafkaConsumer

from producers.simulation.scene import Scene
from schemas.config import load_plant_config
from tests.harness import (
    ROOT,
    Namespace,
    Process,
    create_topics,
    publish_frames,
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


async def subscribe(url: str, received: list[dict], acked: asyncio.Event) -> None:
    """A dashboard's subscription, speaking graphql-transport-ws by hand."""
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
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


async def dead_letters(ns: Namespace) -> list[dict]:
    consumer = AIOKafkaConsumer(
        ns.topic("deadletter"),
        bootstrap_servers=ns.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=3000)
        return [json.loads(r.value) for records in batches.values() for r in records]
    finally:
        await consumer.stop()


async def test_scene_counts_exactly_through_kafka_postgres_and_graphql(
    namespace: Namespace, processes: list[Process], tmp_path
):
    plant = load_plant_config(ROOT / "config" / "demo-plant.toml")
    # A fixed daytime start: the demo plant resets its zones at 03:00 local time.
    scene = Scene(plant, people=220, seed=11, start=datetime(2026, 1, 6, 10, 0, tzinfo=UTC))
    truth = scene.truth
    assert len(plant.cameras) == 2 and len(plant.zones) >= 3 and truth.crossings > 400

    await asyncio.to_thread(create_topics, namespace)
    worker = start_worker(namespace, tmp_path)
    processes.append(worker)
    api, port = start_api(namespace, tmp_path)
    processes.append(api)
    api.wait_for_log("Application startup complete", timeout=60)
    worker.wait_for_log("Worker ready", timeout=120)

    received: list[dict] = []
    acked = asyncio.Event()
    sub = asyncio.create_task(subscribe(f"ws://127.0.0.1:{port}/graphql", received, acked))
    await asyncio.wait_for(acked.wait(), 10)

    frames = list(scene.frames())
    await publish_frames(namespace, frames, inject={len(frames) // 2: (b"cam-north", MALFORMED)})

    expected = {
        zone: {"occupancy": v["occupancy"], "entries": v["entries"], "exits": v["exits"]}
        for zone, v in truth.zones.items()
    }
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
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
    assert per_line == {
        (line, d): n for line, counts in truth.lines.items() for d, n in counts.items() if n
    }

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
    letters = await dead_letters(namespace)
    assert len(letters) == 1
    (letter,) = letters
    assert letter["source_topic"] == namespace.topic("detections")
    assert letter["payload"].encode() == MALFORMED
    assert "invalid FrameDetections" in letter["reason"]
    assert letter["source_offset"] >= 0
