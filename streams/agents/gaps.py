"""Guard against messages the Faust consumer skips, by reading them again.

Our topics are written without transactions and never compacted, so within a
partition the offsets an agent receives are consecutive. faust-streaming
(0.15.x) can skip a few messages when a worker finishes recovery while its
stream already runs: we saw three consecutive offsets of ``zone-deltas.v1``
vanish on a restarted worker under CPU load, with nothing logged. Faust
then never commits past them, so a later restart would read them again, but
until then the counts are short.

:class:`OffsetGapGuard` notices the jump, seeks the partition back to the
first missing offset (``Consumer.seek`` also resets Faust's read position) and
tells the agent to skip what arrives out of order until the missing message
comes, so the agent still sees every message in partition order. Whatever is
read twice is harmless: every consumer de-duplicates by event id.
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
        app: The Faust app (its consumer seeks).
        name: The agent, for the log.
    """

    def __init__(self, app: AppT, name: str) -> None:
        self.app = app
        self.name = name
        self.repairs = 0
        self._next: dict[TP, int] = {}
        self._repairing: set[TP] = set()
        app.on_partitions_revoked.connect(self._on_revoked)

    def _on_revoked(self, sender: Any, /, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        # After a rebalance the stream restarts from committed offsets, which
        # may lie anywhere: start tracking afresh.
        self.reset()

    def reset(self) -> None:
        self._next.clear()
        self._repairing.clear()

    async def admit(self, message: Message) -> bool:
        """True to process ``message``; False to skip it (it will come again)."""
        tp = message.tp
        offset = message.offset
        expected = self._next.get(tp)
        if expected is None or offset == expected:
            self._next[tp] = offset + 1
            self._repairing.discard(tp)
            return True
        if offset < expected:
            # Read again (a seek to committed offsets, or our own repair):
            # follow the stream; consumers de-duplicate what they have seen.
            if tp not in self._repairing:
                self._next[tp] = offset + 1
            return tp not in self._repairing
        if tp not in self._repairing:
            self.repairs += 1
            logger.warning(
                "%s: the consumer skipped %s offsets %d..%d; reading them again",
                self.name,
                tp,
                expected,
                offset - 1,
            )
            self._repairing.add(tp)
            await self.app.consumer.seek(tp, expected)
        return False
