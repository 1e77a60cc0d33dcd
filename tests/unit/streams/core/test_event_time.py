from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from streams.core.alerts import CameraLiveness
from streams.core.event_time import ReceiveClock, Watermark, next_local_time

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("after", "local", "expected_utc"),
    [
        # An ordinary night: 03:00 CET is 02:00 UTC.
        ("2026-01-10T12:00:00+00:00", time(3), "2026-01-11T02:00:00+00:00"),
        # Exactly at the instant: the next one is a day later.
        ("2026-01-11T02:00:00+00:00", time(3), "2026-01-12T02:00:00+00:00"),
        # Spring forward (29 March 2026, 02:00 -> 03:00): 03:00 CEST is 01:00 UTC.
        ("2026-03-28T12:00:00+00:00", time(3), "2026-03-29T01:00:00+00:00"),
        # 02:30 does not exist that night: it happens when the clock jumps.
        ("2026-03-28T12:00:00+00:00", time(2, 30), "2026-03-29T01:00:00+00:00"),
        # Fall back (25 October 2026, 03:00 -> 02:00): 03:00 CET is 02:00 UTC.
        ("2026-10-24T12:00:00+00:00", time(3), "2026-10-25T02:00:00+00:00"),
        # 02:30 happens twice: the first time (CEST) counts, once.
        ("2026-10-24T12:00:00+00:00", time(2, 30), "2026-10-25T00:30:00+00:00"),
        ("2026-10-25T00:30:00+00:00", time(2, 30), "2026-10-26T01:30:00+00:00"),
    ],
)
def test_next_local_time_across_daylight_saving(after, local, expected_utc):
    got = next_local_time(datetime.fromisoformat(after), local, BERLIN)
    assert got == datetime.fromisoformat(expected_utc)
    assert got.tzinfo == UTC


def test_watermark_follows_event_time_minus_lateness():
    w = Watermark(lateness_s=5.0, idle_after_s=30.0)
    assert w.value(wall_now=100.0) == 0.0
    w.observe(1000.0, wall_now=100.0)
    w.observe(990.0, wall_now=101.0)  # out of order: never moves it back
    assert w.value(wall_now=101.0) == 995.0
    assert w.is_late(994.0, wall_now=101.0) and not w.is_late(996.0, wall_now=101.0)


def test_watermark_moves_with_the_wall_clock_when_everything_is_silent():
    w = Watermark(lateness_s=5.0, idle_after_s=30.0)
    w.observe(1000.0, wall_now=100.0)
    assert w.value(wall_now=120.0) == 995.0  # idle, but not for long
    assert w.value(wall_now=160.0) == 995.0 + 60.0


def test_watermark_is_held_back_by_the_slowest_active_partition():
    w = Watermark(lateness_s=0.0, idle_after_s=30.0)
    w.observe(2000.0, wall_now=100.0, partition=0)  # ahead
    w.observe(1000.0, wall_now=100.0, partition=1)  # behind
    assert w.value(wall_now=110.0) == 1000.0
    # Partition 1 goes silent (a dead camera alone on it): after 30 s it stops
    # holding the others back.
    w.observe(2010.0, wall_now=140.0, partition=0)
    assert w.value(wall_now=140.0) == 2010.0


def test_watermark_never_moves_back_when_an_idle_partition_wakes_up():
    wm = Watermark(lateness_s=0.0, idle_after_s=10.0)
    wm.observe(100.0, wall_now=0.0, partition=0)
    wm.observe(500.0, wall_now=0.0, partition=1)
    assert wm.value(wall_now=20.0) == 500.0 + 20.0  # both idle: follows the wall clock
    wm.observe(101.0, wall_now=21.0, partition=0)  # partition 0 is back, far behind
    assert wm.value(wall_now=21.0) == 520.0  # held, not moved back to 101


def test_watermark_forgets_revoked_partitions():
    wm = Watermark(lateness_s=0.0, idle_after_s=10.0)
    wm.observe(100.0, wall_now=0.0, partition=0)
    wm.observe(200.0, wall_now=0.0, partition=1)
    assert wm.value(wall_now=1.0) == 100.0
    wm.forget([0])  # another worker owns partition 0 now
    assert wm.value(wall_now=1.0) == 200.0


def test_cameras_of_revoked_partitions_raise_no_offline_alerts():
    live = CameraLiveness(offline_after_s=30.0)
    live.seen("cam-moved", 1000.0)
    live.seen("cam-kept", 1000.0)
    live.forget(["cam-moved"])
    live.seen("cam-kept", 1100.0)
    assert [a.subject_id for a in live.check(watermark=1100.0)] == []


# ------------------------------------------------ the receive clock (broker outages)


def test_the_receive_clock_stops_while_nothing_is_heard_and_goes_on_without_a_jump():
    clock = ReceiveClock(grace_s=10)
    clock.heard(100.0)
    assert clock.now(105.0) == 105.0  # heard lately: the wall clock
    assert clock.now(110.0) == clock.now(160.0) == 110.0  # stopped after the grace
    clock.heard(160.0)  # records again, 60 s after the last
    assert clock.stopped_s == 50.0
    assert clock.now(160.0) == 110.0  # on from where it stopped
    assert clock.now(161.0) == 111.0


def test_a_broker_outage_longer_than_the_idle_time_makes_no_camera_look_silent():
    for receive_clock in (False, True):
        wm = Watermark(lateness_s=5, idle_after_s=30)
        liveness = CameraLiveness(offline_after_s=10)
        receive = ReceiveClock(grace_s=10)
        for i in range(11):  # cameras a and b, on two partitions, wall 0..10
            receive.heard(float(i))
            wall = receive.now(float(i)) if receive_clock else float(i)
            for partition, cam in enumerate("ab"):
                wm.observe(1000.0 + i, wall, partition)
                liveness.seen(cam, 1000.0 + i)
        # The broker is down from wall 10 to 70: nothing is heard.
        wall = receive.now(70.0) if receive_clock else 70.0
        offline = liveness.check(wm.value(wall))
        if receive_clock:
            assert wm.value(wall) == 1005.0 and offline == []
        else:  # the plain wall clock calls the outage silence
            assert {a.subject_id for a in offline} == {"a", "b"}
