"""Alerts pushed as they are raised and resolved (graphql-transport-ws)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from api.alerts.types import AlertEvent
from api.auth.permissions import Viewer
from api.limits import subscription_slot
from api.state import ApiState

__all__ = ["AlertSubscription"]


@strawberry.type
class AlertSubscription:
    @strawberry.subscription(
        description="Every alert raised or resolved from now on.", permission_classes=[Viewer]
    )
    async def alerts(self, info: strawberry.Info) -> AsyncGenerator[AlertEvent, None]:
        state: ApiState = info.context["state"]
        with subscription_slot(info.context):
            async with state.hub.subscribe_alerts() as sub:
                async for alert in sub.alerts():
                    yield AlertEvent.from_event(alert)
