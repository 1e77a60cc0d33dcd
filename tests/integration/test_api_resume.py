"""A dashboard's occupancy subscription resumes from the current values.

The real API (uvicorn) on the real broker and database of a private
namespace, without a worker: the stored state is written straight into
``zone_occupancy`` and changes are published straight to ``occupancy.v1``,
as the worker would. A new subscription first receives each zone's current
state (the stored row, cause ``snapshot``, or the newest change the API has
consumed), then live changes, never going back in version; and after an API
restart a reconnecting client ends on exactly the current values.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
import websockets
from aiokafka import AIOKafkaProducer

from schemas.events import OccupancyChanged
from tests.harness import Namespace, Process, create_topics
from tests.harness import api as start_api

pytestmark = pytest.mark.integration

QUERY = (
    "subscription($zones: [ID!]) { occupancy(zoneIds: $zones) "
    "{ zoneId occupancy entries exits version at cause causeId } }"
)
T0 = datetime(2026, 1, 6, 10, 0, tzinfo=UTC)


@contextlib.asynccontextmanager
async def subscribe(
    url: str, zones: list[str] | None, init: dict
) -> AsyncIterator[asyncio.Queue[dict]]:
    """A dashboard's subscription, speaking graphql-transport-ws by hand."""
    queue: asyncio.Queue[dict] = asyncio.Queue()

    async def run() -> None:
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps(init))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            payload = {"query": QUERY, "variables": {"zones": zones}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            async for raw in ws:
                msg = json.loads(raw)
                if msg["type"] == "next":
                    assert "errors" not in msg["payload"], msg
                    await queue.put(msg["payload"]["data"]["occupancy"])
                elif msg["type"] == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif msg["type"] == "error":
                    raise AssertionError(f"subscription error: {msg}")

    task = asyncio.create_task(run())
    try:
        yield queue
    finally:
        task.cancel()
        # An API stopped under the subscription closes it; that is not a failure here.
        with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
            await task


async def take(queue: asyncio.Queue[dict], n: int, within_s: float = 15) -> list[dict]:
    return [await asyncio.wait_for(queue.get(), within_s) for _ in range(n)]


async def nothing_more(queue: asyncio.Queue[dict], wait: float = 1.5) -> None:
    await asyncio.sleep(wait)
    assert queue.empty(), f"unexpected update: {queue.get_nowait()}"


def store(
    ns: Namespace, zone: str, occupancy: int, entries: int, version: int, at: datetime
) -> None:
    """Write a zone's newest state as the sink would (the row, not the history)."""
    with psycopg.connect(ns.dsn) as conn:
        conn.execute(
            "INSERT INTO zone_occupancy (zone_id, occupancy, entries, exits, version, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (zone_id) DO UPDATE SET"
            " occupancy = EXCLUDED.occupancy, entries = EXCLUDED.entries,"
            " exits = EXCLUDED.exits, version = EXCLUDED.version,"
            " updated_at = EXCLUDED.updated_at",
            (zone, occupancy, entries, entries - occupancy, version, at),
        )


def changed(zone: str, occupancy: int, entries: int, version: int) -> OccupancyChanged:
    return OccupancyChanged(
        id=uuid.uuid4(),
        zone_id=zone,
        occupancy=occupancy,
        entries=entries,
        exits=entries - occupancy,
        version=version,
        at=T0 + timedelta(minutes=version),
        cause="crossing",
        cause_id=uuid.uuid4(),
    )


async def publish(ns: Namespace, *events: OccupancyChanged) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=ns.bootstrap, acks="all")
    await producer.start()
    try:
        for e in events:
            await producer.send_and_wait(
                ns.topic("occupancy"), key=e.zone_id.encode(), value=e.model_dump_json().encode()
            )
    finally:
        await producer.stop()


def started_api(ns: Namespace, tmp_path, processes: list[Process], name: str) -> int:
    log_dir = tmp_path / name
    log_dir.mkdir()
    api, port = start_api(ns, log_dir)
    processes.append(api)
    api.wait_for_log("Application startup complete", timeout=60)
    return port


async def test_subscription_starts_from_the_current_state_and_resumes_after_restart(
    namespace: Namespace, processes: list[Process], tmp_path
):
    await asyncio.to_thread(create_topics, namespace)
    # lobby and office have a stored state; workshop never changed (no row).
    store(namespace, "lobby", 12, 30, 5, T0 + timedelta(minutes=5))
    store(namespace, "office", 3, 4, 2, T0 + timedelta(minutes=2))
    port = started_api(namespace, tmp_path, processes, "api-1")
    url = f"ws://127.0.0.1:{port}/graphql"

    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=10, headers=namespace.headers("viewer")
    ) as client:
        health = (await client.get("/healthz")).json()
    assert health == {"ok": True, "live_events": 0, "live": "running"}

    async with subscribe(
        url, ["lobby", "office", "workshop"], namespace.connection_init("viewer")
    ) as updates:
        first = {u["zoneId"]: u for u in await take(updates, 2)}
        assert first == {
            "lobby": {
                "zoneId": "lobby",
                "occupancy": 12,
                "entries": 30,
                "exits": 18,
                "version": 5,
                "at": "2026-01-06T10:05:00+00:00",
                "cause": "snapshot",
                "causeId": None,
            },
            "office": {
                "zoneId": "office",
                "occupancy": 3,
                "entries": 4,
                "exits": 1,
                "version": 2,
                "at": "2026-01-06T10:02:00+00:00",
                "cause": "snapshot",
                "causeId": None,
            },
        }
        # An older change (a duplicate, a late redelivery) never takes a zone back;
        # the newer one arrives.
        newer = changed("lobby", 13, 31, 6)
        await publish(namespace, changed("lobby", 11, 29, 4), newer)
        (live,) = await take(updates, 1)
        assert live == {
            "zoneId": "lobby",
            "occupancy": 13,
            "entries": 31,
            "exits": 18,
            "version": 6,
            "at": "2026-01-06T10:06:00+00:00",
            "cause": "crossing",
            "causeId": str(newer.cause_id),
        }
        await nothing_more(updates)

    # A client reconnecting to the same API gets the newest change the API consumed.
    async with subscribe(url, None, namespace.connection_init("viewer")) as updates:
        got = {u["zoneId"]: (u["version"], u["cause"]) for u in await take(updates, 2)}
        assert got == {"lobby": (6, "crossing"), "office": (2, "snapshot")}
        await nothing_more(updates, 0.5)

    # The API restarts with a subscription open: the client reconnects to the new
    # process (which has consumed nothing yet) and ends on the stored values.
    store(namespace, "lobby", 13, 31, 6, newer.at)
    async with subscribe(url, ["lobby"], namespace.connection_init("viewer")) as updates:
        assert (await take(updates, 1))[0]["version"] == 6
        processes.pop().stop()
        port = started_api(namespace, tmp_path, processes, "api-2")
    async with subscribe(
        f"ws://127.0.0.1:{port}/graphql", ["lobby"], namespace.connection_init("viewer")
    ) as updates:
        (resumed,) = await take(updates, 1)
        assert {k: resumed[k] for k in ("occupancy", "entries", "exits", "version", "cause")} == {
            "occupancy": 13,
            "entries": 31,
            "exits": 18,
            "version": 6,
            "cause": "snapshot",
        }
        await publish(namespace, changed("lobby", 14, 32, 7))
        (live,) = await take(updates, 1)
        assert (live["version"], live["occupancy"], live["cause"]) == (7, 14, "crossing")
