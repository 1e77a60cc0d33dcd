"""A camera's operator status from its newest heartbeat, and the dashboard timeframes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api.cameras.status import MIN_STALE_S, camera_status
from api.history.buckets import Granularity
from api.history.timeframes import Timeframe, timeframe_range
from producers.publish import PlayedCamera

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def beat(age_s: float, status: str = "online", interval_s: float = 5.0):
    b = PlayedCamera("cam-north", "simulation", NOW).beat("online")
    return b.model_copy(
        update={"at": NOW - timedelta(seconds=age_s), "status": status, "interval_s": interval_s}
    )


def test_no_heartbeat_is_unknown_and_a_fresh_one_says_what_the_producer_says() -> None:
    assert camera_status(None, NOW) == "unknown"
    assert camera_status(beat(1), NOW) == "online"
    assert camera_status(beat(1, "reconnecting"), NOW) == "reconnecting"
    assert camera_status(beat(1, "starting"), NOW) == "starting"


@pytest.mark.parametrize("status", ["ended", "failed", "stopped"])
def test_a_producer_that_ended_failed_or_stopped_is_offline(status: str) -> None:
    assert camera_status(beat(1, status), NOW) == "offline"


def test_a_heartbeat_older_than_three_intervals_is_offline_but_never_within_the_floor() -> None:
    assert camera_status(beat(14.9, interval_s=5), NOW) == "online"
    assert camera_status(beat(15.1, interval_s=5), NOW) == "offline"
    assert camera_status(beat(89, interval_s=30), NOW) == "online"
    assert camera_status(beat(91, interval_s=30), NOW) == "offline"
    # A 1 s interval: three intervals would be 3 s; the floor keeps it online.
    assert camera_status(beat(MIN_STALE_S - 1, interval_s=1), NOW) == "online"


def test_today_is_the_local_calendar_day_in_hours_even_on_a_dst_day() -> None:
    # 2026-03-29 is the spring-forward day in Berlin: 23 hours long.
    r = timeframe_range(Timeframe.TODAY, NOW, BERLIN)
    assert r.start == datetime(2026, 3, 29, tzinfo=BERLIN)
    assert r.start.astimezone(UTC) == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert r.end.astimezone(UTC) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert r.end.astimezone(UTC) - r.start.astimezone(UTC) == timedelta(hours=23)
    assert r.granularity is Granularity.HOUR


def test_today_follows_the_plant_zone_not_utc() -> None:
    late = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)  # already 2 July in Berlin
    r = timeframe_range(Timeframe.TODAY, late, BERLIN)
    assert r.start == datetime(2026, 7, 2, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("frame", "start", "end", "granularity"),
    [
        (Timeframe.LAST_7_DAYS, datetime(2026, 3, 23), datetime(2026, 3, 30), Granularity.HOUR),
        (Timeframe.LAST_30_DAYS, datetime(2026, 2, 28), datetime(2026, 3, 30), Granularity.DAY),
        (Timeframe.THIS_MONTH, datetime(2026, 3, 1), datetime(2026, 4, 1), Granularity.DAY),
        (Timeframe.THIS_YEAR, datetime(2026, 1, 1), datetime(2027, 1, 1), Granularity.MONTH),
    ],
)
def test_longer_timeframes_start_at_local_midnight_and_end_with_their_period(
    frame: Timeframe, start: datetime, end: datetime, granularity: Granularity
) -> None:
    r = timeframe_range(frame, NOW, BERLIN)
    assert (r.start, r.end, r.granularity) == (
        start.replace(tzinfo=BERLIN),
        end.replace(tzinfo=BERLIN),
        granularity,
    )


def test_this_month_in_december_ends_at_new_year() -> None:
    r = timeframe_range(Timeframe.THIS_MONTH, datetime(2026, 12, 15, tzinfo=UTC), BERLIN)
    assert r.end == datetime(2027, 1, 1, tzinfo=BERLIN)


def test_played_cameras_beat_every_interval_of_capture_time_with_their_frame_rate() -> None:
    from schemas.events import FrameDetections

    cam = PlayedCamera("cam-north", "simulation", NOW)
    due = []
    for i in range(101):  # 10 s at 10 fps
        frame = FrameDetections(
            camera_id="cam-north",
            frame_seq=i,
            captured_at=NOW + timedelta(seconds=i / 10),
            frame_width=1280,
            frame_height=720,
        )
        if cam.seen(frame):
            due.append(i)
            b = cam.beat("online")
    assert due == [0, 50, 100]
    assert b.frames_published == 101 and b.processed_fps == pytest.approx(10.0)
    assert b.last_frame_at == NOW + timedelta(seconds=10)
    # A last beat right after a due one keeps the rate (no frame since: no new measure).
    assert cam.beat("ended").processed_fps == pytest.approx(10.0)
