"""History requests: validation and bucket counting, without a database."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from api.history.buckets import (
    MAX_POINTS,
    Granularity,
    HistoryRequest,
    InvalidHistoryRequest,
    SubjectKind,
    UnknownSubject,
)
from schemas.config import load_plant_config
from tests.harness import ROOT

PLANT = load_plant_config(ROOT / "config" / "demo-plant.toml")
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def build(granularity=Granularity.HOUR, start=T0, end=T0 + timedelta(hours=3), **subject):
    return HistoryRequest.build(PLANT, granularity, start, end, **(subject or {"zone": "lobby"}))


def test_a_valid_request_is_normalised_to_utc():
    plus_one = timezone(timedelta(hours=1))
    r = build(start=datetime(2026, 3, 2, 9, 0, tzinfo=plus_one))
    assert (r.kind, r.subject_id, r.start) == (SubjectKind.ZONE, "lobby", T0)


@pytest.mark.parametrize(
    ("subject", "error", "text"),
    [
        ({}, InvalidHistoryRequest, "exactly one"),
        ({"zone": "lobby", "camera": "cam-north"}, InvalidHistoryRequest, "exactly one"),
        ({"zone": "no-such-zone"}, UnknownSubject, "unknown zone"),
        ({"camera": "cam-x"}, UnknownSubject, "unknown camera"),
        ({"line": "door-x"}, UnknownSubject, "unknown line"),
    ],
)
def test_subjects_are_checked(subject, error, text):
    with pytest.raises(error, match=text):
        HistoryRequest.build(PLANT, Granularity.HOUR, T0, T0 + timedelta(hours=1), **subject)


def test_naive_times_and_empty_ranges_are_refused():
    with pytest.raises(InvalidHistoryRequest, match="time zone offset"):
        build(start=datetime(2026, 3, 2, 8, 0))
    with pytest.raises(InvalidHistoryRequest, match="must be before"):
        build(end=T0)
    with pytest.raises(InvalidHistoryRequest, match="must be before"):
        build(end=T0 - timedelta(hours=1))


def test_too_many_buckets_are_refused_with_advice():
    with pytest.raises(InvalidHistoryRequest, match="coarser granularity"):
        build(Granularity.MINUTE, end=T0 + timedelta(minutes=MAX_POINTS + 1))
    assert build(Granularity.MINUTE, end=T0 + timedelta(minutes=MAX_POINTS)).subject_id


@pytest.mark.parametrize(
    ("granularity", "start", "end", "expected"),
    [
        (Granularity.MINUTE, T0, T0 + timedelta(minutes=10), 10),
        (Granularity.MINUTE, T0 + timedelta(seconds=30), T0 + timedelta(minutes=1, seconds=1), 2),
        (Granularity.HOUR, T0, T0 + timedelta(hours=1), 1),
        (Granularity.HOUR, T0 + timedelta(minutes=59), T0 + timedelta(minutes=61), 2),
        # Days in Berlin: 23:30 UTC on 1 March is already 2 March there.
        (
            Granularity.DAY,
            datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
            datetime(2026, 3, 2, 22, 0, tzinfo=UTC),
            1,
        ),
        (
            Granularity.MONTH,
            datetime(2025, 12, 31, tzinfo=UTC),
            datetime(2026, 3, 2, tzinfo=UTC),
            4,
        ),
    ],
)
def test_buckets_overlapping_the_range_are_counted_whole(granularity, start, end, expected):
    r = HistoryRequest(SubjectKind.ZONE, "lobby", start, end, granularity)
    assert r.bucket_count(ZoneInfo("Europe/Berlin")) == expected
