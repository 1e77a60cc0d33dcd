"""Camera queries: configuration joined with the live hub's newest heartbeats."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from graphql import GraphQLError

from api.auth.permissions import Viewer
from api.cameras.status import camera_status
from api.cameras.types import Camera
from api.state import ApiState

__all__ = ["CameraQuery", "load_cameras"]


def load_cameras(state: ApiState, ids: list[str] | None = None) -> list[Camera]:
    now = datetime.now(UTC)
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
            )
        )
    return out


@strawberry.type
class CameraQuery:
    @strawberry.field(
        description="Every configured camera with its lines and live status.",
        permission_classes=[Viewer],
    )
    def cameras(self, info: strawberry.Info) -> list[Camera]:
        return load_cameras(info.context["state"])

    @strawberry.field(description="One camera by id.", permission_classes=[Viewer])
    def camera(self, info: strawberry.Info, id: strawberry.ID) -> Camera:
        state: ApiState = info.context["state"]
        found = load_cameras(state, [str(id)])
        if not found:
            raise GraphQLError(f"unknown camera {id!r}", extensions={"code": "NOT_FOUND"})
        return found[0]
