"""crossings.v1 + occupancy.v1 + alerts.v1 + commands.v1 -> PostgreSQL, in batches.

A batch is acknowledged only after its transaction commits, so a database
outage stalls this agent (retrying with backoff) without losing or
duplicating anything: the events wait in Kafka.

What cannot be stored goes to ``deadletter.v1`` with its origin, and the rest
of the batch is stored: unparseable JSON, an unknown ``type``, a schema
violation, and events the database refuses for their content (NUL in text,
numbers out of range; see :mod:`streams.sinks.postgres`). No single message
can stop storage, and bad content never raises.

**Acks are manual, and an unexpected error stops the worker hard**, as in
every agent (:mod:`streams.runtime.batches`): a batch is acked only once
:func:`store` has stored or dead-lettered all of it; a cancellation (the
worker stopping during an outage) leaves it unacked, and any other exception
ends the process with status 70 before anything of it is acked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import NoReturn, cast

import orjson
from faust import StreamT
from faust.streams import Stream
from faust.types import EventT, Message
from pydantic import ValidationError

from schemas.events import CrossingEvent, OccupancyChanged
from schemas.operations import AlertRaised, AlertResolved, OccupancyCalibrated, OccupancyReset
from streams.app import app, plant, settings, topics
from streams.runtime.batches import EXIT_STATUS, consume_batches, stop_hard
from streams.runtime.deadletter import dead_letter
from streams.runtime.event_clock import clock
from streams.runtime.gaps import OffsetGapGuard
from streams.runtime.metrics import SINK_BATCH_SECONDS, SINK_ERRORS, SINK_ROWS
from streams.sinks.base import SinkError
from streams.sinks.postgres import Event, PostgresSink

__all__ = ["EXIT_STATUS", "NotStorable", "consume", "parse", "sink_to_postgres", "store"]

logger = logging.getLogger(__name__)

_MODELS: dict[str, type[Event]] = {
    m.__name__: m
    for m in (
        CrossingEvent,
        OccupancyChanged,
        AlertRaised,
        AlertResolved,
        OccupancyCalibrated,
        OccupancyReset,
    )
}

#: The table each stored event lands in (its rows are counted per table).
TABLES: dict[type[Event], str] = {
    CrossingEvent: "crossings",
    OccupancyChanged: "occupancy_samples",
    AlertRaised: "alerts",
    AlertResolved: "alerts",
    OccupancyCalibrated: "commands",
    OccupancyReset: "commands",
}
_rows = {table: SINK_ROWS.labels(table=table) for table in sorted(set(TABLES.values()))}

_sink: PostgresSink[Message] = PostgresSink(
    settings.database_url,
    timezone=plant.timezone,
    history_backend=settings.history_backend,
    raw_retention_days=settings.raw_retention_days,
)
_guard = OffsetGapGuard(app, "sink_to_postgres")


class NotStorable(ValueError):
    """A message that is not one of the stored events; the reason is the message."""


def parse(raw: object) -> Event:
    """The event in a raw message value; :class:`NotStorable` if it is none."""
    if not isinstance(raw, bytes | bytearray | str):
        raise NotStorable(f"not a storable event: the value is {type(raw).__name__}, not JSON")
    try:
        kind = orjson.loads(raw).get("type")
    except orjson.JSONDecodeError as e:
        raise NotStorable(f"not a storable event: invalid JSON: {e}") from None
    except AttributeError:
        raise NotStorable("not a storable event: the JSON is not an object") from None
    model = _MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise NotStorable(f"not a storable event: unknown type {kind!r}")
    try:
        return model.model_validate_json(raw)
    except ValidationError as e:
        raise NotStorable(f"not a storable event: {e!r}") from None


#: Longest wait between two tries while the database is down: storage resumes
#: at most this long after it is back (a try costs one connection attempt).
RETRY_MAX_S = 5.0


async def _flush(sink: PostgresSink[Message], added: Counter[str]) -> None:
    """Flush until stored (retrying outages with backoff); dead-letter what is refused.

    ``added``: table -> events of the batch bound for it (for the row metrics).
    """
    delay = 0.5
    while True:
        started = time.perf_counter()
        try:
            flushed = await sink.flush()
            break
        except SinkError as e:
            SINK_ERRORS.inc()
            logger.error("%s; retrying in %.1f s", e, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)
    if added:
        SINK_BATCH_SECONDS.observe(time.perf_counter() - started)
        for rejected in flushed.rejected:
            added[TABLES[type(rejected.item)]] -= 1
        for table, n in added.items():
            if n > 0:  # never below 0, even for events left pending by a cancelled flush
                _rows[table].inc(n)
    for rejected in flushed.rejected:
        if rejected.origin is None:
            raise RuntimeError(f"the sink rejected an event without its origin: {rejected}")
        await dead_letter(rejected.origin, f"not storable: {rejected.reason}")


async def store(events: Sequence[EventT], sink: PostgresSink[Message]) -> list[EventT]:
    """Store one batch; return the events now stored or dead-lettered, to ack.

    Events the offset-gap guard does not admit are left out: they must stay
    unacknowledged (see :mod:`streams.runtime.gaps`).
    """
    clock.heard()
    admitted = []
    added: Counter[str] = Counter()
    for event in events:
        if not await _guard.admit(event.message):
            continue
        admitted.append(event)
        try:
            parsed = parse(event.value)
        except NotStorable as e:
            await dead_letter(event.message, str(e))
            continue
        sink.add(parsed, event.message)
        added[TABLES[type(parsed)]] += 1
    await _flush(sink, added)
    return admitted


def _stop_hard(exc: BaseException) -> NoReturn:
    stop_hard("sink_to_postgres", exc)


async def consume(
    stream: Stream,
    sink: PostgresSink[Message],
    *,
    size: int = settings.sink_batch_size,
    within: float = settings.sink_batch_seconds,
    stop: Callable[[BaseException], NoReturn] = _stop_hard,
) -> None:
    """Store ``stream`` in batches (``size`` events or ``within`` seconds), acking
    each batch only once it is stored.

    ``stop`` is called with any exception but a cancellation, before anything
    of the batch is acked, and must not return: the default ends the process
    (see :mod:`streams.runtime.batches`).
    """

    async def handle(events: Sequence[EventT]) -> list[EventT]:
        return await store(events, sink)

    def stop_agent(agent: str, exc: BaseException) -> NoReturn:
        stop(exc)

    await consume_batches(
        stream,
        handle,
        agent="sink_to_postgres",
        size=size,
        within=within,
        stop=stop_agent,
        watched=False,  # a database outage is retried here for as long as it lasts
    )


@app.agent(
    app.topic(
        topics.crossings.get_topic_name(),
        topics.occupancy.get_topic_name(),
        topics.alerts.get_topic_name(),
        topics.commands.get_topic_name(),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
)
async def sink_to_postgres(stream: StreamT[bytes]) -> None:
    await consume(cast(Stream, stream), _sink)
