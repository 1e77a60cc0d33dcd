"""Live fan-out: one Kafka consumer per API process, many GraphQL subscribers.

The consumer has no group and commits nothing: every API instance sees every
event, starting at the newest. Each subscriber gets a bounded, coalescing
mailbox (newest value per zone wins), so a slow dashboard never slows the
others or grows memory; it just skips intermediate values.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from schemas.events import OccupancyChanged

__all__ = ["LiveHub", "Subscriber"]

logger = logging.getLogger(__name__)


class Subscriber:
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


class LiveHub:
    """Consumes ``occupancy.v1`` from the end and fans out to subscribers.

    Args:
        bootstrap: Kafka bootstrap servers.
        topic: The occupancy topic name.
    """

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.subscribers: set[Subscriber] = set()
        self.received = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def start(self) -> None:
        """Start consuming; returns once the consumer is positioned at the end."""
        # Without a group the consumer assigns itself every partition of the
        # topic once metadata arrives; nothing is ever committed.
        consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        await consumer.start()
        self._consumer = consumer
        for _ in range(100):  # the topic may be created a moment after the API starts
            if consumer.assignment():
                break
            await asyncio.sleep(0.1)
        tps = sorted(consumer.assignment())
        if not tps:
            await consumer.stop()
            raise RuntimeError(f"topic {self.topic!r} does not exist; run python -m streams.admin")
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

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batches.values():
                for record in records:
                    try:
                        change = OccupancyChanged.model_validate_json(record.value)
                    except ValidationError as e:
                        logger.warning("skipping unreadable occupancy event: %s", e)
                        continue
                    self.received += 1
                    for sub in tuple(self.subscribers):
                        sub.offer(change)

    @contextlib.asynccontextmanager
    async def subscribe(self, zone_ids: frozenset[str] | None) -> AsyncIterator[Subscriber]:
        sub = Subscriber(zone_ids)
        self.subscribers.add(sub)
        try:
            yield sub
        finally:
            self.subscribers.discard(sub)
