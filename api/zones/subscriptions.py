"""Zone subscriptions: live occupancy pushed over graphql-transport-ws."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError

from api.auth.permissions import Viewer
from api.limits import subscription_slot
from api.live import OccupancySubscriber, ZoneState
from api.state import ApiState
from api.zones.queries import load_zones
from api.zones.types import OccupancyUpdate

__all__ = ["ZoneSubscription"]


def _update(s: ZoneState) -> OccupancyUpdate:
    return OccupancyUpdate(
        zone_id=strawberry.ID(s.zone_id),
        occupancy=s.occupancy,
        entries=s.entries,
        exits=s.exits,
        version=s.version,
        at=s.at,
        cause=s.cause,
        cause_id=None if s.cause_id is None else strawberry.ID(s.cause_id),
        clamped=s.clamped,
    )


async def _seed_from_storage(
    state: ApiState, sub: OccupancySubscriber, wanted: frozenset[str] | None
) -> None:
    """Offer the stored state of each wanted zone the hub has not seen since it started.

    Runs after the mailbox is registered, so a change consumed meanwhile is
    already in it, and the newer version wins whichever arrives first.
    """
    seen = {s.zone_id for s in state.hub.latest(wanted)}
    missing = [z.id for z in state.plant.zones if sub.wants(z.id) and z.id not in seen]
    if not missing:
        return
    for zone in await load_zones(state, missing):
        if zone.updated_at is None:  # never changed: no state to resume from
            continue
        sub.offer(
            ZoneState.snapshot(
                str(zone.id),
                zone.occupancy,
                zone.entries,
                zone.exits,
                zone.version,
                zone.updated_at,
            )
        )


@strawberry.type
class ZoneSubscription:
    @strawberry.subscription(
        permission_classes=[Viewer],
        description="The current state of the given zones (or all), then each change of "
        "occupancy. The first update per zone after subscribing is its current state: the "
        "newest change this API has seen, or the stored state with cause `snapshot` (zones "
        "that never changed have none). Versions per zone only go up; slow clients receive "
        "the newest value per zone and skip intermediate ones.",
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
        with subscription_slot(info.context):
            async with state.hub.subscribe(wanted) as sub:
                await _seed_from_storage(state, sub, wanted)
                async for change in sub.changes():
                    yield _update(change)
