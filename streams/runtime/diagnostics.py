"""What is the worker waiting on? ``kill -QUIT <pid>`` writes it to the log.

A stream worker that stops making progress without failing (a send that is
never acknowledged, a lock that is never released, a commit that never
returns) logs nothing at all. As a JVM does for ``kill -3``, the worker
answers ``SIGQUIT`` with a dump on stderr (its log), and goes on running:

- every thread's Python stack (:mod:`faulthandler`);
- every asyncio task of the main event loop *and* of Faust's consumer thread
  (aiokafka's consumer runs on its own loop there: fetches, commits, group
  membership), each with the coroutine chain it is suspended in.

``SIGUSR1`` (mode's own handler) dumps only the main loop's tasks, with their
local variables. Nothing here runs until the signal comes. The fault tests
send it to a worker that did not drain in time, so that a failure report says
where the worker stood.
"""

from __future__ import annotations

import asyncio
import faulthandler
import signal
import sys
import traceback
from collections.abc import Iterable
from types import FrameType
from typing import Any, TextIO

from faust.types import AppT

__all__ = ["MARKER", "SIGNAL", "client_tasks", "dump", "dump_worker", "install", "loops_of"]

SIGNAL = signal.SIGQUIT
#: The first line of every dump (for tools that cut it out of a log).
MARKER = "=== occupancy worker dump ==="


def _awaiting(task: asyncio.Task[Any], limit: int = 60) -> traceback.StackSummary:
    """The chain of coroutines ``task`` is suspended in, outermost first.

    ``Task.print_stack`` shows only the outermost frame of a suspended task;
    this follows each coroutine to the one it awaits (``cr_await``), as far as
    a coroutine, generator or async generator goes.
    """
    frames: list[tuple[FrameType, int]] = []
    coro: Any = task.get_coro()
    while coro is not None and len(frames) < limit:
        frame = next(
            (f for a in ("cr_frame", "gi_frame", "ag_frame") if (f := getattr(coro, a, None))),
            None,
        )
        if frame is not None:
            frames.append((frame, frame.f_lineno))
        coro = next(
            (n for a in ("cr_await", "gi_yieldfrom", "ag_await") if (n := getattr(coro, a, None))),
            None,
        )
    return traceback.StackSummary.extract(frames)


def _tasks(loop: asyncio.AbstractEventLoop) -> list[asyncio.Task[Any]]:
    # all_tasks() of a loop running in another thread: asyncio retries the
    # copy of its weak set when that thread changes it meanwhile.
    return sorted(asyncio.all_tasks(loop), key=lambda t: t.get_name())


def dump(
    loops: Iterable[tuple[str, asyncio.AbstractEventLoop]],
    file: TextIO | None = None,
    extra_tasks: Iterable[tuple[str, Any]] = (),
) -> None:
    """Write every thread's stack and every task of ``loops`` to ``file``.

    By default the process's real stderr (``sys.__stderr__``): the worker's
    ``sys.stderr`` is mode's logging proxy, which has no file descriptor for
    :mod:`faulthandler`.
    """
    out = file or sys.__stderr__
    assert out is not None
    print(MARKER, file=out, flush=True)
    faulthandler.dump_traceback(file=out, all_threads=True)
    for name, loop in loops:
        try:
            tasks = _tasks(loop)
        except RuntimeError as e:  # the thread kept changing its tasks
            print(f"=== {name}: tasks not readable ({e}) ===", file=out)
            continue
        print(f"=== {name}: {len(tasks)} asyncio tasks ===", file=out)
        for task in tasks:
            print(f"--- {task!r}", file=out)
            print("".join(traceback.format_list(_awaiting(task))), end="", file=out)
    for name, task in extra_tasks:
        print(f"=== {name}: {_state(task)} ===", file=out)
    print("=== end of dump ===", file=out, flush=True)


def _state(task: Any) -> str:
    if not isinstance(task, asyncio.Future):
        return "none"
    if not task.done():
        return "running"
    if task.cancelled():
        return "DEAD (cancelled)"
    return f"DEAD ({task.exception()!r})"


def loops_of(app: AppT) -> list[tuple[str, asyncio.AbstractEventLoop]]:
    """The worker's event loops: the main one (when called on it) and Faust's consumer thread's."""
    loops = []
    main = asyncio._get_running_loop()  # the signal handler runs in the main thread
    if main is not None:
        loops.append(("main loop", main))
    # faust.transport.drivers.aiokafka.ThreadDelegateConsumer._thread (a mode ServiceThread)
    thread = getattr(app.consumer, "_thread", None)
    thread_loop = getattr(thread, "thread_loop", None)
    if isinstance(thread_loop, asyncio.AbstractEventLoop):
        loops.append(("consumer thread loop", thread_loop))
    return loops


def client_tasks(app: AppT) -> list[tuple[str, Any]]:
    """aiokafka's metadata task of the consumer's client (in Faust's consumer thread).

    Every metadata refresh of that client waits on this task; were it to end,
    a refresh, and with it a coordinator lookup, a commit or a heartbeat, would
    wait for good.
    """
    thread = getattr(app.consumer, "_thread", None)
    client = getattr(getattr(thread, "_consumer", None), "_client", None)
    return [("consumer client metadata task", getattr(client, "_sync_task", None))]


def dump_worker(app: AppT) -> None:
    """:func:`dump` the worker of ``app``: its loops and its consumer's metadata task."""
    dump(loops_of(app), extra_tasks=client_tasks(app))


def install(app: AppT) -> None:
    """Answer ``SIGQUIT`` with a dump (call in the main thread, before the worker starts)."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        dump_worker(app)

    signal.signal(SIGNAL, on_signal)
