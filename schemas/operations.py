"""Operations events: corrections of occupancy and alerts.

Corrections are commands on ``commands.v1`` (key: zone id). They never edit
old facts: a calibration or a reset is a new event, applied in order with the
zone's crossings and kept as an audit trail (who, when, why).

Alerts are facts on ``alerts.v1`` (key: the subject, a zone or camera id).
``alert_id`` names the *condition* (for example "zone lobby over capacity
since 10:02"); the raise and the resolve of one condition share it.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from schemas.events import EVENT_NAMESPACE, Identifier, UtcDatetime, _Event

__all__ = [
    "AlertEvent",
    "AlertKind",
    "AlertRaised",
    "AlertResolved",
    "OccupancyCalibrated",
    "OccupancyReset",
    "alert_id",
    "reset_id",
]

AlertKind = Literal[
    "capacity_warning",
    "capacity_exceeded",
    "camera_offline",
    "drift_negative",
    "drift_not_empty",
]


class OccupancyCalibrated(_Event):
    """Topic ``commands.v1``: somebody counted a zone and sets its occupancy."""

    type: Literal["OccupancyCalibrated"] = "OccupancyCalibrated"
    schema_version: Literal[1] = 1
    id: uuid.UUID
    zone_id: Identifier
    occupancy: int = Field(ge=0, le=1_000_000, description="The counted number of people.")
    at: UtcDatetime = Field(description="When the count was true, UTC.")
    by: str = Field(min_length=1, max_length=200, description="Who calibrated.")
    reason: str = Field(min_length=1, max_length=2000)


class OccupancyReset(_Event):
    """Topic ``commands.v1``: the scheduled drift reset of a zone (to ``occupancy``).

    The id is deterministic (zone and instant), so every worker that notices
    the reset time has passed emits the same event and it is applied once.
    """

    type: Literal["OccupancyReset"] = "OccupancyReset"
    schema_version: Literal[1] = 1
    id: uuid.UUID
    zone_id: Identifier
    occupancy: int = Field(default=0, ge=0)
    at: UtcDatetime = Field(description="The scheduled instant, UTC.")
    local_time: str = Field(description="The configured local time, e.g. 03:00.")
    timezone: str


class AlertRaised(_Event):
    """Topic ``alerts.v1``: a condition that needs attention started."""

    type: Literal["AlertRaised"] = "AlertRaised"
    schema_version: Literal[1] = 1
    id: uuid.UUID
    alert_id: uuid.UUID
    kind: AlertKind
    severity: Literal["info", "warning", "critical"]
    subject_type: Literal["zone", "camera"]
    subject_id: Identifier
    message: str
    value: float | None = Field(default=None, description="The measured value, e.g. occupancy.")
    threshold: float | None = None
    at: UtcDatetime = Field(description="Event time of the condition, UTC.")


class AlertResolved(_Event):
    """Topic ``alerts.v1``: the condition ended, by itself or by hand."""

    type: Literal["AlertResolved"] = "AlertResolved"
    schema_version: Literal[1] = 1
    id: uuid.UUID
    alert_id: uuid.UUID
    kind: AlertKind
    subject_type: Literal["zone", "camera"]
    subject_id: Identifier
    at: UtcDatetime
    by: str = Field(default="system", max_length=200)
    reason: str = Field(default="", max_length=2000)


#: What ``alerts.v1`` carries: an alert condition raised or resolved.
AlertEvent = AlertRaised | AlertResolved


def alert_id(kind: str, subject_id: str, since: float) -> uuid.UUID:
    """Deterministic id of an alert condition, from what started it (UTC seconds)."""
    micros = round(since * 1_000_000)
    return uuid.uuid5(EVENT_NAMESPACE, f"alert|{kind}|{subject_id}|{micros}")


def reset_id(zone_id: str, at: float) -> uuid.UUID:
    """Deterministic id of a zone's scheduled reset at ``at`` (UTC seconds)."""
    return uuid.uuid5(EVENT_NAMESPACE, f"reset|{zone_id}|{round(at * 1_000_000)}")
