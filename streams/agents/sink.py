"""crossings.v1 + occupancy.v1 + alerts.v1 + commands.v1 -> PostgreSQL, in batches.

A batch is acknowledged only after its transaction commits, so a database
outage stalls this agent (retrying with backoff) without losing or
duplicating anything: the events wait in Kafka.
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from faust import StreamT
from pydantic import ValidationError

from schemas.events import CrossingEvent, OccupancyChanged
from schemas.operations import AlertRaised, AlertResolved, OccupancyCalibrated, OccupancyReset
from streams.agents.deadletter import dead_letter
from streams.agents.gaps import OffsetGapGuard
from streams.app import app, settings, topics
from streams.sinks.base import SinkError
from streams.sinks.postgres import Event, PostgresSink

__all__ = ["sink_to_postgres"]

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

_sink = PostgresSink(settings.database_url)
_guard = OffsetGapGuard(app, "sink_to_postgres")


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
    async for events in stream.take_events(  # type: ignore[attr-defined]
        settings.sink_batch_size, within=settings.sink_batch_seconds
    ):
        for event in events:
            if not await _guard.admit(event.message):
                continue
            try:
                kind = orjson.loads(event.value).get("type")
                model = _MODELS[kind]
                _sink.add(model.model_validate_json(event.value))
            except (orjson.JSONDecodeError, AttributeError, KeyError, ValidationError) as e:
                await dead_letter(event.message, f"not a storable event: {e!r}"[:2000])
        delay = 0.5
        while True:
            try:
                await _sink.flush()
                break
            except SinkError as e:
                logger.error("%s; retrying in %.1f s", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
