"""Stop the worker, hard, when an agent sees that the consumer skipped messages.

Our topics are written without transactions and never compacted, so within a
partition the offsets an agent receives are consecutive. A jump means that
Faust's consumer dropped a range: faust-streaming issue #596, a race at the
end of table recovery (worked around in :mod:`streams.faust_recovery`). When
that happens, Faust has already recorded the range as a *gap* in its consumer
(``Consumer._add_gap``), and its commit loop treats a gap as acknowledged: as
soon as the message after the range is acknowledged, the committed offset
jumps past the range and those messages are lost for good.

So an offset gap is fatal. :meth:`OffsetGapGuard.admit` logs it at CRITICAL
(agent, topic, partition, first and last skipped offset) and ends the process
with ``os._exit(70)`` (``EX_SOFTWARE``) after flushing the log handlers, from
inside the agent, before the message after the gap is acknowledged. Nothing
gentler keeps the range:

- raising in the agent does not: the stream acknowledges the current event
  in a ``finally`` of its iterator (``Stream.events()`` / ``__aiter__``; the
  whole batch for ``take_events``), which runs when the abandoned iterator is
  closed, and the supervisor restarts the crashed agent, which goes on with
  the messages after the gap. Their acks let the next commit (every
  ``broker_commit_interval``) move past the range;
- ``app.stop()`` / ``sys.exit`` do not: a graceful shutdown commits what is
  acknowledged (``Consumer.wait_empty`` / ``commit_and_end_transactions``);
- ``os._exit`` runs no ``finally``, no shutdown hook and no commit. The
  committed offset stays at or before the first skipped offset (the agent
  handles a partition's messages in order, so nothing after the gap has been
  acknowledged yet), and the restarted worker reads the range again. Outputs
  are idempotent (deterministic event ids), so what is read twice counts once.

The process must be restarted by whatever runs it (exit status 70).

After a rebalance the stream restarts from committed offsets anywhere, so the
guard starts tracking afresh when partitions are revoked; going *back* (a seek
to committed offsets) is never a gap.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from faust.types import TP, AppT, Message

__all__ = ["EXIT_GAP", "GapHandler", "OffsetGapGuard", "exit_hard"]

logger = logging.getLogger(__name__)

#: Exit status of a worker stopped by an offset gap (``EX_SOFTWARE``).
EXIT_GAP = 70

#: ``on_gap(agent, tp, first, last)``: the skipped offsets are ``first..last``.
GapHandler = Callable[[str, TP, int, int], None]


def exit_hard(agent: str, tp: TP, first: int, last: int) -> NoReturn:
    """Log the gap at CRITICAL, flush the logs and end the process without acking."""
    logger.critical(
        "%s: the consumer skipped %s[%d] offsets %d..%d (%d messages); stopping the worker "
        "(exit %d) before anything after them is acknowledged, so that a restart reads "
        "them again",
        agent,
        tp.topic,
        tp.partition,
        first,
        last,
        last - first + 1,
        EXIT_GAP,
    )
    for handler in [*logging.getLogger().handlers, *logger.handlers]:
        with contextlib.suppress(Exception):  # exiting anyway
            handler.flush()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(EXIT_GAP)


class OffsetGapGuard:
    """Per-partition offset continuity for one agent.

    Args:
        app: The Faust app (for its rebalance signal).
        name: The agent, for the log.
        on_gap: Called with ``(name, tp, first, last)`` for a gap; the default,
            :func:`exit_hard`, does not return. Tests pass a recorder.
    """

    def __init__(self, app: AppT, name: str, on_gap: GapHandler | None = None) -> None:
        self.app = app
        self.name = name
        self.on_gap: GapHandler = on_gap or exit_hard
        #: Gaps seen (only ever more than 0 when ``on_gap`` returns).
        self.gaps = 0
        self._next: dict[TP, int] = {}
        app.on_partitions_revoked.connect(self._on_revoked)

    def _on_revoked(self, sender: Any, /, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        # After a rebalance the stream restarts from committed offsets, which
        # may lie anywhere: start tracking afresh.
        self.reset()

    def reset(self) -> None:
        self._next.clear()

    async def admit(self, message: Message) -> bool:
        """True if ``message`` follows the previous one of its partition (or goes back).

        On a gap, calls ``on_gap`` (by default the process ends there). If
        ``on_gap`` returns, the message is not admitted and the partition's
        expected offset stays where it was, so nothing after the gap is ever
        admitted.
        """
        tp = message.tp
        offset = message.offset
        expected = self._next.get(tp)
        if expected is not None and offset > expected:
            self.gaps += 1
            self.on_gap(self.name, tp, expected, offset - 1)
            return False
        self._next[tp] = offset + 1
        return True
