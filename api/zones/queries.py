"""Zone queries: configuration joined with the newest state from PostgreSQL."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from psycopg.rows import dict_row

from api.auth.permissions import Viewer
from api.state import ApiState
from api.zones.types import Zone

__all__ = ["ZoneQuery", "load_zones"]


async def load_zones(state: ApiState, ids: list[str] | None = None) -> list[Zone]:
    async with state.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT * FROM zone_occupancy")
        rows = {r["zone_id"]: r for r in await cur.fetchall()}
    zones = []
    for z in state.plant.zones:
        if ids is not None and z.id not in ids:
            continue
        r = rows.get(z.id, {})
        zones.append(
            Zone(
                id=strawberry.ID(z.id),
                name=z.name or z.id,
                parent_id=strawberry.ID(z.parent) if z.parent else None,
                capacity=z.capacity,
                occupancy=r.get("occupancy", 0),
                entries=r.get("entries", 0),
                exits=r.get("exits", 0),
                version=r.get("version", 0),
                updated_at=r.get("updated_at"),
                camera_ids=[strawberry.ID(c) for c in sorted(state.graph.sources_of(z.id))],
            )
        )
    return zones


@strawberry.type
class ZoneQuery:
    @strawberry.field(
        description="Every configured zone with its live occupancy.", permission_classes=[Viewer]
    )
    async def zones(self, info: strawberry.Info) -> list[Zone]:
        return await load_zones(info.context["state"])

    @strawberry.field(description="One zone by id.", permission_classes=[Viewer])
    async def zone(self, info: strawberry.Info, id: strawberry.ID) -> Zone:
        state: ApiState = info.context["state"]
        if id not in {z.id for z in state.plant.zones}:
            raise GraphQLError(f"unknown zone {id!r}", extensions={"code": "NOT_FOUND"})
        return (await load_zones(state, [str(id)]))[0]
