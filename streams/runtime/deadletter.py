"""Dead letters: what a consumer could not process, with the reason and origin."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime

from faust.types import Message

from schemas.events import DeadLetter
from streams.app import topics

__all__ = ["DeadLetterCounter", "dead_letter", "dead_letters"]

logger = logging.getLogger(__name__)


class DeadLetterCounter(Counter[str]):
    """Dead letters sent by this process, per source topic (a metric)."""


dead_letters = DeadLetterCounter()


async def dead_letter(message: Message, reason: str) -> None:
    """Publish ``message`` to ``deadletter.v1`` with ``reason``; never raises on bad bytes."""
    raw = message.value if isinstance(message.value, bytes) else str(message.value).encode()
    key = message.key
    letter = DeadLetter(
        reason=reason[:2000],
        source_topic=message.topic,
        source_partition=message.partition,
        source_offset=message.offset,
        source_key=key.decode("utf-8", "replace") if isinstance(key, bytes) else None,
        payload=raw.decode("utf-8", "replace")[:100_000],
        failed_at=datetime.now(UTC),
    )
    dead_letters[message.topic] += 1
    logger.warning(
        "dead letter from %s[%d]@%d: %s",
        message.topic,
        message.partition,
        message.offset,
        letter.reason,
    )
    await topics.deadletter.send(
        key=key if isinstance(key, bytes) else None,
        value=letter.model_dump_json().encode(),
        force=True,
    )
