"""detections.v1 -> crossings.v1 and zone-deltas.v1.

One ``LineCounter`` per camera, its state in the ``track-state`` table. The
outputs of a frame are sent and acknowledged *before* the table records that
the frame was processed, so after a crash either the state is behind (the
frame is processed again and yields the same event ids, which consumers
de-duplicate) or the outputs are already in Kafka. Nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging

from faust import StreamT
from pydantic import ValidationError

from schemas.events import FrameDetections
from streams.agents.clock import on_frame
from streams.agents.deadletter import dead_letter
from streams.agents.gaps import OffsetGapGuard
from streams.app import app, graph, plant, settings, topics
from streams.counting import LineCounter
from streams.tables.state import track_state

__all__ = ["count_crossings", "counter_for"]

logger = logging.getLogger(__name__)

_cameras = {c.id: c for c in plant.cameras}
# Decoded counters, a cache of the table. A counter is trusted only while it
# matches the table (a partition may have moved to another worker and back).
_counters: dict[str, LineCounter] = {}
_guard = OffsetGapGuard(app, "count_crossings")


def counter_for(camera_id: str) -> LineCounter:
    stored = track_state.get(camera_id)
    counter = _counters.get(camera_id)
    if counter is not None and (
        stored is None
        or (stored["last_seq"] == counter.last_seq and stored["last_time"] == counter.last_time)
    ):
        return counter
    counter = LineCounter(
        camera_id, plant.lines_for(camera_id), plant.version, track_ttl_s=settings.track_ttl_s
    )
    if stored is not None:
        counter.load_state(stored)
    _counters[camera_id] = counter
    return counter


def _validate(frame: FrameDetections) -> str | None:
    camera = _cameras.get(frame.camera_id)
    if camera is None:
        return f"unknown camera {frame.camera_id!r}"
    if (frame.frame_width, frame.frame_height) != (camera.width, camera.height):
        return (
            f"frame size {frame.frame_width}x{frame.frame_height} differs from camera "
            f"{camera.id}'s configured {camera.width}x{camera.height}; lines would be misplaced"
        )
    return None


@app.agent(topics.detections)
async def count_crossings(stream: StreamT[bytes]) -> None:
    """Turn each frame's tracks into crossings; dead-letter what cannot be read."""
    async for event in stream.events():
        message = event.message
        if not await _guard.admit(message):
            continue
        try:
            frame = FrameDetections.model_validate_json(event.value)
        except ValidationError as e:
            await dead_letter(message, f"invalid FrameDetections: {e}")
            continue
        problem = _validate(frame)
        if problem is not None:
            await dead_letter(message, problem)
            continue
        await on_frame(frame.camera_id, frame.captured_at.timestamp(), message.partition)
        counter = counter_for(frame.camera_id)
        crossings = counter.trigger(frame)
        if crossings:
            pending = []
            for c in crossings:
                pending.append(
                    await topics.crossings.send(
                        key=c.camera_id.encode(), value=c.model_dump_json().encode(), force=True
                    )
                )
                for d in graph.deltas(c):
                    pending.append(
                        await topics.zone_deltas.send(
                            key=d.zone_id.encode(), value=d.model_dump_json().encode(), force=True
                        )
                    )
            await asyncio.gather(*pending)
        track_state[frame.camera_id] = counter.state_dict()
