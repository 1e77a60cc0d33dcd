"""Live fan-out: one Kafka consumer per API process, many GraphQL subscribers.

The consumer has no group and commits nothing: every API instance sees every
event, starting at the newest. Occupancy subscribers get a coalescing mailbox
(newest value per zone wins, and a zone never goes back to a version it has
already delivered), so a slow dashboard never slows the others or grows memory;
it just skips intermediate values. A new mailbox can be seeded with the
current state of its zones (:meth:`LiveHub.latest` and, for zones the hub has
not seen, whatever the caller loads from storage), so a client that
reconnects starts from the current values rather than waiting for the next
change. Alert subscribers get every alert, in a bounded queue that drops the
oldest (and says so) if a client stops reading. Camera heartbeats
(``camera-health.v1``) and snapshots (``camera-snapshots.v1``) are read from a
few minutes back at start, so a new API instance knows every running camera's
status at once; :attr:`LiveHub.cameras` holds the newest heartbeat per camera,
:attr:`LiveHub.snapshots` the newest snapshot.

The consumer task survives transient Kafka errors (it logs them and backs off)
and skips unreadable records; if it ends for any other reason,
:attr:`LiveHub.failure` says why and :attr:`LiveHub.problem` is set, which
``/healthz`` reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from schemas.events import OccupancyChanged
from schemas.health import CameraHealth
from schemas.operations import AlertEvent, AlertRaised, AlertResolved
from schemas.snapshots import CameraSnapshot

__all__ = ["AlertSubscriber", "LiveHub", "OccupancySubscriber", "ZoneState"]

logger = logging.getLogger(__name__)

#: ``ZoneState.cause`` of a state read from storage rather than from a change.
SNAPSHOT = "snapshot"


@dataclass(frozen=True, slots=True)
class ZoneState:
    """A zone's occupancy as of one version: a live change or a stored snapshot.

    ``cause`` is the change's cause (``crossing``, ``calibration``, ``reset``)
    or ``snapshot`` for a state read from storage, which has no ``cause_id``.
    """

    zone_id: str
    occupancy: int
    entries: int
    exits: int
    version: int
    at: datetime
    cause: str
    cause_id: str | None
    clamped: bool = False

    @classmethod
    def from_event(cls, e: OccupancyChanged) -> ZoneState:
        return cls(
            zone_id=e.zone_id,
            occupancy=e.occupancy,
            entries=e.entries,
            exits=e.exits,
            version=e.version,
            at=e.at,
            cause=e.cause,
            cause_id=str(e.cause_id),
            clamped=e.clamped,
        )

    @classmethod
    def snapshot(
        cls, zone_id: str, occupancy: int, entries: int, exits: int, version: int, at: datetime
    ) -> ZoneState:
        """A state read from storage (``zone_occupancy``): no cause, never clamped."""
        return cls(zone_id, occupancy, entries, exits, version, at, SNAPSHOT, None, False)


def _describe(e: BaseException) -> str:
    """``Type: message``, once (aiokafka's errors already start with their type)."""
    name, text = type(e).__name__, str(e)
    if not text:
        return name
    return text if text.startswith(name) else f"{name}: {text}"


class OccupancySubscriber:
    """A mailbox holding the newest unseen state per zone.

    A state is kept only if it is newer (by ``version``) than both the pending
    one and the last one delivered for its zone, so seeding and live changes
    can be offered in any order and the subscriber never goes backwards.
    """

    def __init__(self, zone_ids: frozenset[str] | None) -> None:
        self.zone_ids = zone_ids
        self._latest: dict[str, ZoneState] = {}
        self._delivered: dict[str, int] = {}
        self._ready = asyncio.Event()

    def wants(self, zone_id: str) -> bool:
        return self.zone_ids is None or zone_id in self.zone_ids

    def offer(self, state: ZoneState) -> None:
        if not self.wants(state.zone_id):
            return
        if state.version <= self._delivered.get(state.zone_id, 0):
            return
        current = self._latest.get(state.zone_id)
        if current is None or current.version < state.version:
            self._latest[state.zone_id] = state
            self._ready.set()

    async def changes(self) -> AsyncIterator[ZoneState]:
        while True:
            await self._ready.wait()
            self._ready.clear()
            batch, self._latest = self._latest, {}
            for state in sorted(batch.values(), key=lambda s: s.at):
                self._delivered[state.zone_id] = state.version
                yield state


class AlertSubscriber:
    """A bounded queue of alerts; the oldest are dropped if the client lags."""

    MAX_PENDING = 1000

    def __init__(self) -> None:
        self._queue: deque[AlertEvent] = deque(maxlen=self.MAX_PENDING)
        self._ready = asyncio.Event()
        self.dropped = 0

    def offer(self, alert: AlertEvent) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(alert)
        self._ready.set()

    async def alerts(self) -> AsyncIterator[AlertEvent]:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._queue:
                yield self._queue.popleft()


class LiveConsumer(Protocol):
    """What the hub's loop needs of a consumer (an ``AIOKafkaConsumer``)."""

    async def getmany(
        self, *partitions: Any, timeout_ms: int = ..., max_records: int | None = ...
    ) -> Mapping[Any, Sequence[Any]]: ...


class LiveHub:
    """Consumes ``occupancy.v1`` and ``alerts.v1`` from the end and fans out.

    Args:
        bootstrap: Kafka bootstrap servers.
        occupancy_topic: The occupancy topic name.
        alerts_topic: The alerts topic name.
        health_topic: The camera heartbeat topic, read from
            :attr:`HEALTH_LOOKBACK_S` back; None: no camera status.
        snapshots_topic: The camera snapshot topic, read the same way; None:
            no snapshots.
    """

    #: How far back heartbeats are read at start: a few heartbeat intervals, so
    #: every running camera has sent one, and a camera whose newest heartbeat is
    #: older than this is offline anyway.
    HEALTH_LOOKBACK_S = 300.0

    #: Back-off after a transient Kafka error: doubles from the first value up
    #: to the second, and starts over after a successful fetch.
    RETRY_BACKOFF_S = (0.5, 10.0)

    def __init__(
        self,
        bootstrap: str,
        occupancy_topic: str,
        alerts_topic: str,
        health_topic: str | None = None,
        snapshots_topic: str | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.occupancy_topic = occupancy_topic
        self.alerts_topic = alerts_topic
        self.health_topic = health_topic
        self.snapshots_topic = snapshots_topic
        #: The newest heartbeat per camera id (by its ``at``).
        self.cameras: dict[str, CameraHealth] = {}
        #: The newest snapshot per camera id (by its ``at``).
        self.snapshots: dict[str, CameraSnapshot] = {}
        self.occupancy_subscribers: set[OccupancySubscriber] = set()
        self.alert_subscribers: set[AlertSubscriber] = set()
        self.received = 0
        #: Why the consumer task ended, if it ended other than by :meth:`stop`.
        self.failure: str | None = None
        #: The transient Kafka error being retried right now, if any.
        self.retrying: str | None = None
        self._latest: dict[str, ZoneState] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.ready = asyncio.Event()

    async def start(self) -> None:
        """Start consuming; returns once the consumer is positioned at the end."""
        # Without a group the consumer assigns itself every partition of the
        # topics once metadata arrives; nothing is ever committed.
        recent = [t for t in (self.health_topic, self.snapshots_topic) if t is not None]
        topics = [self.occupancy_topic, self.alerts_topic, *recent]
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        await consumer.start()
        self._consumer = consumer
        for _ in range(100):  # the topics may be created a moment after the API starts
            if {tp.topic for tp in consumer.assignment()} == set(topics):
                break
            await asyncio.sleep(0.1)
        tps = sorted(consumer.assignment())
        if not tps:
            await consumer.stop()
            raise RuntimeError(
                f"topics {', '.join(map(repr, topics))} do not exist; run python -m streams.admin"
            )
        await consumer.seek_to_end(*tps)
        health = [tp for tp in tps if tp.topic in recent]
        if health:
            since_ms = int((datetime.now(UTC).timestamp() - self.HEALTH_LOOKBACK_S) * 1000)
            found = await consumer.offsets_for_times(dict.fromkeys(health, since_ms))
            for tp, at in found.items():
                if at is not None:  # None: nothing that recent; stay at the end
                    consumer.seek(tp, at.offset)
        for tp in tps:  # resolve positions now, so nothing published from here on is missed
            await consumer.position(tp)
        self.attach(consumer)

    def attach(self, consumer: LiveConsumer) -> None:
        """Start fanning out from a positioned consumer (:meth:`start` does; tests too)."""
        self._task = asyncio.create_task(self._run(consumer), name="live-hub")
        self.ready.set()

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    @property
    def problem(self) -> str | None:
        """Why live updates are not flowing, or None while the consumer task runs."""
        if self.failure is not None:
            return self.failure
        if self._task is None or not self.ready.is_set():
            return "not started"
        if self._task.done():
            if self._stopping:
                return "stopped"
            return "consumer task cancelled" if self._task.cancelled() else "consumer task ended"
        return None

    @property
    def status(self) -> str:
        """:attr:`problem`, else ``running`` (with the transient error being retried)."""
        problem = self.problem
        if problem is not None:
            return problem
        return "running" if self.retrying is None else f"running, retrying: {self.retrying}"

    def latest(self, zone_ids: frozenset[str] | None = None) -> list[ZoneState]:
        """The newest state consumed per zone (zones not seen since start are absent)."""
        return [s for z, s in self._latest.items() if zone_ids is None or z in zone_ids]

    def _dispatch(self, topic: str, value: bytes) -> None:
        if topic == self.health_topic:
            beat = CameraHealth.model_validate_json(value)
            known = self.cameras.get(beat.camera_id)
            if known is None or known.at <= beat.at:
                self.cameras[beat.camera_id] = beat
            return
        if topic == self.snapshots_topic:
            snap = CameraSnapshot.model_validate_json(value)
            seen = self.snapshots.get(snap.camera_id)
            if seen is None or seen.at <= snap.at:
                self.snapshots[snap.camera_id] = snap
            return
        if topic == self.occupancy_topic:
            state = ZoneState.from_event(OccupancyChanged.model_validate_json(value))
            current = self._latest.get(state.zone_id)
            if current is None or current.version < state.version:
                self._latest[state.zone_id] = state
            for sub in tuple(self.occupancy_subscribers):
                sub.offer(state)
            return
        kind = orjson.loads(value).get("type")
        alert: AlertEvent = (
            AlertRaised.model_validate_json(value)
            if kind == "AlertRaised"
            else AlertResolved.model_validate_json(value)
        )
        for alert_sub in tuple(self.alert_subscribers):
            alert_sub.offer(alert)

    async def _run(self, consumer: LiveConsumer) -> None:
        try:
            await self._consume(consumer)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            # Not re-raised: nobody awaits this task until stop(); /healthz reports it.
            self.failure = f"consumer task failed: {_describe(e)}"
            logger.error("live hub stopped, no more live updates: %s", self.failure, exc_info=True)

    async def _consume(self, consumer: LiveConsumer) -> None:
        first, most = self.RETRY_BACKOFF_S
        backoff = first
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            except KafkaError as e:
                if not e.retriable:
                    raise
                self.retrying = _describe(e)
                logger.warning("live hub: Kafka error, retrying in %.1f s: %s", backoff, e)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, most)
                continue
            if self.retrying is not None:
                logger.info("live hub: Kafka fetches work again")
                self.retrying = None
            backoff = first
            for tp, records in batches.items():
                for record in records:
                    if record.value is None:
                        logger.warning("skipping event without a value on %s", tp.topic)
                        continue
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
        """A mailbox for live changes, seeded with :meth:`latest` once registered.

        The caller may offer more seeds (e.g. stored states of zones the hub has
        not seen); the mailbox keeps the newest version per zone either way.
        """
        sub = OccupancySubscriber(zone_ids)
        self.occupancy_subscribers.add(sub)
        for state in self.latest(zone_ids):
            sub.offer(state)
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
