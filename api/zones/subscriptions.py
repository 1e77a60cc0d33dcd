"""Zone subscriptions: live occupancy pushed over graphql-transport-ws."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError

from api.state import ApiState
from api.zones.types import OccupancyUpdate

__all__ = ["ZoneSubscription"]


@strawberry.type
class ZoneSubscription:
    @strawberry.subscription(
        description="Each change of occupancy, for the given zones or all. Slow clients "
        "receive the newest value per zone and skip intermediate ones."
    )
    async def occupancy(
        self, info: strawberry.Info, zone_ids: list[strawberry.ID] | None = None
    ) -> AsyncGenerator[OccupancyUpdate, None]:
        state: ApiState = info.context["state"]
        wanted = None
        if zone_ids is not None:
            known = {z.id for z in state.plant.zones}
            unknown = sorted(set(zone_ids) - known)
            if unknown:
                raise GraphQLError(f"unknown zones: {', '.join(unknown)}")
            wanted = frozenset(str(z) for z in zone_ids)
        async with state.hub.subscribe(wanted) as sub:
            async for change in sub.changes():
                yield OccupancyUpdate.from_event(change)
