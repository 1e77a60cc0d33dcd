"""The offset-gap guard, with stand-ins for the Faust app and messages."""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from faust.types import TP

from streams.runtime import gaps
from streams.runtime.gaps import EXIT_GAP, OffsetGapGuard


@dataclass
class Signal:
    handlers: list = field(default_factory=list)

    def connect(self, fun):
        self.handlers.append(fun)

    def send(self, *args):
        for handler in self.handlers:
            handler(*args)


@dataclass
class App:
    on_partitions_revoked: Signal = field(default_factory=Signal)


@dataclass
class Message:
    tp: TP
    offset: int


TP0 = TP("zone-deltas.v1", 0)
TP1 = TP("zone-deltas.v1", 1)


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, agent, tp, first, last):
        self.calls.append((agent, tp, first, last))


def guard(app=None):
    recorder = Recorder()
    return OffsetGapGuard(app or App(), "agent-x", on_gap=recorder), recorder


async def feed(g, offsets, tp=TP0):
    return [o for o in offsets if await g.admit(Message(tp, o))]


def test_the_default_on_gap_is_the_hard_exit():
    assert OffsetGapGuard(App(), "t").on_gap is gaps.exit_hard


async def test_consecutive_offsets_are_admitted():
    g, gap = guard()
    assert await feed(g, [5, 6, 7, 8]) == [5, 6, 7, 8]
    assert await feed(g, [0, 1, 2], tp=TP1) == [0, 1, 2]  # partitions are independent
    assert gap.calls == [] and g.gaps == 0


async def test_a_gap_calls_on_gap_with_the_skipped_range_and_admits_nothing_after_it():
    g, gap = guard()
    assert await feed(g, [15, 16, 20, 21]) == [15, 16]
    # 20 shows 17..19 skipped; 21 is behind the same gap (expected stays 17).
    assert gap.calls == [("agent-x", TP0, 17, 19), ("agent-x", TP0, 17, 20)]
    assert g.gaps == 2


async def test_a_gap_of_one_message():
    g, gap = guard()
    assert await feed(g, [3, 5]) == [3]
    assert gap.calls == [("agent-x", TP0, 4, 4)]


async def test_going_back_is_a_replay_not_a_gap():
    g, gap = guard()
    assert await feed(g, [10, 11, 12]) == [10, 11, 12]
    assert await feed(g, [8, 9, 10, 11, 12, 13]) == [8, 9, 10, 11, 12, 13]  # seek to committed
    assert gap.calls == []


async def test_tracking_starts_afresh_after_partitions_are_revoked():
    app = App()
    g, gap = guard(app)
    assert await feed(g, [10, 11, 12]) == [10, 11, 12]
    app.on_partitions_revoked.send(app, {TP0})
    assert await feed(g, [40, 41]) == [40, 41]  # new assignment: no false gap
    assert gap.calls == []
    # ...and the new position is tracked from there on.
    assert await feed(g, [43]) == []
    assert gap.calls == [("agent-x", TP0, 42, 42)]


def test_exit_hard_logs_critical_and_ends_the_process_with_status_70(monkeypatch, caplog):
    exits = []

    def fake_exit(status):
        exits.append(status)
        raise SystemExit(status)

    monkeypatch.setattr(gaps.os, "_exit", fake_exit)
    with caplog.at_level(logging.CRITICAL, logger=gaps.__name__), pytest.raises(SystemExit):
        gaps.exit_hard("count_crossings", TP("detections.v1", 3), 100, 104)
    assert exits == [EXIT_GAP] == [70]
    (record,) = caplog.records
    assert record.levelno == logging.CRITICAL
    text = record.getMessage()
    assert "count_crossings" in text and "detections.v1[3]" in text and "100..104" in text


def test_a_gap_really_ends_the_process_without_running_finally_blocks():
    program = """
import asyncio
from dataclasses import dataclass
from faust.types import TP
from streams.runtime.gaps import OffsetGapGuard

class Signal:
    def connect(self, fun): pass

class App:
    on_partitions_revoked = Signal()

@dataclass
class M:
    tp: TP
    offset: int

async def main():
    g = OffsetGapGuard(App(), "agent-x")
    try:
        for o in (1, 2, 7):
            await g.admit(M(TP("t", 0), o))
    finally:
        print("finally ran")  # an ack would live here

asyncio.run(main())
print("survived")
"""
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=Path(__file__).resolve().parents[4],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == EXIT_GAP, done.stderr
    assert "finally ran" not in done.stdout and "survived" not in done.stdout
    assert "agent-x: the consumer skipped t[0] offsets 3..6" in done.stderr
