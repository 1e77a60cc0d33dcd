"""Notice messages the Faust consumer skipped, and say so loudly.

Our topics are written without transactions and never compacted, so within a
partition the offsets an agent receives are consecutive. faust-streaming
(0.15.x) can skip a range of messages when a restarted worker finishes
recovery while its stream already runs: seen in the kill -9 test, where a
restarted worker jumped over 3 to 25 consecutive offsets of ``zone-deltas.v1``
with nothing logged. Faust then never commits past the skipped range, so the
next restart reads it again, but until then counts are short.

A first attempt to repair this by seeking back (``Consumer.seek``) stalled
the partition instead of re-reading it, so :class:`OffsetGapGuard` only
detects: it logs a warning naming the partition and offsets and counts the
skips (a metric for operators: restarting the worker re-reads the range).
"""

from __future__ import annotations

import logging
from typing import Any

from faust.types import TP, AppT, Message

__all__ = ["OffsetGapGuard"]

logger = logging.getLogger(__name__)


class OffsetGapGuard:
    """Per-partition offset continuity for one agent.

    Args:
        app: The Faust app (for its rebalance signal).
        name: The agent, for the log.
    """

    def __init__(self, app: AppT, name: str) -> None:
        self.app = app
        self.name = name
        self.repairs = 0
        self._next: dict[TP, int] = {}
        app.on_partitions_revoked.connect(self._on_revoked)

    def _on_revoked(self, sender: Any, /, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        # After a rebalance the stream restarts from committed offsets, which
        # may lie anywhere: start tracking afresh.
        self.reset()

    def reset(self) -> None:
        self._next.clear()

    async def admit(self, message: Message) -> bool:
        """Check ``message``'s offset against the previous one; always True.

        (Kept async and boolean so a future repair can skip messages.)
        """
        tp = message.tp
        offset = message.offset
        expected = self._next.get(tp)
        if expected is not None and offset > expected:
            self.repairs += 1
            logger.warning(
                "%s: the consumer skipped %s offsets %d..%d; counts are short until the "
                "worker restarts and reads them again",
                self.name,
                tp,
                expected,
                offset - 1,
            )
        self._next[tp] = offset + 1
        return True
