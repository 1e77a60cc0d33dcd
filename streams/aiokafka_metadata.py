"""Keep aiokafka's metadata task alive: when it ends, a worker waits for good.

Every ``AIOKafkaClient`` runs one background task, ``_md_synchronizer``, that
refreshes the cluster metadata; ``force_metadata_update()`` hands out a future
that this task resolves after its next refresh. Nothing watches the task: if
an exception (or a stray cancellation) leaves it, the task is done, nothing
logs it (the client keeps a reference, so asyncio never reports an
exception "never retrieved"), and every later ``force_metadata_update()``
waits forever.

Seen in the fault suite (the broker killed and restarted mid-stream, about
one run in six here): in the wedged worker's dump (``kill -QUIT``, see
:mod:`streams.runtime.diagnostics`) the consumer thread's loop had no
``_md_synchronizer`` task any more, where a healthy worker has one. aiokafka's
group coordinator awaits ``force_metadata_update()`` inside its coordinator
lookup lock after a failed lookup (``GroupCoordinator.ensure_coordinator_known``),
so the heartbeat and every offset commit waited behind it, Faust's drain loop
waited on the commit, and the worker stayed alive, in its group and silent.
aiokafka issue #712 (open; PR #1108) reports a metadata update that never ends
after a network problem. The cause, caught by this module's log in the
fault suite: under uvloop, ``AIOKafkaConnection.send`` writing to a
connection the broker had just closed raises ``RuntimeError("unable to
perform operation on <TCPTransport closed=True ...>")`` (asyncio's own
transport does not raise there), which is no ``KafkaError``, so
``_metadata_update`` lets it out and the task ends.

The fix, :func:`install` (called by :func:`streams.faust_app.create_app`,
idempotent): ``AIOKafkaClient._md_synchronizer`` is wrapped so that when the
original loop ends by an exception, or by a cancellation that is not the
client's own ``close()``, the wrapper logs it with its traceback, resolves
the waiting refresh with ``False`` ("not updated", which every caller already
handles by retrying), waits a second (or the client's retry backoff if
longer) and runs the loop again. ``close()`` still stops it: a cancellation
of the task itself (``Task.cancelling()``) is passed on. The commit watchdog
(:mod:`streams.runtime.watchdog`) stays as the last resort for any other
wedge.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["install", "installed", "original"]

logger = logging.getLogger(__name__)

_MARK = "__occ_metadata_task_kept_alive__"
#: At least this long between two runs of the task (no log flood on a persistent error).
RESTART_AFTER_S = 1.0
_original: Callable[[Any], Coroutine[Any, Any, None]] | None = None


def installed() -> bool:
    """Whether :func:`install` has wrapped aiokafka's metadata task in this process."""
    from aiokafka.client import AIOKafkaClient

    return bool(getattr(AIOKafkaClient._md_synchronizer, _MARK, False))


def original() -> Callable[[Any], Coroutine[Any, Any, None]]:
    """aiokafka's own ``_md_synchronizer`` (for the reproduction test)."""
    from aiokafka.client import AIOKafkaClient

    return _original or AIOKafkaClient._md_synchronizer


def install() -> None:
    """Wrap ``AIOKafkaClient._md_synchronizer`` (once per process)."""
    global _original
    from aiokafka.client import AIOKafkaClient

    current = AIOKafkaClient.__dict__.get("_md_synchronizer")
    if current is None or not inspect.iscoroutinefunction(current):
        raise RuntimeError(
            "aiokafka's AIOKafkaClient._md_synchronizer is gone or no longer a coroutine"
            f" function: revisit {__name__} for this aiokafka version"
        )
    if getattr(current, _MARK, False):
        return
    _original = current
    setattr(AIOKafkaClient, "_md_synchronizer", _kept_alive(current))  # noqa: B010


def _kept_alive(
    loop_forever: Callable[[Any], Coroutine[Any, Any, None]],
) -> Callable[[Any], Coroutine[Any, Any, None]]:
    @functools.wraps(loop_forever)
    async def _md_synchronizer(self: Any) -> None:
        again = "running it again (metadata refreshes waiting on it get False and retry)"
        while True:
            try:
                await loop_forever(self)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is None or task.cancelling():
                    raise  # the client's close(): stop
                logger.error(
                    "aiokafka's metadata task was cancelled from inside; %s", again, exc_info=True
                )
            except Exception:
                logger.exception("aiokafka's metadata task failed; %s", again)
            else:
                logger.error("aiokafka's metadata task returned; %s", again)
            waiting = self._md_update_fut
            self._md_update_fut = None
            if waiting is not None and not waiting.done():
                waiting.set_result(False)
            await asyncio.sleep(max(self._retry_backoff, RESTART_AFTER_S))

    setattr(_md_synchronizer, _MARK, True)
    return _md_synchronizer
