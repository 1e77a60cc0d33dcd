"""GraphQL types of the cameras domain."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schemas.config import CameraConfig, LineConfig
from schemas.health import CameraHealth
from schemas.snapshots import CameraSnapshot

__all__ = ["Camera", "CountingLine", "LinePoint"]


@strawberry.type(description="A point in the camera's frame, in pixels (y down).")
class LinePoint:
    x: float
    y: float


@strawberry.type(description="A counting line on one camera, between two zones.")
class CountingLine:
    id: strawberry.ID
    camera_id: strawberry.ID
    points: list[LinePoint] = strawberry.field(
        description="The two end points; walking from the left-hand to the right-hand side "
        "of points[0] -> points[1] (y down) is 'in' (from_zone -> to_zone)."
    )
    from_zone: strawberry.ID
    to_zone: strawberry.ID
    allowed: str = strawberry.field(description="both, in or out (one-way lines).")
    anchor: str
    min_distance_px: float
    min_frames: int
    entries_today: int = strawberry.field(
        default=0, description="Crossings in since local midnight (the plant's time zone)."
    )
    exits_today: int = strawberry.field(default=0, description="Crossings out since midnight.")

    @classmethod
    def from_config(cls, line: LineConfig, today: tuple[int, int] = (0, 0)) -> CountingLine:
        return cls(
            id=strawberry.ID(line.id),
            camera_id=strawberry.ID(line.camera_id),
            points=[LinePoint(x=x, y=y) for x, y in line.points],
            from_zone=strawberry.ID(line.from_zone),
            to_zone=strawberry.ID(line.to_zone),
            allowed=line.allowed,
            anchor=line.anchor,
            min_distance_px=line.min_distance_px,
            min_frames=line.min_frames,
            entries_today=today[0],
            exits_today=today[1],
        )


#: Camera fields that are the newest heartbeat's fields of the same name.
_FROM_HEARTBEAT = (
    "producer_id",
    "last_frame_at",
    "capture_fps",
    "processed_fps",
    "processing_ms",
    "frames_published",
    "frames_dropped",
    "reconnects",
    "detector",
    "last_error",
)


@strawberry.type(description="A configured camera, its lines and its producer's latest heartbeat.")
class Camera:
    id: strawberry.ID
    name: str
    width: int
    height: int
    lines: list[CountingLine]
    zone_ids: list[strawberry.ID] = strawberry.field(
        description="The zones whose occupancy this camera's lines change."
    )
    status: str = strawberry.field(
        description="online, starting, reconnecting, offline (no heartbeat for three "
        "intervals, or the producer ended, failed or stopped) or unknown (no heartbeat seen)."
    )
    producer_status: str | None = strawberry.field(
        description="What the producer last said: starting, online, reconnecting, ended, "
        "failed, stopped."
    )
    producer_id: str | None
    heartbeat_at: datetime | None
    last_frame_at: datetime | None
    capture_fps: float | None
    processed_fps: float | None
    processing_ms: float | None
    frames_published: int | None
    frames_dropped: int | None
    reconnects: int | None
    detector: str | None
    last_error: str | None
    entries_today: int = strawberry.field(
        description="Crossings in over this camera's lines since local midnight."
    )
    exits_today: int = strawberry.field(description="Crossings out since local midnight.")
    snapshot_request_id: strawberry.ID | None = strawberry.field(
        description="The request the newest snapshot answered (GET /cameras/<id>/snapshot.jpg)."
    )
    snapshot_at: datetime | None
    snapshot_error: str | None = strawberry.field(
        description="Why the newest answer has no picture (no frame captured yet)."
    )

    @classmethod
    def build(
        cls,
        camera: CameraConfig,
        lines: list[LineConfig],
        zone_ids: tuple[str, ...],
        status: str,
        beat: CameraHealth | None,
        snapshot: CameraSnapshot | None = None,
        today: dict[str, tuple[int, int]] | None = None,
    ) -> Camera:
        today = today or {}
        counted = [today.get(line.id, (0, 0)) for line in lines]
        return cls(
            id=strawberry.ID(camera.id),
            name=camera.name or camera.id,
            width=camera.width,
            height=camera.height,
            lines=[
                CountingLine.from_config(line, c) for line, c in zip(lines, counted, strict=True)
            ],
            entries_today=sum(c[0] for c in counted),
            exits_today=sum(c[1] for c in counted),
            zone_ids=[strawberry.ID(z) for z in zone_ids],
            status=status,
            producer_status=beat.status if beat else None,
            heartbeat_at=beat.at if beat else None,
            **{f: getattr(beat, f) if beat else None for f in _FROM_HEARTBEAT},
            snapshot_request_id=strawberry.ID(str(snapshot.request_id)) if snapshot else None,
            snapshot_at=snapshot.at if snapshot else None,
            snapshot_error=snapshot.error if snapshot else None,
        )
