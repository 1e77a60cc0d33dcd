"""The PostgreSQL sink and migrations against the real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from schemas.events import CrossingEvent, OccupancyChanged, occupancy_change_id
from schemas.migrate import DatabaseTooNewError, available, migrate
from streams.sinks.postgres import PostgresSink
from tests.harness import Namespace

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def crossing(i: int) -> CrossingEvent:
    return CrossingEvent(
        id=uuid.uuid5(uuid.NAMESPACE_OID, f"c{i}"),
        camera_id="cam",
        line_id="door",
        track_id=i,
        frame_seq=i,
        direction="in" if i % 2 else "out",
        from_zone="outside",
        to_zone="hall",
        occurred_at=T0 + timedelta(seconds=i),
        config_version="test",
    )


def change(version: int, occupancy: int) -> OccupancyChanged:
    cause = uuid.uuid5(uuid.NAMESPACE_OID, f"cause{version}")
    return OccupancyChanged(
        id=occupancy_change_id("hall", cause),
        zone_id="hall",
        occupancy=occupancy,
        entries=version,
        exits=version - occupancy,
        version=version,
        at=T0 + timedelta(seconds=version),
        cause="crossing",
        cause_id=cause,
    )


async def test_redelivered_batches_change_nothing(namespace: Namespace):
    sink = PostgresSink(namespace.dsn)
    try:
        for i in range(100):
            sink.add(crossing(i))
        sink.add(change(1, 1))
        sink.add(change(2, 2))
        assert (await sink.flush()).written == 102
        # The same events again (a redelivery after a crash), plus an older change
        # arriving late: nothing may be duplicated and the newest version must win.
        for i in range(100):
            sink.add(crossing(i))
        sink.add(change(2, 2))
        sink.add(change(1, 1))
        await sink.flush()
        assert (await sink.flush()).written == 0  # nothing pending
    finally:
        await sink.close()
    with psycopg.connect(namespace.dsn) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT id) FROM crossings").fetchone() == (
            100,
            100,
        )
        assert conn.execute("SELECT count(*) FROM occupancy_samples").fetchone() == (2,)
        assert conn.execute(
            "SELECT occupancy, version FROM zone_occupancy WHERE zone_id = 'hall'"
        ).fetchone() == (2, 2)


async def test_failed_write_keeps_the_batch_for_a_retry(namespace: Namespace):
    from streams.sinks.base import SinkError

    sink = PostgresSink(namespace.dsn.rsplit("/", 1)[0] + "/no_such_database")
    sink.add(crossing(1))
    with pytest.raises(SinkError, match="1 crossings"):
        await sink.flush()
    assert len(sink) == 1  # still there: the caller retries, offsets stay uncommitted
    sink.dsn = namespace.dsn
    assert (await sink.flush()).written == 1
    await sink.close()


def test_migrations_rerun_is_a_noop_and_newer_database_is_refused(namespace: Namespace):
    assert migrate(namespace.dsn) == []  # the namespace was migrated already
    newest = max(v for v, _, _ in available())
    with psycopg.connect(namespace.dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (%s, 'from_the_future')",
            (newest + 1,),
        )
    with pytest.raises(DatabaseTooNewError, match="upgrade the code"):
        migrate(namespace.dsn)
