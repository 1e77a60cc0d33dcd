"""Resolving an alert by hand: an ``AlertResolved`` event on ``alerts.v1``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import strawberry
from graphql import GraphQLError

from api.alerts.queries import load_alert
from api.alerts.types import Alert
from api.state import ApiState
from schemas.events import EVENT_NAMESPACE
from schemas.operations import AlertResolved

__all__ = ["AlertMutation"]


def _bad(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


@strawberry.type
class AlertMutation:
    @strawberry.mutation(
        description="Resolve an open alert by hand. The condition's own rule stays quiet "
        "until the condition clears (an acknowledgement, not a suppression of new alerts)."
    )
    async def resolve_alert(
        self, info: strawberry.Info, alert_id: strawberry.ID, by: str, reason: str
    ) -> Alert:
        state: ApiState = info.context["state"]
        try:
            aid = uuid.UUID(str(alert_id))
        except ValueError:
            raise _bad(f"alert id {alert_id!r} is not a UUID") from None
        if not by.strip() or not reason.strip():
            raise _bad("say who resolves the alert (by) and why (reason)")
        row = await load_alert(state, str(aid))
        if row is None:
            raise GraphQLError(f"unknown alert {alert_id!r}", extensions={"code": "NOT_FOUND"})
        if row["resolved_at"] is not None:
            raise _bad(f"alert {alert_id} was already resolved at {row['resolved_at']}")
        now = datetime.now(UTC)
        event = AlertResolved(
            id=uuid.uuid5(EVENT_NAMESPACE, f"manual-resolve|{aid}"),
            alert_id=aid,
            kind=row["kind"],
            subject_type=row["subject_type"],
            subject_id=row["subject_id"],
            at=now,
            by=by.strip(),
            reason=reason.strip(),
        )
        await state.publish(state.settings.topic("alerts"), row["subject_id"], event)
        row = {**row, "resolved_at": now, "resolved_by": event.by, "resolve_reason": event.reason}
        return Alert.from_row(row)
