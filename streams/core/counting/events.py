"""The ``CrossingEvent`` of a confirmed crossing."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.config import LineConfig
from schemas.events import CrossingEvent, crossing_id

__all__ = ["crossing_event"]


def crossing_event(
    line: LineConfig,
    track_id: int,
    inward: bool,
    seq: int,
    at: float,
    *,
    camera_id: str,
    run: str,
    config_version: str,
) -> CrossingEvent | None:
    """The event of a crossing of ``line``, or None where the line allows only the other way.

    Args:
        line: The line crossed.
        track_id: The tracker's id of the person.
        inward: True for a crossing towards the line's "in" (right-hand) side.
        seq: Frame number of the frame in which the path last met the line.
        at: Capture time of that frame (UTC seconds).
        camera_id: The line's camera.
        run: Recount run id (empty for live counting); part of the event id.
        config_version: ``PlantConfig.version`` stamped on the event.
    """
    direction = "in" if inward else "out"
    if line.allowed != "both" and line.allowed != direction:
        return None
    from_zone, to_zone = (
        (line.from_zone, line.to_zone) if inward else (line.to_zone, line.from_zone)
    )
    return CrossingEvent(
        id=crossing_id(camera_id, line.id, track_id, seq, at, run),
        camera_id=camera_id,
        line_id=line.id,
        track_id=track_id,
        frame_seq=seq,
        direction=direction,
        from_zone=from_zone,
        to_zone=to_zone,
        occurred_at=datetime.fromtimestamp(at, tz=UTC),
        config_version=config_version,
    )
