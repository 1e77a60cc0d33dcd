"""The worker's event-time clock: when its rules run, what it forgets on a rebalance."""

from __future__ import annotations

from faust.types import TP

from schemas.operations import AlertRaised, AlertResolved
from streams.core.alerts import CameraLiveness
from streams.core.event_time import Watermark
from streams.runtime import event_clock
from streams.runtime.event_clock import EventClock


def clock_with_rule(monkeypatch, offline_after_s: float = 30.0):
    """A fresh clock (no lateness), one rule recording its ticks, sends recorded."""
    sent: list = []

    async def send_alerts(alerts):
        sent.extend(alerts)
        return []

    monkeypatch.setattr(event_clock, "send_alerts", send_alerts)
    clock = EventClock(
        Watermark(lateness_s=0.0, idle_after_s=1e9), CameraLiveness(offline_after_s), "det.v1"
    )
    ticks: list[float] = []
    checked: list = []

    @clock.rule
    async def record(now: float) -> None:
        ticks.append(now)
        checked.extend(clock.liveness.check(now))

    return clock, ticks, checked, sent


async def test_rules_run_when_event_time_has_moved_on_by_a_second(monkeypatch):
    clock, ticks, _, _ = clock_with_rule(monkeypatch)
    await clock.on_frame("cam", 1000.0, 0)
    await clock.on_frame("cam", 1000.5, 0)
    await clock.on_frame("cam", 1001.0, 0)
    await clock.on_frame("cam", 1001.9, 0)
    assert ticks == [1000.0, 1001.0]


async def test_rules_run_in_registration_order_and_never_before_any_event(monkeypatch):
    clock, ticks, _, _ = clock_with_rule(monkeypatch)
    order: list[str] = []

    @clock.rule
    async def second(now: float) -> None:
        order.append(f"second {now}")

    await clock.tick(0.0)  # no event seen yet: no notion of time
    assert ticks == [] and order == []
    await clock.tick(1234.0)
    assert ticks == [1234.0] and order == ["second 1234.0"]


async def test_a_camera_back_after_a_gap_is_found_offline_before_it_is_marked_seen(monkeypatch):
    clock, _, checked, sent = clock_with_rule(monkeypatch)
    await clock.on_frame("cam-a", 1000.0, 0)
    await clock.on_frame("cam-a", 1100.0, 0)  # silent for 100 s of event time
    (raised,) = checked
    assert isinstance(raised, AlertRaised) and raised.kind == "camera_offline"
    (resolved,) = sent  # back online, the same condition
    assert isinstance(resolved, AlertResolved) and resolved.alert_id == raised.alert_id


async def test_revoked_partitions_are_forgotten(monkeypatch):
    clock, _, _, _ = clock_with_rule(monkeypatch)
    await clock.on_frame("cam-a", 1000.0, 0)
    await clock.on_frame("cam-b", 1000.0, 1)
    clock.on_revoked(object(), {TP("det.v1", 0), TP("other.v1", 1)})
    assert set(clock.liveness.last_seen) == {"cam-b"}
    # cam-a's partition no longer holds the watermark back, nor raises its outage.
    await clock.on_frame("cam-b", 1100.0, 1)
    assert clock.watermark.value(1e12) >= 1100.0
    assert clock.liveness.check(2000.0)[0].subject_id == "cam-b"


def test_seed_resumes_a_camera_once_and_ignores_empty_state(monkeypatch):
    clock, _, _, _ = clock_with_rule(monkeypatch)
    clock.seed("cam-a", 0.0, 0)
    assert "cam-a" not in clock.liveness.last_seen
    clock.seed("cam-a", 500.0, 0)
    clock.seed("cam-a", 900.0, 0)  # already known: the first seed stands
    assert clock.liveness.last_seen["cam-a"] == 500.0
    assert clock.watermark.max_event_time == 500.0
