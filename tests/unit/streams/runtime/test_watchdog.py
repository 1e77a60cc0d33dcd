"""The watchdog and the worker dump (streams.runtime.watchdog, .diagnostics)."""

from __future__ import annotations

import asyncio
import io
import os
from typing import NoReturn

import pytest

from streams.runtime import diagnostics
from streams.runtime.watchdog import Watchdog


class Stopped(Exception):
    pass


def stop(who: str, error: BaseException) -> NoReturn:
    raise Stopped(f"{who}: {error}")


def test_nothing_in_hand_never_stops():
    dog = Watchdog(90.0, stop=stop)
    for now in range(0, 1000, 5):
        assert dog.check(None, {}, float(now)) == 0.0


def test_commits_and_batches_that_come_and_go_never_stop():
    dog = Watchdog(90.0, stop=stop)
    for i in range(100):  # a new commit and batch every 5 s, each in hand when looked at
        now = i * 5.0
        assert dog.check(object(), {"count_crossings": now - 0.1}, now) < 1.0


def test_one_commit_in_flight_too_long_stops():
    dog = Watchdog(90.0, stop=stop)
    stuck = object()
    assert dog.check(stuck, {}, 100.0) == 0.0
    assert dog.check(stuck, {}, 150.0) == 50.0
    assert dog.check(stuck, {}, 189.0) == 89.0
    with pytest.raises(Stopped, match="offset commit has been in flight for 90 s"):
        dog.check(stuck, {}, 190.0)


def test_a_pause_without_commit_resets_the_age():
    dog = Watchdog(90.0, stop=stop)
    fut = object()
    dog.check(fut, {}, 0.0)
    dog.check(None, {}, 60.0)  # that commit finished
    assert dog.check(fut, {}, 120.0) == 0.0  # the same object again is a new commit


def test_one_agent_on_one_batch_too_long_stops():
    dog = Watchdog(90.0, stop=stop)
    busy = {"apply_zone_inputs": 10.0, "count_crossings": 99.0}
    assert dog.check(None, busy, 99.5) == 89.5
    with pytest.raises(Stopped, match="agent apply_zone_inputs has been on one batch for 90 s"):
        dog.check(None, busy, 100.0)


def test_dump_lists_threads_and_the_tasks_of_each_loop():
    async def parked(ev: asyncio.Event) -> None:
        await ev.wait()

    async def main(devnull: io.TextIOBase) -> str:
        ev = asyncio.Event()
        task = asyncio.create_task(parked(ev), name="parked-on-an-event")
        await asyncio.sleep(0)
        out = io.StringIO()
        # faulthandler writes to a real file descriptor; the tasks part to out.
        diagnostics.dump([("main loop", asyncio.get_running_loop())], file=_Tee(devnull, out))
        ev.set()
        await task
        return out.getvalue()

    with open(os.devnull, "w") as devnull:
        text = asyncio.run(main(devnull))
    assert text.startswith(diagnostics.MARKER)
    assert "=== main loop: " in text
    assert "parked-on-an-event" in text
    assert "in parked" in text  # the coroutine it is suspended in
    assert text.rstrip().endswith("=== end of dump ===")


class _Tee(io.TextIOBase):
    """A text file whose descriptor is ``fd_file``'s and whose text goes to ``text``."""

    def __init__(self, fd_file: io.TextIOBase, text: io.StringIO) -> None:
        self._fd, self._text = fd_file, text

    def fileno(self) -> int:
        return self._fd.fileno()

    def write(self, s: str) -> int:
        return self._text.write(s)

    def flush(self) -> None:
        self._fd.flush()
