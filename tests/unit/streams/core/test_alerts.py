import uuid
from datetime import UTC, datetime, timedelta

from schemas.config import ZoneConfig
from schemas.events import OccupancyChanged
from schemas.operations import AlertRaised, AlertResolved, OccupancyCalibrated
from streams.core.alerts import CameraLiveness, ZoneAlerts
from streams.core.zones import ZoneOccupancy

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def changes(occupancies, cause="crossing", clamped=False):
    for i, occ in enumerate(occupancies):
        yield OccupancyChanged(
            id=uuid.uuid4(),
            zone_id="room",
            occupancy=occ,
            entries=0,
            exits=0,
            version=i + 1,
            at=T0 + timedelta(seconds=i),
            cause=cause,
            cause_id=uuid.uuid4(),
            clamped=clamped,
        )


def run(zone, occupancies):
    alerts = ZoneAlerts(zone)
    return [a for c in changes(occupancies) for a in alerts.apply(c)]


ROOM = ZoneConfig(id="room", capacity=10, warning_ratio=0.8, hysteresis_ratio=0.2)


def kinds(events):
    return [(type(e).__name__, e.kind) for e in events]


def test_oscillating_around_a_threshold_raises_once():
    # Warning at >= 8, resolves below 8 - 2 = 6.
    events = run(ROOM, [7, 8, 7, 8, 7, 8, 7, 6, 5])
    assert kinds(events) == [
        ("AlertRaised", "capacity_warning"),
        ("AlertResolved", "capacity_warning"),
    ]
    assert events[0].alert_id == events[1].alert_id
    assert events[1].at == T0 + timedelta(seconds=8)  # the change to 5


def test_exceeded_raises_and_resolves_once_per_threshold():
    # Exceeded above 10, resolves at <= 10 - 2 = 8.
    events = run(ROOM, [9, 11, 10, 11, 9, 8, 3])
    assert kinds(events) == [
        ("AlertRaised", "capacity_warning"),
        ("AlertRaised", "capacity_exceeded"),
        ("AlertResolved", "capacity_exceeded"),
        ("AlertResolved", "capacity_warning"),
    ]


def test_zone_without_capacity_raises_no_capacity_alerts():
    assert run(ZoneConfig(id="room"), [100, 1000]) == []


def test_exit_from_empty_zone_is_drift_and_a_calibration_resolves_it():
    alerts = ZoneAlerts(ROOM)
    (clamped,) = changes([0], clamped=True)
    (raised,) = alerts.apply(clamped)
    assert isinstance(raised, AlertRaised) and raised.kind == "drift_negative"
    zone = ZoneOccupancy("room")
    cal = OccupancyCalibrated(
        id=uuid.uuid4(), zone_id="room", occupancy=3, at=T0, by="anna", reason="counted"
    )
    (change,) = zone.apply(cal)
    assert change.cause == "calibration" and change.occupancy == 3
    (resolved,) = alerts.apply(change)
    assert isinstance(resolved, AlertResolved) and resolved.alert_id == raised.alert_id


def test_not_empty_at_reset_is_flagged_and_cleared_when_empty_next_time():
    alerts = ZoneAlerts(ROOM)
    (raised,) = alerts.before_reset(4, at=1000.0)
    assert raised.kind == "drift_not_empty" and raised.value == 4
    assert alerts.before_reset(2, at=2000.0) == []  # still raised: no duplicate
    (resolved,) = alerts.before_reset(0, at=3000.0)
    assert resolved.alert_id == raised.alert_id


def test_alert_state_round_trip():
    alerts = ZoneAlerts(ROOM)
    for c in changes([9]):
        alerts.apply(c)
    restored = ZoneAlerts(ROOM)
    restored.load_state(alerts.state_dict())
    resolved = [a for c in changes([1]) for a in restored.apply(c)]
    assert kinds(resolved) == [("AlertResolved", "capacity_warning")]


def test_camera_offline_and_back_online():
    live = CameraLiveness(offline_after_s=30.0)
    live.seen("cam-a", 1000.0)
    live.seen("cam-b", 1000.0)
    assert live.check(watermark=1020.0) == []
    live.seen("cam-b", 1040.0)
    (raised,) = live.check(watermark=1040.0)
    assert raised.kind == "camera_offline" and raised.subject_id == "cam-a"
    assert live.check(watermark=1050.0) == []  # once
    (resolved,) = live.seen("cam-a", 1051.0)
    assert resolved.alert_id == raised.alert_id
    # The same silence seen again (a restarted worker) gives the same alert id.
    again = CameraLiveness(offline_after_s=30.0)
    again.seen("cam-a", 1000.0)
    assert again.check(watermark=1040.0)[0].alert_id == raised.alert_id


def test_a_gap_in_a_cameras_own_frames_is_an_outage_in_hindsight():
    live = CameraLiveness(offline_after_s=30.0)
    live.seen("cam-a", 1000.0)
    assert live.seen("cam-a", 1020.0) == []  # a short gap is no outage
    raised, resolved = live.seen("cam-a", 1100.0)  # no check ran during the gap
    assert raised.kind == "camera_offline" and raised.at == datetime.fromtimestamp(1020, UTC)
    assert resolved.alert_id == raised.alert_id
    # The id is the one a timely check would have produced.
    timely = CameraLiveness(offline_after_s=30.0)
    timely.seen("cam-a", 1020.0)
    assert timely.check(watermark=1060.0)[0].alert_id == raised.alert_id
