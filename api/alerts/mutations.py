"""Resolving an alert by hand: an ``AlertResolved`` event on ``alerts.v1``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import strawberry
from graphql import GraphQLError

from api.alerts.queries import load_alert
from api.alerts.types import Alert
from api.auth.permissions import BY_DEPRECATION, Operator, recorded_by
from api.inputs import BY_MAX, REASON_MAX, bad_input, text
from api.state import ApiState
from schemas.events import EVENT_NAMESPACE
from schemas.operations import AlertResolved

__all__ = ["AlertMutation"]


@strawberry.type
class AlertMutation:
    @strawberry.mutation(
        description="Resolve an open alert by hand (operator). The condition's own rule stays "
        "quiet until the condition clears (an acknowledgement, not a suppression of new alerts).",
        permission_classes=[Operator],
    )
    async def resolve_alert(
        self,
        info: strawberry.Info,
        alert_id: strawberry.ID,
        reason: str,
        by: Annotated[str | None, strawberry.argument(deprecation_reason=BY_DEPRECATION)] = None,
    ) -> Alert | None:
        state: ApiState = info.context["state"]
        by = recorded_by(info, by, BY_MAX)
        reason = text(reason, "reason", max_length=REASON_MAX, multiline=True, hint="why")
        try:
            aid = uuid.UUID(str(alert_id))
        except ValueError:
            raise bad_input(f"alert id {alert_id!r} is not a UUID", "alertId") from None
        row = await load_alert(state, str(aid))
        if row is None:
            raise GraphQLError(f"unknown alert {alert_id!r}", extensions={"code": "NOT_FOUND"})
        if row["resolved_at"] is not None:
            raise bad_input(
                f"alert {alert_id} was already resolved at {row['resolved_at']}", "alertId"
            )
        now = datetime.now(UTC)
        event = AlertResolved(
            id=uuid.uuid5(EVENT_NAMESPACE, f"manual-resolve|{aid}"),
            alert_id=aid,
            kind=row["kind"],
            subject_type=row["subject_type"],
            subject_id=row["subject_id"],
            at=now,
            by=by,
            reason=reason,
        )
        await state.publish(state.settings.topic("alerts"), row["subject_id"], event)
        row = {**row, "resolved_at": now, "resolved_by": event.by, "resolve_reason": event.reason}
        return Alert.from_row(row)
