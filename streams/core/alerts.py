"""Alert rules with hysteresis: pure state machines, events in, alert events out.

* :class:`ZoneAlerts` watches one zone's occupancy changes: a capacity warning
  (``occupancy >= warning_ratio * capacity``), capacity exceeded
  (``occupancy > capacity``), and drift (an exit from an empty zone; a zone not
  empty at its scheduled reset). A raised alert resolves only once occupancy is
  ``hysteresis_ratio * capacity`` below its threshold, so a count oscillating
  around a threshold raises one alert, not fifty.
* :class:`CameraLiveness` raises "camera offline" when a camera has sent no
  frame (heartbeats count) for ``offline_after_s`` of event time, and resolves
  it when frames come back.

Alert ids are deterministic (kind, subject, the instant the condition began),
so a replay or a restarted worker re-emits the same ids and consumers
de-duplicate them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from schemas.config import ZoneConfig
from schemas.events import EVENT_NAMESPACE, OccupancyChanged
from schemas.operations import AlertEvent, AlertKind, AlertRaised, AlertResolved, alert_id

__all__ = ["CameraLiveness", "ZoneAlerts"]


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def _event_id(aid: uuid.UUID, what: str) -> uuid.UUID:
    return uuid.uuid5(EVENT_NAMESPACE, f"{what}|{aid}")


class _Active:
    """The alerts currently raised for one subject: kind -> (alert id, since)."""

    def __init__(self) -> None:
        self.active: dict[str, tuple[str, float]] = {}

    def raise_(
        self,
        kind: AlertKind,
        subject_type: str,
        subject_id: str,
        at: float,
        severity: str,
        message: str,
        value: float | None = None,
        threshold: float | None = None,
    ) -> AlertRaised | None:
        if kind in self.active:
            return None
        aid = alert_id(kind, subject_id, at)
        self.active[kind] = (aid.hex, at)
        return AlertRaised(
            id=_event_id(aid, "raised"),
            alert_id=aid,
            kind=kind,
            severity=severity,
            subject_type=subject_type,
            subject_id=subject_id,
            message=message,
            value=value,
            threshold=threshold,
            at=_ts(at),
        )

    def resolve(
        self, kind: AlertKind, subject_type: str, subject_id: str, at: float, reason: str
    ) -> AlertResolved | None:
        entry = self.active.pop(kind, None)
        if entry is None:
            return None
        aid = uuid.UUID(hex=entry[0])
        return AlertResolved(
            id=_event_id(aid, "resolved"),
            alert_id=aid,
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            at=_ts(at),
            by="system",
            reason=reason,
        )

    def forget(self, aid: uuid.UUID) -> AlertKind | None:
        """Drop an alert resolved by hand; return its kind if it was active."""
        for kind, (hex_id, _) in list(self.active.items()):
            if hex_id == aid.hex:
                del self.active[kind]
                return kind  # type: ignore[return-value]
        return None


class ZoneAlerts:
    """Capacity and drift alerts of one zone."""

    def __init__(self, zone: ZoneConfig) -> None:
        self.zone = zone
        self._state = _Active()

    @property
    def active(self) -> dict[str, tuple[str, float]]:
        return self._state.active

    def apply(self, change: OccupancyChanged) -> list[AlertEvent]:
        """Evaluate the rules after one occupancy change (in the zone's order)."""
        out: list[AlertEvent | None] = []
        z = self.zone
        at = change.at.timestamp()
        occ = change.occupancy
        if change.clamped:
            out.append(
                self._state.raise_(
                    "drift_negative",
                    "zone",
                    z.id,
                    at,
                    "warning",
                    f"exit from empty zone {z.id}: a missed entry somewhere (count drift)",
                    value=0,
                )
            )
        if change.cause in ("calibration", "reset"):
            out.append(
                self._state.resolve("drift_negative", "zone", z.id, at, f"zone {change.cause}")
            )
        if z.capacity:
            band = z.hysteresis_ratio * z.capacity
            warn_at = z.warning_ratio * z.capacity
            if occ >= warn_at:
                out.append(
                    self._state.raise_(
                        "capacity_warning",
                        "zone",
                        z.id,
                        at,
                        "warning",
                        f"{z.name or z.id} at {occ} of {z.capacity} "
                        f"({occ / z.capacity:.0%} >= {z.warning_ratio:.0%})",
                        value=occ,
                        threshold=warn_at,
                    )
                )
            elif occ < warn_at - band:
                out.append(
                    self._state.resolve(
                        "capacity_warning", "zone", z.id, at, f"occupancy down to {occ}"
                    )
                )
            if occ > z.capacity:
                out.append(
                    self._state.raise_(
                        "capacity_exceeded",
                        "zone",
                        z.id,
                        at,
                        "critical",
                        f"{z.name or z.id} over capacity: {occ} > {z.capacity}",
                        value=occ,
                        threshold=z.capacity,
                    )
                )
            elif occ <= z.capacity - band:
                out.append(
                    self._state.resolve(
                        "capacity_exceeded", "zone", z.id, at, f"occupancy down to {occ}"
                    )
                )
        return [a for a in out if a is not None]

    def before_reset(self, occupancy: int, at: float) -> list[AlertEvent]:
        """Called just before a scheduled reset: flag a zone that did not empty."""
        if occupancy > 0:
            raised = self._state.raise_(
                "drift_not_empty",
                "zone",
                self.zone.id,
                at,
                "info",
                f"{self.zone.id} held {occupancy} people at its scheduled reset "
                "(people still inside, or missed exits)",
                value=occupancy,
            )
            return [raised] if raised else []
        resolved = self._state.resolve(
            "drift_not_empty", "zone", self.zone.id, at, "empty at the scheduled reset"
        )
        return [resolved] if resolved else []

    def forget(self, aid: uuid.UUID) -> AlertKind | None:
        return self._state.forget(aid)

    def state_dict(self) -> dict[str, Any]:
        return {"active": {k: list(v) for k, v in self._state.active.items()}}

    def load_state(self, data: dict[str, Any] | None) -> None:
        self._state.active = {
            k: (v[0], float(v[1])) for k, v in (data or {}).get("active", {}).items()
        }


class CameraLiveness:
    """ "Camera offline" alerts from the cameras' last capture times.

    Args:
        offline_after_s: Event-time seconds of silence before a camera is offline.
    """

    def __init__(self, offline_after_s: float) -> None:
        self.offline_after_s = offline_after_s
        self.last_seen: dict[str, float] = {}
        self._state: dict[str, _Active] = {}

    def seen(self, camera_id: str, event_time: float) -> list[AlertEvent]:
        """A frame (or heartbeat) of ``camera_id`` captured at ``event_time``.

        A gap longer than ``offline_after_s`` between a camera's own frames is
        an outage even if no check ran during it (a replay at full speed, a
        lagging partition): it is raised and resolved in hindsight, with the
        same alert id a timely check would have given it.
        """
        out: list[AlertEvent] = []
        last = self.last_seen.get(camera_id)
        state = self._state.setdefault(camera_id, _Active())
        if (
            last is not None
            and "camera_offline" not in state.active
            and event_time - last > self.offline_after_s
        ):
            raised = self._raise(state, camera_id, last, event_time - last)
            if raised:
                out.append(raised)
        if last is None or event_time > last:
            self.last_seen[camera_id] = event_time
        resolved = state.resolve(
            "camera_offline", "camera", camera_id, event_time, "frames arrive again"
        )
        if resolved:
            out.append(resolved)
        return out

    def _raise(
        self, state: _Active, camera_id: str, last: float, silent_s: float
    ) -> AlertRaised | None:
        return state.raise_(
            "camera_offline",
            "camera",
            camera_id,
            last,  # the condition began with the last frame seen
            "critical",
            f"camera {camera_id} sent nothing since {_ts(last).isoformat()}",
            value=silent_s,
            threshold=self.offline_after_s,
        )

    def forget(self, camera_ids: Iterable[str]) -> None:
        """Stop watching cameras another worker now owns (after a rebalance).

        Their frames go to the new owner, so here they would look silent
        forever and raise "camera offline" alerts that nothing resolves.
        """
        for camera_id in camera_ids:
            self.last_seen.pop(camera_id, None)
            self._state.pop(camera_id, None)

    def check(self, watermark: float) -> list[AlertEvent]:
        """Raise for every camera silent since before ``watermark - offline_after_s``."""
        out: list[AlertEvent] = []
        for camera_id, last in self.last_seen.items():
            if last >= watermark - self.offline_after_s:
                continue
            state = self._state.setdefault(camera_id, _Active())
            raised = self._raise(state, camera_id, last, watermark - last)
            if raised:
                out.append(raised)
        return out
