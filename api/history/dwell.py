"""``dwellTime``: how long people stayed in a zone over a range (first in, first out).

Reads the zone's changes from ``occupancy_samples`` (who entered and left with
each, in event-time order; ``level`` is the occupancy in that order) and hands
them to :func:`streams.core.dwell.dwell_stats`, the pure estimate.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from graphql import GraphQLError

from api.inputs import bad_input
from api.state import ApiState
from streams.core.dwell import ZoneChange, dwell_stats

__all__ = ["DwellTime", "read_dwell"]


@strawberry.type(description="Stays in a zone that began and ended within a range.")
class DwellTime:
    zone_id: strawberry.ID
    from_: datetime = strawberry.field(name="from")
    to: datetime
    visits: int = strawberry.field(description="Stays measured (entered and left in range).")
    average_seconds: float | None
    median_seconds: float | None
    max_seconds: float | None
    still_inside: int = strawberry.field(
        description="People who entered in the range and had not left by its end."
    )


def _change(row: tuple) -> ZoneChange:
    at, entered, exited, occupancy, cause = row
    return ZoneChange(at.timestamp(), entered, exited, occupancy, cause)


async def read_dwell(state: ApiState, zone: str, start: datetime, end: datetime) -> DwellTime:
    if zone not in {z.id for z in state.plant.zones}:
        raise GraphQLError(f"unknown zone {zone!r}", extensions={"code": "NOT_FOUND"})
    for name, value in (("from", start), ("to", end)):
        if value.tzinfo is None:
            raise bad_input(f"{name} must carry a time zone", name)
    if end <= start:
        raise bad_input("from must be before to", "from")
    if (end - start).days > 31:
        raise bad_input("at most 31 days per query", "to")
    async with state.pool.connection() as conn:
        before = await (
            await conn.execute(
                "SELECT level FROM occupancy_samples WHERE zone_id = %s AND at < %s "
                "ORDER BY at DESC, version DESC LIMIT 1",
                (zone, start),
            )
        ).fetchone()
        rows = await (
            await conn.execute(
                "SELECT at, entered, exited, occupancy, cause FROM occupancy_samples "
                "WHERE zone_id = %s AND at >= %s AND at < %s ORDER BY at, version",
                (zone, start, end),
            )
        ).fetchall()
    stats = dwell_stats(before[0] if before else 0, map(_change, rows), end=end.timestamp())
    return DwellTime(
        zone_id=strawberry.ID(zone),
        from_=start,
        to=end,
        visits=stats.visits,
        average_seconds=stats.average_s,
        median_seconds=stats.median_s,
        max_seconds=stats.max_s,
        still_inside=stats.still_inside,
    )
