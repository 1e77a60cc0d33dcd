"""No poison pills: the sink stores what it can, rejects what it cannot, loses nothing.

Against the real PostgreSQL: events the database refuses for their content
come back as rejections with their origin while the rest of the batch is
stored; transient failures (a terminated backend) are retried without loss.
Without services: the agent parses anything without crashing, and never lets
Faust's ``take_events`` ack a batch it did not store.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, datetime, timedelta

import faust
import psycopg
import pytest

import streams.sinks.postgres as postgres
from schemas.events import CrossingEvent, OccupancyChanged, occupancy_change_id
from schemas.operations import AlertRaised, OccupancyCalibrated
from streams.sinks.base import Flushed, SinkError
from streams.sinks.postgres import PostgresSink
from tests.harness import ROOT, Namespace

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def crossing(i: int, **changes: object) -> CrossingEvent:
    event = CrossingEvent(
        id=uuid.uuid5(uuid.NAMESPACE_OID, f"poison-c{i}"),
        camera_id="cam",
        line_id="door",
        track_id=i,
        frame_seq=i,
        direction="in",
        from_zone="outside",
        to_zone="hall",
        occurred_at=T0 + timedelta(seconds=i),
        config_version="test",
    )
    # model_construct: values the schema would refuse, to reach the database.
    return CrossingEvent.model_construct(**{**event.__dict__, **changes})


def change(zone: str, version: int, occupancy: int, entries: int) -> OccupancyChanged:
    cause = uuid.uuid5(uuid.NAMESPACE_OID, f"poison-cause-{zone}-{version}")
    return OccupancyChanged(
        id=occupancy_change_id(zone, cause),
        zone_id=zone,
        occupancy=occupancy,
        entries=entries,
        exits=entries - occupancy,
        version=version,
        at=T0 + timedelta(seconds=version),
        cause="crossing",
        cause_id=cause,
    )


def calibration(i: int, by: str = "anna", reason: str = "counted") -> OccupancyCalibrated:
    return OccupancyCalibrated(
        id=uuid.uuid5(uuid.NAMESPACE_OID, f"poison-cal{i}"),
        zone_id="hall",
        occupancy=3,
        at=T0 + timedelta(minutes=i),
        by=by,
        reason=reason,
    )


def alert(message: str) -> AlertRaised:
    return AlertRaised(
        id=uuid.uuid4(),
        alert_id=uuid.uuid4(),
        kind="capacity_warning",
        severity="warning",
        subject_type="zone",
        subject_id="hall",
        message=message,
        at=T0,
    )


def counting_writes(sink: PostgresSink, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every write attempt (the whole batch, or a bisected part)."""
    sizes: list[int] = []
    store = sink._store

    async def counted(conn, batch):
        sizes.append(len(batch))
        await store(conn, batch)

    monkeypatch.setattr(sink, "_store", counted)
    return sizes


def db(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


def terminate(pid: int, dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)


async def test_rows_the_database_refuses_are_rejected_and_the_rest_stored(
    namespace: Namespace, monkeypatch: pytest.MonkeyPatch
):
    # Switch the cheap checks off: this is the safety net at the database.
    monkeypatch.setattr(postgres, "refusal", lambda event: None)
    sink: PostgresSink[str] = PostgresSink(namespace.dsn)
    writes = counting_writes(sink, monkeypatch)
    bad = {
        # NUL in a COPYed text column: the server refuses it (22021).
        "nul-copy": crossing(100, config_version="v\x00"),
        # A CHECK constraint (23514): direction must be in or out.
        "check": crossing(101, direction="sideways"),
        # The incident: NUL in a calibration's reason (psycopg refuses to send it).
        "nul-param": calibration(1, reason="a\x00b"),
        # Entries jumping by 2**40 in one change: the derived increment overflows integer.
        "overflow": change("yard", 1, 0, 2**40),
    }
    try:
        for i in range(15):
            sink.add(crossing(i), f"c{i}")
        sink.add(bad["nul-copy"], "nul-copy")
        sink.add(change("hall", 1, 1, 1), "h1")
        sink.add(bad["check"], "check")
        for i in range(15, 30):
            sink.add(crossing(i), f"c{i}")
        sink.add(bad["nul-param"], "nul-param")
        sink.add(change("hall", 2, 2, 2), "h2")
        sink.add(calibration(2), "cal2")
        sink.add(bad["overflow"], "overflow")
        sink.add(change("hall", 3, 1, 2), "h3")
        flushed = await sink.flush()

        assert flushed.written == 34
        assert [r.origin for r in flushed.rejected] == [
            "nul-copy",
            "check",
            "nul-param",
            "overflow",
        ]
        assert [r.item for r in flushed.rejected] == list(bad.values())
        reasons = {r.origin: r.reason for r in flushed.rejected}
        assert "22021" in reasons["nul-copy"] and "0x00" in reasons["nul-copy"]
        assert "23514" in reasons["check"]
        assert "NUL" in reasons["nul-param"]
        assert "22003" in reasons["overflow"] and "entered" in reasons["overflow"]
        # Bisected, not one event at a time: 38 events, 4 bad.
        assert 1 < len(writes) < 38

        assert db(namespace.dsn, "SELECT count(*) FROM crossings") == [(30,)]
        assert db(
            namespace.dsn, "SELECT version, delta, level FROM occupancy_samples ORDER BY version"
        ) == [
            (1, 1, 1),
            (2, 1, 2),
            (3, -1, 1),
        ]
        assert db(namespace.dsn, "SELECT zone_id, version FROM zone_occupancy") == [("hall", 3)]
        assert db(namespace.dsn, "SELECT reason FROM commands") == [("counted",)]

        # Nothing stalls behind them: the next batch is one write, all stored.
        writes.clear()
        for i in range(30, 40):
            sink.add(crossing(i), f"c{i}")
        sink.add(change("hall", 4, 2, 3), "h4")
        assert await sink.flush() == Flushed(11, [])
        assert writes == [11]
        assert db(namespace.dsn, "SELECT count(*) FROM crossings") == [(40,)]
        assert db(namespace.dsn, "SELECT occupancy, version FROM zone_occupancy") == [(2, 4)]
    finally:
        await sink.close()


async def test_cheap_checks_reject_before_the_database(
    namespace: Namespace, monkeypatch: pytest.MonkeyPatch
):
    sink: PostgresSink[str] = PostgresSink(namespace.dsn)
    writes = counting_writes(sink, monkeypatch)
    try:
        sink.add(crossing(1), "c1")
        sink.add(calibration(1, reason="a\x00b"), "nul")
        sink.add(crossing(2, track_id=2**63), "int8")
        sink.add(change("hall", 1, 2**31, 2**31), "int4")
        sink.add(alert("over \ud800 capacity"), "surrogate")
        sink.add(crossing(3, config_version="\x00"), "nul-copy")
        sink.add(calibration(2), "cal2")
        flushed = await sink.flush()
    finally:
        await sink.close()
    assert flushed.written == 2
    assert {r.origin: r.reason for r in flushed.rejected} == {
        "nul": "reason contains NUL (U+0000), which PostgreSQL text cannot hold",
        "int8": f"track_id = {2**63} is out of range for PostgreSQL bigint",
        "int4": f"occupancy = {2**31} is out of range for PostgreSQL integer",
        "surrogate": "message is not valid Unicode text (it holds a lone surrogate)",
        "nul-copy": "config_version contains NUL (U+0000), which PostgreSQL text cannot hold",
    }
    assert writes == [2]  # one write, no bisecting: the database never saw them
    assert db(namespace.dsn, "SELECT count(*) FROM crossings") == [(1,)]
    assert db(namespace.dsn, "SELECT count(*) FROM commands") == [(1,)]


async def test_a_terminated_connection_is_retried_and_nothing_is_lost(
    namespace: Namespace, monkeypatch: pytest.MonkeyPatch
):
    sink: PostgresSink[str] = PostgresSink(namespace.dsn)
    try:
        sink.add(crossing(0), "c0")
        await sink.flush()  # connected
        write_samples = sink._write_samples
        kills = []

        async def killed_midway(conn, rows, rollups):
            # The crossings of this transaction are written; now the server ends it.
            if not kills:
                kills.append(conn.info.backend_pid)
                terminate(conn.info.backend_pid, namespace.dsn)
            return await write_samples(conn, rows, rollups)

        monkeypatch.setattr(sink, "_write_samples", killed_midway)
        for i in range(1, 21):
            sink.add(crossing(i), f"c{i}")
        sink.add(change("hall", 1, 1, 1), "h1")
        sink.add(calibration(1), "cal1")
        with pytest.raises(SinkError, match="20 crossings, 1 occupancy changes and 1"):
            await sink.flush()
        assert len(sink) == 22  # all kept for the retry
        assert db(namespace.dsn, "SELECT count(*) FROM crossings") == [(1,)]  # rolled back
        assert await sink.flush() == Flushed(22, [])  # a new connection
        assert db(namespace.dsn, "SELECT count(*), count(DISTINCT id) FROM crossings") == [(21, 21)]
        assert db(namespace.dsn, "SELECT count(*) FROM occupancy_samples") == [(1,)]
        assert db(namespace.dsn, "SELECT count(*) FROM commands") == [(1,)]

        # A failure while bisecting a refused batch: nothing of it commits, all retried.
        monkeypatch.setattr(sink, "_write_samples", write_samples)
        store = sink._store
        attempts = []

        async def killed_while_sifting(conn, batch):
            attempts.append(len(batch))
            if len(attempts) == 2:  # the first half, after the whole was refused
                terminate(conn.info.backend_pid, namespace.dsn)
            await store(conn, batch)

        monkeypatch.setattr(sink, "_store", killed_while_sifting)
        for i in range(21, 31):
            sink.add(crossing(i), f"c{i}")
        sink.add(crossing(99, direction="sideways"), "check")
        with pytest.raises(SinkError):
            await sink.flush()
        assert len(sink) == 11
        assert db(namespace.dsn, "SELECT count(*) FROM crossings") == [(21,)]
        flushed = await sink.flush()
        assert flushed.written == 10 and [r.origin for r in flushed.rejected] == ["check"]
        assert db(namespace.dsn, "SELECT count(*) FROM crossings") == [(31,)]
    finally:
        await sink.close()


# -- The agent, without services ------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        None,
        b"\xff\xfe",
        b"[]",
        b"null",
        b'"x"',
        b'{"type": []}',
        b'{"type": "Nope"}',
        b"{}",
        b'{"type": "CrossingEvent", "id": "no"}',
    ],
)
def test_any_bytes_parse_or_become_not_storable(raw):
    from streams.agents.sink import NotStorable, parse

    with pytest.raises(NotStorable, match="not a storable event"):
        parse(raw)


class FakeSink:
    """Stores by counting; raises (a bug) or hangs on chosen flushes."""

    def __init__(self, fail_on: int | None = None, hang_on: int | None = None) -> None:
        self.pending = self.added = self.flushes = 0
        self.fail_on, self.hang_on = fail_on, hang_on

    def add(self, event, origin):
        self.pending += 1
        self.added += 1

    async def flush(self):
        self.flushes += 1
        if self.flushes == self.fail_on:
            raise RuntimeError("a bug in the sink")
        if self.flushes == self.hang_on:
            await asyncio.Event().wait()
        written, self.pending = self.pending, 0
        return Flushed(written, [])


def event_bytes(i: int) -> bytes:
    return crossing(i).model_dump_json().encode()


async def run_agent(sink: FakeSink, *, stop_after: float = 5.0, offsets=range(6)):
    """``consume`` over a real Faust stream in batches of 3, until all 6 events are acked,
    ``stop`` is called, or ``stop_after`` seconds have passed; then the worker stops.

    Returns what ``stop`` was called with, the offsets acked by then, and the
    offsets acked in the end (after the stream and agent stopped).
    """
    from streams.agents.sink import consume

    app = faust.App(f"poison-{uuid.uuid4().hex[:6]}", store="memory://", web_enabled=False)
    acked: list[int] = []
    stopped: list[tuple[BaseException, list[int]]] = []

    class Stopped(Exception):
        pass

    def stop(exc: BaseException):
        # os._exit in production: record what was acked by then, then leave.
        stopped.append((exc, list(acked)))
        raise Stopped

    @app.agent(value_type=bytes, value_serializer="raw")
    async def agent(stream):
        ack = stream.ack

        async def recording_ack(event):
            acked.append(event.message.offset)
            return await ack(event)

        stream.ack = recording_ack
        await consume(stream, sink, size=3, within=0.2, stop=stop)

    async with agent.test_context() as running:
        for i in offsets:
            running.sent_offset = i
            await running.put(event_bytes(i), wait=False)
        for _ in range(int(stop_after / 0.05)):
            if stopped or len(acked) == len(offsets):
                break
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)
    return stopped, acked


async def test_the_agent_acks_stored_batches():
    sink = FakeSink()
    stopped, acked = await run_agent(sink)
    assert stopped == [] and acked == [0, 1, 2, 3, 4, 5] and sink.flushes == 2


async def test_an_unexpected_error_stops_the_agent_before_the_batch_is_acked():
    stopped, acked = await run_agent(FakeSink(fail_on=2))
    [(exc, acked_by_then)] = stopped
    assert isinstance(exc, RuntimeError)
    assert acked_by_then == [0, 1, 2]  # the first batch only
    assert acked == [0, 1, 2]  # and nothing else, even once the stream has stopped


async def test_stopping_while_a_batch_waits_for_the_database_does_not_ack_it():
    # The worker stops (stream closed, agent cancelled) while flush hangs, as in
    # an outage: a graceful stop, and the batch stays unacked for the restart.
    stopped, acked = await run_agent(FakeSink(hang_on=2), stop_after=1.0)
    assert stopped == []
    assert acked == [0, 1, 2]


async def test_messages_after_an_offset_gap_are_neither_stored_nor_acked(monkeypatch):
    import streams.agents.sink as agent_module
    from streams.runtime.gaps import OffsetGapGuard

    gaps = []
    guard = OffsetGapGuard(faust.App("poison-gaps"), "t", on_gap=lambda *gap: gaps.append(gap))
    monkeypatch.setattr(agent_module, "_guard", guard)
    sink = FakeSink()
    stopped, acked = await run_agent(sink, stop_after=1.0, offsets=[0, 1, 2, 5, 6, 7])
    assert stopped == [] and len(gaps) == 3
    assert acked == [0, 1, 2] and sink.added == 3


def test_the_real_stop_exits_70_without_acking():
    """The production ``stop`` (``os._exit``), in a child process: nothing after it runs."""
    script = textwrap.dedent(
        """
        import asyncio, sys
        import faust
        from streams.agents.sink import consume
        from tests.integration.test_sink_poison import FakeSink, event_bytes

        app = faust.App("poison-exit", store="memory://", web_enabled=False)

        @app.agent(value_type=bytes, value_serializer="raw")
        async def agent(stream):
            ack = stream.ack

            async def recording_ack(event):
                print("acked", event.message.offset, flush=True)
                return await ack(event)

            stream.ack = recording_ack
            await consume(stream, FakeSink(fail_on=2), size=3, within=0.2)

        async def main():
            async with agent.test_context() as running:
                for i in range(6):
                    await running.put(event_bytes(i), wait=False)
                await asyncio.sleep(5)
            print("not stopped", flush=True)

        asyncio.run(main())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 70, result.stdout + result.stderr
    assert result.stdout.split("\n") == ["acked 0", "acked 1", "acked 2", ""]
    assert "unexpected RuntimeError('a bug in the sink')" in result.stderr
