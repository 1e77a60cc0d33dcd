"""A wedged worker stops, so that its supervisor restarts it.

Seen in the fault suite (the broker killed and restarted mid-stream, about
one run in six on the 2-core machine): after the broker came back, a commit
that Faust's consumer had started during the outage never returned. Faust's
drain loop (``Consumer._drain_messages``) awaits a commit after every
``broker_commit_every`` acknowledged messages, and every later commit waits
for the one in flight (``Consumer.maybe_wait_for_commit_to_finish``), so no
agent received anything more while the worker stayed alive, in its group and
silent, for good. The commit waited on aiokafka's consumer in Faust's
consumer thread (``AIOKafkaConsumerThread.commit``, through mode's method
queue), with nothing logged. The same silence follows when an agent's batch
never ends (an acknowledgement from the broker that never comes): its queue
fills and the drain loop waits on it.

Neither takes minutes on a healthy worker: a commit takes milliseconds, a
batch well under a second, and aiokafka retries a request that cannot reach
the broker until it can. :class:`Watchdog` looks every few seconds at Faust's
commit in flight (``Consumer._commit_fut``) and at each agent's batch in
hand (:data:`streams.runtime.batches.BUSY`). When the same commit, or one
agent's batch, has been in hand for ``limit_s`` (``OCC_COMMIT_STALL_S``, 90 s
by default: the broker request timeout), it writes a dump of every thread and
task to the log (:mod:`streams.runtime.diagnostics`) and ends the process
with status 70 (:func:`streams.runtime.batches.stop_hard`). Nothing is lost:
nothing is acknowledged past what is recorded, and the restarted worker reads
again from the last commit, which its idempotent consumers absorb. During a
broker outage longer than ``limit_s`` the worker restarts that often until
the broker is back, which is harmless: it could neither commit nor send.
The database sink's batches are not watched: it retries a PostgreSQL outage
for as long as it lasts, and logs each retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from faust.types import AppT

from streams.runtime import diagnostics
from streams.runtime.batches import BUSY, stop_hard

__all__ = ["Watchdog", "install"]

#: How often the watchdog looks (seconds).
CHECK_EVERY_S = 5.0


class Watchdog:
    """Tells when one commit, or one agent's batch, has been in hand for too long.

    Args:
        limit_s: Seconds one commit or one batch may take.
        stop: Called with ``(who, error)`` when one has taken longer; must not return.
    """

    def __init__(
        self,
        limit_s: float,
        stop: Callable[[str, BaseException], NoReturn] = stop_hard,
    ) -> None:
        self.limit_s = limit_s
        self._stop = stop
        self._commit: Any = None
        self._commit_since = 0.0

    def check(self, commit_in_flight: Any, busy: Mapping[str, float], now: float) -> float:
        """Look at the commit in flight (``None``: none) and at the agents' batches
        (agent -> since when, :data:`~streams.runtime.batches.BUSY`) at ``now``
        (monotonic seconds). Returns the longest time either has taken, or stops."""
        if commit_in_flight is None:
            self._commit = None
        elif commit_in_flight is not self._commit:
            self._commit, self._commit_since = commit_in_flight, now
        commit_age = now - self._commit_since if self._commit is not None else 0.0
        if commit_age >= self.limit_s:
            self._fail(f"an offset commit has been in flight for {commit_age:.0f} s")
        for agent, since in busy.items():
            if now - since >= self.limit_s:
                self._fail(f"agent {agent} has been on one batch for {now - since:.0f} s")
        return max([commit_age, *(now - since for since in busy.values())])

    def _fail(self, what: str) -> NoReturn:
        self._stop(
            "watchdog",
            TimeoutError(
                f"{what} (limit {self.limit_s:g} s, OCC_COMMIT_STALL_S): the worker is wedged"
                " or the broker unreachable; restarting to read again from the last commit"
            ),
        )


def install(app: AppT, limit_s: float) -> Watchdog:
    """Look at the worker's commit and batches every few seconds, from its start."""
    from faust.transport.consumer import Consumer

    if "_commit_fut" not in vars(Consumer):
        raise RuntimeError(
            "faust Consumer._commit_fut is gone: revisit streams.runtime.watchdog for this Faust"
        )

    def dump_and_stop(who: str, error: BaseException) -> NoReturn:
        diagnostics.dump_worker(app)  # where it hung, for the operator
        stop_hard(who, error)

    watchdog = Watchdog(limit_s, stop=dump_and_stop)

    @app.timer(interval=CHECK_EVERY_S)
    async def watch_the_worker() -> None:
        # faust.transport.consumer.Consumer._commit_fut: set while commit() runs.
        watchdog.check(getattr(app.consumer, "_commit_fut", None), BUSY, time.monotonic())

    return watchdog
