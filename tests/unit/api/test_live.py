"""The live hub without services: coalescing mailboxes, seeding, a loop that survives."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError
from aiokafka.structs import TopicPartition

from api.live import LiveHub, OccupancySubscriber, ZoneState
from schemas.events import OccupancyChanged

OCC = "occupancy.v1"
ALERTS = "alerts.v1"
T0 = datetime(2026, 1, 6, 10, 0, tzinfo=UTC)


def change(zone: str, version: int, occupancy: int | None = None) -> OccupancyChanged:
    occ = version if occupancy is None else occupancy
    return OccupancyChanged(
        id=uuid.uuid4(),
        zone_id=zone,
        occupancy=occ,
        entries=occ,
        exits=0,
        version=version,
        at=T0 + timedelta(seconds=version),
        cause="crossing",
        cause_id=uuid.uuid4(),
    )


def snapshot(zone: str, version: int, occupancy: int) -> ZoneState:
    return ZoneState.snapshot(zone, occupancy, occupancy, 0, version, T0)


async def drain(sub: OccupancySubscriber, idle_s: float = 0.05) -> list[ZoneState]:
    """Everything the mailbox delivers now, without waiting for more."""
    got: list[ZoneState] = []
    it = sub.changes()
    while True:
        try:
            got.append(await asyncio.wait_for(anext(it), idle_s))
        except TimeoutError:
            return got


class FakeConsumer:
    """getmany() returns (or raises) the queued steps, then empty batches."""

    def __init__(self, *steps: Mapping[Any, Sequence[Any]] | BaseException) -> None:
        self.steps = deque(steps)
        self.calls = 0

    async def getmany(
        self, *partitions: Any, timeout_ms: int = 0, max_records: int | None = None
    ) -> Mapping[Any, Sequence[Any]]:
        self.calls += 1
        if not self.steps:
            await asyncio.sleep(0.005)
            return {}
        step = self.steps.popleft()
        if isinstance(step, BaseException):
            raise step
        return step


def batch(topic: str, *values: bytes | None) -> dict[TopicPartition, list[SimpleNamespace]]:
    return {TopicPartition(topic, 0): [SimpleNamespace(value=v) for v in values]}


def occ(*changes: OccupancyChanged) -> dict[TopicPartition, list[SimpleNamespace]]:
    return batch(OCC, *(c.model_dump_json().encode() for c in changes))


@pytest.fixture
async def hub() -> AsyncIterator[LiveHub]:
    h = LiveHub("unused:9092", OCC, ALERTS)
    h.RETRY_BACKOFF_S = (0.001, 0.004)
    yield h
    await h.stop()


async def until(condition: Any, within_s: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.002)


# -- the mailbox -------------------------------------------------------------


async def test_seeded_then_newer_live_change_wins() -> None:
    sub = OccupancySubscriber(None)
    sub.offer(snapshot("lobby", 4, 10))
    sub.offer(ZoneState.from_event(change("lobby", 5, 11)))
    got = await drain(sub)
    assert [(s.version, s.occupancy, s.cause) for s in got] == [(5, 11, "crossing")]


async def test_older_seed_never_replaces_a_newer_live_change() -> None:
    sub = OccupancySubscriber(None)
    sub.offer(ZoneState.from_event(change("lobby", 7, 20)))
    sub.offer(snapshot("lobby", 6, 18))  # the stored row lagged behind the live change
    got = await drain(sub)
    assert [(s.version, s.occupancy) for s in got] == [(7, 20)]


async def test_seed_is_delivered_first_and_versions_never_go_back() -> None:
    sub = OccupancySubscriber(frozenset({"lobby", "office"}))
    sub.offer(snapshot("lobby", 3, 9))
    sub.offer(snapshot("office", 2, 4))
    sub.offer(snapshot("workshop", 9, 9))  # not wanted
    first = await drain(sub)
    assert {(s.zone_id, s.version, s.cause, s.cause_id) for s in first} == {
        ("lobby", 3, "snapshot", None),
        ("office", 2, "snapshot", None),
    }
    # Once delivered, an equal or older version (a late seed, a duplicate) is not sent again.
    sub.offer(snapshot("lobby", 3, 9))
    sub.offer(ZoneState.from_event(change("lobby", 2)))
    sub.offer(ZoneState.from_event(change("office", 3)))
    assert [(s.zone_id, s.version) for s in await drain(sub)] == [("office", 3)]


# -- the hub: seeding from what it consumed ----------------------------------


async def test_subscribe_seeds_the_hubs_newest_change_per_zone(hub: LiveHub) -> None:
    consumer = FakeConsumer(occ(change("lobby", 1), change("lobby", 3), change("lobby", 2)))
    hub.attach(consumer)
    await until(lambda: hub.received == 3)
    assert [s.version for s in hub.latest()] == [3]
    async with hub.subscribe(frozenset({"lobby"})) as sub:
        consumer.steps.append(occ(change("lobby", 4), change("office", 1)))
        await until(lambda: hub.received == 5)
        got = await drain(sub)
    # The seed (v3) was overtaken by v4 before the client read; office is not wanted.
    assert [(s.zone_id, s.version) for s in got] == [("lobby", 4)]
    async with hub.subscribe(None) as sub:
        got = await drain(sub)
    assert sorted((s.zone_id, s.version) for s in got) == [("lobby", 4), ("office", 1)]


# -- the hub: health ---------------------------------------------------------


async def test_hub_whose_task_raised_reports_unhealthy(
    hub: LiveHub, caplog: pytest.LogCaptureFixture
) -> None:
    assert hub.problem == "not started"
    hub.attach(FakeConsumer(occ(change("lobby", 1)), RuntimeError("boom")))
    with caplog.at_level(logging.ERROR, logger="api.live"):
        await until(lambda: hub.problem is not None)
    assert hub.failure is not None and "RuntimeError: boom" in hub.failure
    assert hub.problem == hub.failure == hub.status
    assert hub.received == 1
    assert any(r.levelno == logging.ERROR and "boom" in r.getMessage() for r in caplog.records)


async def test_dispatch_bug_is_recorded_not_swallowed(hub: LiveHub) -> None:
    async with hub.subscribe(None) as sub:

        def broken(_: ZoneState) -> None:
            raise KeyError("subscriber bug")

        sub.offer = broken  # type: ignore[method-assign]
        hub.attach(FakeConsumer(occ(change("lobby", 1))))
        await until(lambda: hub.failure is not None)
    assert "KeyError" in (hub.problem or "")


async def test_non_retriable_kafka_error_is_a_failure(hub: LiveHub) -> None:
    hub.attach(FakeConsumer(TopicAuthorizationFailedError()))
    await until(lambda: hub.failure is not None)
    assert "TopicAuthorizationFailedError" in (hub.problem or "")


async def test_transient_kafka_errors_and_bad_records_are_survived(hub: LiveHub) -> None:
    consumer = FakeConsumer(
        KafkaConnectionError("broker went away"),
        KafkaConnectionError("still away"),
        batch(OCC, b"not json", None, b'{"type": "OccupancyChanged"}'),
        batch(ALERTS, b"[1, 2]", b"{}"),
        occ(change("lobby", 1)),
    )
    hub.attach(consumer)
    await until(lambda: hub.received == 1)
    assert hub.problem is None and hub.failure is None
    assert hub.status == "running"
    assert [s.version for s in hub.latest()] == [1]


async def test_retrying_shows_in_status_but_stays_healthy(hub: LiveHub) -> None:
    hub.RETRY_BACKOFF_S = (0.2, 0.2)
    hub.attach(FakeConsumer(KafkaConnectionError("broker went away")))
    await until(lambda: hub.retrying is not None)
    assert hub.problem is None
    assert hub.status.startswith("running, retrying: KafkaConnectionError")
    await until(lambda: hub.retrying is None)


async def test_stopped_hub_is_not_healthy(hub: LiveHub) -> None:
    hub.attach(FakeConsumer())
    await asyncio.sleep(0.01)
    assert hub.problem is None
    await hub.stop()
    assert hub.problem == "stopped" and hub.failure is None


async def test_a_task_cancelled_by_someone_else_is_not_healthy(hub: LiveHub) -> None:
    hub.attach(FakeConsumer())
    await asyncio.sleep(0.01)
    assert hub._task is not None
    hub._task.cancel()
    await until(lambda: hub.problem is not None)
    assert hub.problem == "consumer task cancelled"


# -- camera heartbeats ---------------------------------------------------------

HEALTH = "camera-health.v1"


def heartbeat(camera: str, at: datetime, status: str = "online", fps: float = 10.0) -> bytes:
    from producers.publish import PlayedCamera

    beat = PlayedCamera(camera, "simulation", T0).beat("online")
    return (
        beat.model_copy(update={"at": at, "status": status, "processed_fps": fps})
        .model_dump_json()
        .encode()
    )


async def test_the_hub_keeps_each_cameras_newest_heartbeat_whatever_the_order() -> None:
    h = LiveHub("unused:9092", OCC, ALERTS, HEALTH)
    h.attach(
        FakeConsumer(
            batch(
                HEALTH,
                heartbeat("cam-north", T0 + timedelta(seconds=10), fps=9.5),
                heartbeat("cam-south", T0, "reconnecting"),
                heartbeat("cam-north", T0 + timedelta(seconds=5), fps=1.0),  # older: ignored
                b'{"type": "CameraHealth", "camera_id": "cam-x"}',  # unreadable: skipped
            )
        )
    )
    try:
        await until(lambda: h.received == 3)
        assert {c: (b.status, b.processed_fps) for c, b in h.cameras.items()} == {
            "cam-north": ("online", 9.5),
            "cam-south": ("reconnecting", 10.0),
        }
    finally:
        await h.stop()
