"""Live fan-out: one Kafka consumer per API process, many GraphQL subscribers.

The consumer has no group and commits nothing: every API instance sees every
event, starting at the newest. Occupancy subscribers get a coalescing mailbox
(newest value per zone wins), so a slow dashboard never slows the others or
grows memory; it just skips intermediate values. Alert subscribers get every
alert, in a bounded queue that drops the oldest (and says so) if a client
stops reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator

import orjson
from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from schemas.events import OccupancyChanged
from schemas.operations import AlertRaised, AlertResolved

__all__ = ["AlertSubscriber", "LiveHub", "OccupancySubscriber"]

logger = logging.getLogger(__name__)

Alert = AlertRaised | AlertResolved


class OccupancySubscriber:
    """A mailbox holding the newest unseen change per zone."""

    def __init__(self, zone_ids: frozenset[str] | None) -> None:
        self.zone_ids = zone_ids
        self._latest: dict[str, OccupancyChanged] = {}
        self._ready = asyncio.Event()

    def offer(self, change: OccupancyChanged) -> None:
        if self.zone_ids is not None and change.zone_id not in self.zone_ids:
            return
        current = self._latest.get(change.zone_id)
        if current is None or current.version < change.version:
            self._latest[change.zone_id] = change
            self._ready.set()

    async def changes(self) -> AsyncIterator[OccupancyChanged]:
        while True:
            await self._ready.wait()
            self._ready.clear()
            batch, self._latest = self._latest, {}
            for change in sorted(batch.values(), key=lambda c: c.at):
                yield change


class AlertSubscriber:
    """A bounded queue of alerts; the oldest are dropped if the client lags."""

    MAX_PENDING = 1000

    def __init__(self) -> None:
        self._queue: deque[Alert] = deque(maxlen=self.MAX_PENDING)
        self._ready = asyncio.Event()
        self.dropped = 0

    def offer(self, alert: Alert) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(alert)
        self._ready.set()

    async def alerts(self) -> AsyncIterator[Alert]:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._queue:
                yield self._queue.popleft()


class LiveHub:
    """Consumes ``occupancy.v1`` and ``alerts.v1`` from the end and fans out.

    Args:
        bootstrap: Kafka bootstrap servers.
        occupancy_topic: The occupancy topic name.
        alerts_topic: The alerts topic name.
    """

    def __init__(self, bootstrap: str, occupancy_topic: str, alerts_topic: str) -> None:
        self.bootstrap = bootstrap
        self.occupancy_topic = occupancy_topic
        self.alerts_topic = alerts_topic
        self.occupancy_subscribers: set[OccupancySubscriber] = set()
        self.alert_subscribers: set[AlertSubscriber] = set()
        self.received = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def start(self) -> None:
        """Start consuming; returns once the consumer is positioned at the end."""
        # Without a group the consumer assigns itself every partition of the
        # topics once metadata arrives; nothing is ever committed.
        consumer = AIOKafkaConsumer(
            self.occupancy_topic,
            self.alerts_topic,
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        await consumer.start()
        self._consumer = consumer
        for _ in range(100):  # the topics may be created a moment after the API starts
            if {tp.topic for tp in consumer.assignment()} == {
                self.occupancy_topic,
                self.alerts_topic,
            }:
                break
            await asyncio.sleep(0.1)
        tps = sorted(consumer.assignment())
        if not tps:
            await consumer.stop()
            raise RuntimeError(
                f"topics {self.occupancy_topic!r}, {self.alerts_topic!r} do not exist; "
                "run python -m streams.admin"
            )
        await consumer.seek_to_end(*tps)
        for tp in tps:  # resolve positions now, so nothing published from here on is missed
            await consumer.position(tp)
        self._task = asyncio.create_task(self._run(), name="live-hub")
        self.ready.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    def _dispatch(self, topic: str, value: bytes) -> None:
        if topic == self.occupancy_topic:
            change = OccupancyChanged.model_validate_json(value)
            for sub in tuple(self.occupancy_subscribers):
                sub.offer(change)
            return
        kind = orjson.loads(value).get("type")
        alert: Alert = (
            AlertRaised.model_validate_json(value)
            if kind == "AlertRaised"
            else AlertResolved.model_validate_json(value)
        )
        for alert_sub in tuple(self.alert_subscribers):
            alert_sub.offer(alert)

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=500, max_records=5000)
            for tp, records in batches.items():
                for record in records:
                    try:
                        self._dispatch(tp.topic, record.value)
                    except (ValidationError, orjson.JSONDecodeError, AttributeError) as e:
                        logger.warning("skipping unreadable event on %s: %s", tp.topic, e)
                        continue
                    self.received += 1

    @contextlib.asynccontextmanager
    async def subscribe(
        self, zone_ids: frozenset[str] | None
    ) -> AsyncIterator[OccupancySubscriber]:
        sub = OccupancySubscriber(zone_ids)
        self.occupancy_subscribers.add(sub)
        try:
            yield sub
        finally:
            self.occupancy_subscribers.discard(sub)

    @contextlib.asynccontextmanager
    async def subscribe_alerts(self) -> AsyncIterator[AlertSubscriber]:
        sub = AlertSubscriber()
        self.alert_subscribers.add(sub)
        try:
            yield sub
        finally:
            self.alert_subscribers.discard(sub)
