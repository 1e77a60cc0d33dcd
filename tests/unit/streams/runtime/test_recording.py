"""The recorder between "handled" and "recorded and acked" (streams.runtime.recording)."""

from __future__ import annotations

from types import SimpleNamespace

from faust.types import TP

from streams.runtime.recording import Recorder

A, B = TP("detections.v1", 0), TP("detections.v1", 1)


class Event:
    """What the recorder reads of a Faust event (weak-referenceable, as Faust's are)."""

    def __init__(self, tp: TP, offset: int) -> None:
        self.message = SimpleNamespace(tp=tp, partition=tp.partition, offset=offset)


def event(tp: TP, offset: int) -> Event:
    return Event(tp, offset)


class App:
    def __init__(self, *assigned: TP) -> None:
        self.assigned = set(assigned)
        self.consumer = SimpleNamespace(assignment=lambda: self.assigned)


def recorder(app: App, table: dict, written: list | None = None) -> Recorder:
    out = written if written is not None else []
    return Recorder(
        app,  # type: ignore[arg-type]
        table,  # type: ignore[arg-type]
        interval_s=0.5,
        written=lambda k, v: out.append((k, v)),
    )


def test_events_wait_until_their_partition_is_recorded_then_come_back_in_offset_order():
    table: dict = {}
    written: list = []
    r = recorder(App(A, B), table, written)
    state = {"cam-1": 1}
    r.handled([event(A, 0), event(B, 0), event(A, 1)], now=0.0)
    r.changed("cam-1", lambda: {"n": state["cam-1"]}, event(A, 1))
    assert r.due(now=0.4) == [] and table == {} and r.waiting() == 3
    state["cam-1"] = 2  # the state as it is when the partition is recorded
    r.handled([event(A, 2)], now=0.45)
    r.changed("cam-1", lambda: {"n": state["cam-1"]}, event(A, 2))
    done = r.due(now=0.5)
    assert [(e.message.tp, e.message.offset) for e in done] == [(A, 0), (A, 1), (A, 2), (B, 0)]
    assert table == {"cam-1": {"n": 2}} and written == [("cam-1", {"n": 2})]  # written once
    assert r.waiting() == 0


def test_a_partition_is_recorded_at_most_every_interval():
    r = recorder(App(A), {})
    r.handled([event(A, 0)], now=0.0)
    assert len(r.due(now=0.6)) == 1
    r.handled([event(A, 1)], now=0.7)
    assert r.due(now=0.9) == []  # recorded at 0.6: next at 1.1
    assert [e.message.offset for e in r.due(now=1.1)] == [1]


def test_revoked_or_unassigned_partitions_are_neither_recorded_nor_acked():
    table: dict = {}
    app = App(A, B)
    r = recorder(app, table)
    r.handled([event(A, 0), event(B, 0)], now=0.0)
    r.changed("cam-a", lambda: 1, event(A, 0))
    r.changed("cam-b", lambda: 2, event(B, 0))
    r.forget([A])
    app.assigned = set()  # B was taken away before it fell due
    assert r.due(now=1.0) == [] and table == {} and r.waiting() == 0
