"""Stop faust-streaming from losing messages when a restarted worker ends table recovery.

faust-streaming issue #596 (https://github.com/faust-streaming/faust/issues/596),
introduced by PR #241 ("fix race conditions on rebalance"), still present in
0.15.3. ``Recovery.on_recovery_completed`` (``faust/tables/recovery.py``) runs
with the consumer flow and ``app.flow_control`` still *active* (they were
resumed to read the changelogs) and then:

1. ``consumer.resume_partitions(<stream partitions>)``: the next fetch of the
   running fetcher returns the source topics' records that aiokafka
   prefetched during recovery; the drain loop (``Consumer._drain_messages``)
   passes them to the agents' queues and the agents start processing them;
2. ``await consumer.perform_seek()``: a round trip to the broker while step 1
   goes on; it resets ``Consumer._read_offset`` to the committed offsets;
3. ``app.flow_control.resume()``: clears every agent queue
   (``clear_on_resume``) *without acknowledging* what it drops.

The drain loop goes on with the batch it fetched before the seek. Its next
record is far ahead of the reset read offset, so it records the range in
between as a gap (``Consumer._add_gap``), and the commit loop counts a gap as
acknowledged: once the agent acknowledges that record, the committed offset
jumps past the records that step 3 dropped. aiokafka, seeked back, delivers
the range again, but the drain loop's read offset is past it by then and it
drops those records as already read. They are never processed, by this
worker or any later one. (An earlier reproduction in the project's kill -9
test lost 1-17 offsets per partition in 9 of 12 restarts;
``tests/integration/test_faust_recovery.py`` reproduces it on its own.)

The fix: at the start of ``on_recovery_completed``, do what Faust itself does
when partitions are revoked: stop the consumer flow (``consumer.stop_flow()``:
the drain loop stops at its next record and parks until ``resume_flow``),
suspend and clear flow control (nothing half-delivered reaches an agent), and
wait until no fetch is in flight. Then the original method resumes the
partitions and seeks while nothing is delivered, and its own
``flow_control.resume()`` / ``consumer.resume_flow()`` restart the flow from
the committed offsets. No record fetched before the seek reaches an agent
(with the flow stopped, ``Consumer.getmany`` drops such a batch and seeks to
the committed offsets again), so no gap is ever recorded. Waiting for the
in-flight fetch keeps the order plain instead of leaving it to how the
consumer thread and the event loop happen to interleave: that fetch was
started with the live set of active partitions, which step 1 extends.

Waiting for the fetch: ``Consumer.wait_for_stopped_flow()`` (PR #263) is meant
for exactly this, but in 0.15.3 it never waits: ``_wait_next_records`` *sets*
``not_waiting_next_records`` both before and after its fetch, where it should
clear it before. :func:`install` also wraps ``ThreadDelegateConsumer._getmany``
(the fetch that ``_wait_next_records`` awaits) to clear that event while a fetch
is in flight, which makes ``wait_for_stopped_flow`` true to its docstring.
Nothing in Faust itself calls it, so nothing else changes behaviour.

:func:`install` is called by :func:`streams.faust_app.create_app` before it builds an app.
``OCC_FAUST_RECOVERY_FIX=0`` skips it; that exists only so the reproduction
test can show the loss without the fix.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["ENV_SWITCH", "install", "installed"]

logger = logging.getLogger(__name__)

#: Environment variable: ``0`` leaves Faust unpatched (for the reproduction test only).
ENV_SWITCH = "OCC_FAUST_RECOVERY_FIX"

#: Longest wait for the in-flight fetch. The drain loop fetches with a 1 s
#: timeout; past this something else is wrong and recovery goes on regardless
#: (still safe: the flow stays stopped until after the seek, see above).
FETCH_WAIT_S = 10.0

_MARK = "__occ_faust_recovery_fix__"
_installed = False


class FaustInternalsChanged(RuntimeError):
    """The faust-streaming internals this patch relies on are not what it expects."""


def installed() -> bool:
    """Whether :func:`install` has patched Faust in this process."""
    return _installed


def _require(owner: type, name: str, params: list[str]) -> Any:
    """``owner.name``, checked to be a coroutine function with these parameters."""
    fun = owner.__dict__.get(name)
    if fun is None or not inspect.iscoroutinefunction(fun):
        raise FaustInternalsChanged(
            f"{owner.__module__}.{owner.__qualname__}.{name} is missing or no longer a "
            f"coroutine function: revisit {__name__} (faust-streaming #596) for this "
            "Faust version"
        )
    actual = list(inspect.signature(fun).parameters)
    if actual != params:
        raise FaustInternalsChanged(
            f"{owner.__qualname__}.{name}{inspect.signature(fun)} changed (expected "
            f"parameters {params}): revisit {__name__} (faust-streaming #596)"
        )
    return fun


def install() -> bool:
    """Patch Faust against the recovery race of issue #596; idempotent.

    Returns:
        True when the patch is in place, False when ``OCC_FAUST_RECOVERY_FIX=0``
        kept it out (read on each call until the patch is installed).

    Raises:
        FaustInternalsChanged: Faust no longer has the methods this patch wraps
            (a new faust-streaming version): check whether #596 is fixed there.
    """
    global _installed
    if _installed:
        return True
    if os.environ.get(ENV_SWITCH, "1").strip() == "0":
        logger.warning(
            "%s=0: faust-streaming is NOT patched against issue #596; a restarted "
            "worker can skip messages",
            ENV_SWITCH,
        )
        return False
    from faust.tables.recovery import Recovery
    from faust.transport.consumer import Consumer, ThreadDelegateConsumer

    on_recovery_completed = _require(Recovery, "on_recovery_completed", ["self", "generation_id"])
    getmany = _require(ThreadDelegateConsumer, "_getmany", ["self", "active_partitions", "timeout"])
    for name in ("stop_flow", "resume_flow", "resume_partitions", "perform_seek"):
        if not callable(getattr(Consumer, name, None)):
            raise FaustInternalsChanged(f"faust Consumer.{name} is gone: revisit {__name__}")
    _require(Consumer, "wait_for_stopped_flow", ["self"])

    if getattr(on_recovery_completed, _MARK, False) and getattr(getmany, _MARK, False):
        _installed = True
        return True
    if getattr(on_recovery_completed, _MARK, False) or getattr(getmany, _MARK, False):
        raise FaustInternalsChanged(f"{__name__}: Faust is only half patched")
    # setattr: mypy rejects assigning to a method.
    setattr(Recovery, "on_recovery_completed", _patch_recovery(on_recovery_completed))  # noqa: B010
    setattr(ThreadDelegateConsumer, "_getmany", _patch_getmany(getmany))  # noqa: B010
    _installed = True
    logger.debug("faust-streaming patched against issue #596 (recovery race)")
    return True


def _patch_recovery(
    original: Callable[..., Awaitable[None]],
) -> Callable[..., Awaitable[None]]:
    @functools.wraps(original)
    async def on_recovery_completed(self: Any, generation_id: int = 0) -> None:
        app = self.app
        consumer = app.consumer
        # Nothing may reach an agent between resume_partitions and the seek.
        consumer.stop_flow()
        app.flow_control.suspend()
        # Right after suspend, with no await between: a stream that finds an
        # event in its queue while flow control is suspended acknowledges it
        # unprocessed. (During recovery the source partitions were paused, so
        # the agent queues are empty here; this is the belt to those braces.)
        app.flow_control.clear()
        try:
            await asyncio.wait_for(consumer.wait_for_stopped_flow(), FETCH_WAIT_S)
        except TimeoutError:
            logger.warning(
                "a fetch is still in flight after %.0f s; finishing recovery anyway", FETCH_WAIT_S
            )
        await original(self, generation_id)

    setattr(on_recovery_completed, _MARK, True)
    return on_recovery_completed


def _patch_getmany(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(original)
    async def _getmany(self: Any, active_partitions: Any, timeout: float) -> Any:  # noqa: ASYNC109
        # _wait_next_records has just *set* this event (the 0.15.3 bug); clear
        # it for as long as the fetch is in flight, as PR #263 intended.
        self.not_waiting_next_records.clear()
        try:
            return await original(self, active_partitions, timeout)
        finally:
            self.not_waiting_next_records.set()

    setattr(_getmany, _MARK, True)
    return _getmany
