"""The offset-gap guard, with a stand-in for the Faust consumer."""

from __future__ import annotations

from dataclasses import dataclass, field

from faust.types import TP

from streams.agents.gaps import OffsetGapGuard


@dataclass
class Signal:
    handlers: list = field(default_factory=list)

    def connect(self, fun):
        self.handlers.append(fun)


@dataclass
class Consumer:
    seeks: list = field(default_factory=list)

    async def seek(self, tp, offset):
        self.seeks.append((tp, offset))


@dataclass
class App:
    consumer: Consumer = field(default_factory=Consumer)
    on_partitions_revoked: Signal = field(default_factory=Signal)


@dataclass
class Message:
    tp: TP
    offset: int


TP0 = TP("zone-deltas.v1", 0)


async def feed(guard, offsets):
    return [o for o in offsets if await guard.admit(Message(TP0, o))]


async def test_consecutive_offsets_pass():
    guard = OffsetGapGuard(App(), "t")
    assert await feed(guard, [5, 6, 7]) == [5, 6, 7]
    assert guard.repairs == 0


async def test_a_skipped_range_is_reported_and_nothing_is_held_back():
    app = App()
    guard = OffsetGapGuard(app, "t")
    admitted = await feed(guard, [15, 16, 20, 21])
    assert admitted == [15, 16, 20, 21]
    assert guard.repairs == 1 and app.consumer.seeks == []


async def test_a_replay_after_a_rebalance_is_followed():
    app = App()
    guard = OffsetGapGuard(app, "t")
    assert await feed(guard, [10, 11, 12]) == [10, 11, 12]
    assert await feed(guard, [8, 9, 10]) == [8, 9, 10]  # seek back to committed offsets
    for handler in app.on_partitions_revoked.handlers:
        handler(app, set())
    assert await feed(guard, [40, 41]) == [40, 41]  # new assignment: no false gap
    assert guard.repairs == 0
