"""GraphQL types of the alerts domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from schemas.operations import AlertRaised, AlertResolved

__all__ = ["Alert", "AlertEvent"]


# An alert condition as stored in the ``alerts`` table (raise and resolve in one row).
@strawberry.type(description="An alert condition, open or resolved.")
class Alert:
    alert_id: strawberry.ID
    kind: str
    severity: str
    subject_type: str
    subject_id: strawberry.ID
    message: str
    value: float | None
    threshold: float | None
    raised_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolve_reason: str | None

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Alert:
        return cls(
            alert_id=strawberry.ID(str(r["alert_id"])),
            kind=r["kind"],
            severity=r["severity"],
            subject_type=r["subject_type"],
            subject_id=strawberry.ID(r["subject_id"]),
            message=r["message"],
            value=r["value"],
            threshold=r["threshold"],
            raised_at=r["raised_at"],
            resolved_at=r["resolved_at"],
            resolved_by=r["resolved_by"],
            resolve_reason=r["resolve_reason"],
        )


# The GraphQL form of ``schemas.operations.AlertEvent`` (what alerts.v1 carries).
@strawberry.type(description="An alert raised or resolved, as it happens.")
class AlertEvent:
    event: str = strawberry.field(description="RAISED or RESOLVED.")
    alert_id: strawberry.ID
    kind: str
    subject_type: str
    subject_id: strawberry.ID
    severity: str | None
    message: str | None
    at: datetime

    @classmethod
    def from_event(cls, e: AlertRaised | AlertResolved) -> AlertEvent:
        raised = isinstance(e, AlertRaised)
        return cls(
            event="RAISED" if raised else "RESOLVED",
            alert_id=strawberry.ID(str(e.alert_id)),
            kind=e.kind,
            subject_type=e.subject_type,
            subject_id=strawberry.ID(e.subject_id),
            severity=e.severity if isinstance(e, AlertRaised) else None,
            message=e.message if isinstance(e, AlertRaised) else e.reason,
            at=e.at,
        )
