"""Camera queries: configuration joined with the live hub's newest heartbeats."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import strawberry
from graphql import GraphQLError

from api.auth.permissions import Viewer
from api.cameras.status import camera_status
from api.cameras.types import Camera
from api.history.buckets import history_timezone
from api.history.timeframes import Timeframe, timeframe_range
from api.state import ApiState

__all__ = ["CameraQuery", "load_cameras"]


async def counts_today(state: ApiState, now: datetime) -> dict[str, tuple[int, int]]:
    """Line id -> (in, out) since local midnight, from the raw crossings (always current,
    unlike aggregates that refresh on a schedule)."""
    tz = ZoneInfo(await history_timezone(state.pool))
    start = timeframe_range(Timeframe.TODAY, now, tz).start
    async with state.pool.connection() as conn:
        rows = await (
            await conn.execute(
                "SELECT line_id, count(*) FILTER (WHERE direction = 'in'), "
                "count(*) FILTER (WHERE direction = 'out') "
                "FROM crossings WHERE line_id = ANY(%s) AND occurred_at >= %s GROUP BY line_id",
                ([line.id for line in state.plant.lines], start),
            )
        ).fetchall()
    return {line: (int(i), int(o)) for line, i, o in rows}


async def load_cameras(state: ApiState, ids: list[str] | None = None) -> list[Camera]:
    now = datetime.now(UTC)
    today = await counts_today(state, now)
    out = []
    for camera in state.plant.cameras:
        if ids is not None and camera.id not in ids:
            continue
        beat = state.hub.cameras.get(camera.id)
        out.append(
            Camera.build(
                camera,
                [line for line in state.plant.lines if line.camera_id == camera.id],
                state.graph.zones_fed_by(camera.id),
                camera_status(beat, now),
                beat,
                state.hub.snapshots.get(camera.id),
                today,
            )
        )
    return out


@strawberry.type
class CameraQuery:
    @strawberry.field(
        description="Every configured camera with its lines and live status.",
        permission_classes=[Viewer],
    )
    async def cameras(self, info: strawberry.Info) -> list[Camera]:
        return await load_cameras(info.context["state"])

    @strawberry.field(description="One camera by id.", permission_classes=[Viewer])
    async def camera(self, info: strawberry.Info, id: strawberry.ID) -> Camera:
        state: ApiState = info.context["state"]
        found = await load_cameras(state, [str(id)])
        if not found:
            raise GraphQLError(f"unknown camera {id!r}", extensions={"code": "NOT_FOUND"})
        return found[0]
