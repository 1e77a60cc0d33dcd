"""The sink's pure parts: what it refuses before I/O, and the derived columns."""

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import errors

from schemas.events import OccupancyChanged
from schemas.operations import OccupancyCalibrated
from streams.sinks.postgres import (
    _contiguous,
    _derive,
    _refused_for_content,
    _Stored,
    _ZoneState,
    refusal,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def change(version: int, occupancy: int, entries: int, exits: int, s: float) -> OccupancyChanged:
    return OccupancyChanged(
        id=uuid.uuid4(),
        zone_id="lobby",
        occupancy=occupancy,
        entries=entries,
        exits=exits,
        version=version,
        at=T0 + timedelta(seconds=s),
        cause="crossing",
        cause_id=uuid.uuid4(),
    )


def calibration(**fields) -> OccupancyCalibrated:
    base = {"id": uuid.uuid4(), "zone_id": "lobby", "occupancy": 3, "at": T0, "by": "anna"}
    return OccupancyCalibrated(**{**base, "reason": "counted", **fields})


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"reason": "a\x00b"}, "reason contains NUL"),
    ],
)
def test_text_postgres_cannot_hold_is_refused_before_io(fields, text):
    assert text in refusal(calibration(**fields))


def test_numbers_beyond_their_column_are_refused_before_io():
    too_many = change(1, 2**31, 2**31, 0, 0)
    assert "occupancy = 2147483648 is out of range for PostgreSQL integer" in refusal(too_many)


def test_good_events_are_not_refused():
    assert refusal(calibration(reason="line one\nline two, Grüße")) is None
    assert refusal(change(1, 1, 1, 0, 0)) is None


def test_only_content_errors_are_the_rows_fault():
    assert _refused_for_content(errors.NumericValueOutOfRange("x"))  # 22003
    assert _refused_for_content(errors.CheckViolation("x"))  # 23514
    assert not _refused_for_content(errors.AdminShutdown("x"))  # 57P01: retry the batch
    assert not _refused_for_content(errors.SerializationFailure("x"))  # 40001
    assert not _refused_for_content(psycopg.OperationalError("connection lost"))


def test_contiguity_follows_versions():
    state = _ZoneState(2, 1, 2, 1, T0, 1)
    assert _contiguous([change(3, 2, 3, 1, 5), change(4, 1, 3, 2, 6)], state)
    assert not _contiguous([change(4, 1, 3, 2, 6)], state)  # version 3 missing
    assert _contiguous([change(1, 1, 1, 0, 0)], None)
    assert not _contiguous([change(3, 2, 3, 1, 5)], _ZoneState(2, 1, 2, 1, None, 0))


def test_derived_increments_and_levels_of_a_new_zone():
    changes = [change(1, 1, 1, 0, 0), change(2, 2, 2, 0, 1), change(3, 1, 2, 1, 2)]
    d = _derive(changes, None, [])
    # (delta, entered, exited, level) after the sample columns
    assert [r[-4:] for r in d.rows] == [(1, 1, 0, 1), (1, 1, 0, 2), (-1, 0, 1, 1)]
    assert (d.tail_at, d.tail_level, d.moved) == (changes[-1].at, 1, [])


def test_changes_at_one_instant_share_the_level_after_all_of_them():
    changes = [change(1, 1, 1, 0, 0), change(2, 2, 2, 0, 0)]
    assert [r[-1] for r in _derive(changes, None, []).rows] == [2, 2]


def test_a_late_change_moves_the_levels_of_stored_rows_after_it():
    # Stored: +1 at 10 s (level 1). New: +1 at 5 s, arriving later (version 2).
    stored = [_Stored(uuid.uuid4(), T0 + timedelta(seconds=10), 1, 1)]
    state = _ZoneState(1, 1, 1, 0, T0 + timedelta(seconds=10), 1)
    d = _derive([change(2, 2, 2, 0, 5)], state, stored)
    assert d.rows[0][-1] == 1  # level at 5 s
    assert d.moved == [(stored[0].id, stored[0].at, 2)]  # the 10 s row now reads 2
    assert d.tail_level == 2
