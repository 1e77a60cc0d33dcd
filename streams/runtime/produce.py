"""Sending the agents' outputs straight to the producer.

``Topic.send`` wraps every record in Faust's ``PendingMessage`` and
``FutureMessage``, runs the send sensors and callbacks, and only then hands
it to the producer: for one small record that costs more than the record's
own encoding and queueing in aiokafka. The agents' outputs need none of it
(raw bytes, no attachments, no callbacks), so :func:`send` hands them to
Faust's producer directly. Nothing about delivery changes: it is the same
producer, so Faust's commit still flushes it before committing offsets, and
the returned future resolves once the broker has acknowledged the record.
"""

from __future__ import annotations

from collections.abc import Awaitable

from aiokafka.structs import RecordMetadata
from faust.types import AppT, TopicT

__all__ = ["send"]


async def send(
    app: AppT, topic: TopicT, key: bytes, value: bytes, partition: int | None = None
) -> Awaitable[RecordMetadata]:
    """Queue one record; the result resolves when the broker has acknowledged it."""
    return await app.producer.send(topic.get_topic_name(), key, value, partition, None, None)
