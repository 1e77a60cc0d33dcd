"""Dead letters: what a consumer could not process, with the reason and origin.

Each one is counted in ``occupancy_deadletters_total{reason}`` under the
category of its reason (:func:`reason_category`): the reason itself is free
text (a validation error, an id), which must never become a label value.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from faust.types import Message

from schemas.events import DeadLetter
from streams.app import topics
from streams.runtime.metrics import DEADLETTERS

__all__ = ["CATEGORIES", "OTHER", "dead_letter", "reason_category"]

logger = logging.getLogger(__name__)

#: How each reason the agents give starts -> its category (the metric's label),
#: the more specific prefix first. A reason that starts otherwise is ``other``.
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("invalid FrameDetections", "invalid_frame"),
    ("unknown camera", "unknown_camera"),
    ("frame size", "frame_size_mismatch"),
    ("invalid zone input", "invalid_zone_input"),
    ("unknown zone", "unknown_zone"),  # "unknown zone 'x'" and "unknown zones [...]"
    ("not a storable event", "not_storable"),
    ("not storable", "refused_by_database"),  # the sink's rejections: "not storable: <why>"
)
OTHER = "other"

_children: dict[str, Any] = {}


def reason_category(reason: str) -> str:
    """The bounded category of a free-text dead-letter reason (see :data:`CATEGORIES`)."""
    for prefix, category in CATEGORIES:
        if reason.startswith(prefix):
            return category
    return OTHER


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
    category = reason_category(letter.reason)
    child = _children.get(category)
    if child is None:
        child = _children[category] = DEADLETTERS.labels(reason=category)
    child.inc()
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
