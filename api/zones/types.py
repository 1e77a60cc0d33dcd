"""GraphQL types of the zones domain."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schemas.events import OccupancyChanged

__all__ = ["OccupancyUpdate", "Zone"]


@strawberry.type(description="A counted area with its live occupancy.")
class Zone:
    id: strawberry.ID
    name: str
    parent_id: strawberry.ID | None
    capacity: int | None
    occupancy: int
    entries: int
    exits: int
    version: int = strawberry.field(description="Changes applied to this zone so far.")
    updated_at: datetime | None = strawberry.field(
        description="Event time (UTC) of the newest change."
    )
    camera_ids: list[strawberry.ID] = strawberry.field(
        description="The cameras whose lines change this zone's occupancy: if one is "
        "offline, the count misses whoever passes it."
    )

    @strawberry.field(description="Occupancy / capacity, 0..1+; null without a capacity.")
    def utilization(self) -> float | None:
        return None if not self.capacity else self.occupancy / self.capacity


@strawberry.type(
    description="A zone's occupancy right after a change, or its current state (a snapshot)."
)
class OccupancyUpdate:
    zone_id: strawberry.ID
    occupancy: int
    entries: int
    exits: int
    version: int
    at: datetime
    cause: str = strawberry.field(
        description="What made the change: crossing, calibration or reset; snapshot for "
        "a current state read from storage, which has no causing event."
    )
    cause_id: strawberry.ID | None = strawberry.field(
        description="Id of the event that caused the change (a crossing, a calibration); "
        "null for a snapshot."
    )
    clamped: bool

    @classmethod
    def from_event(cls, e: OccupancyChanged) -> OccupancyUpdate:
        return cls(
            zone_id=strawberry.ID(e.zone_id),
            occupancy=e.occupancy,
            entries=e.entries,
            exits=e.exits,
            version=e.version,
            at=e.at,
            cause=e.cause,
            cause_id=strawberry.ID(str(e.cause_id)),
            clamped=e.clamped,
        )
