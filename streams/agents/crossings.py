"""detections.v1 -> crossings.v1 and zone-deltas.v1 (deltas and progress marks).

One ``LineCounter`` per camera, its state in the ``track-state`` table. The
outputs of a frame are sent and acknowledged *before* the table records that
the frame was processed, so after a crash either the state is behind (the
frame is processed again and yields the same event ids, which consumers
de-duplicate) or the outputs are already in Kafka. Nothing is lost.

Order contract with the zone agent (:class:`streams.core.zones.ZoneOccupancy`):
a frame's deltas go out sorted by crossing id and carry the frame's capture
time; every ``progress_interval_s`` a :class:`SourceProgress` mark tells each
zone a camera feeds how far that camera's frames are done. Marks are sent
only for frames whose deltas are already queued in the producer, and Kafka
keeps the order within the zone's partition, so a mark never overtakes a
delta it covers.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from faust import StreamT
from pydantic import ValidationError

from schemas.events import FrameDetections, SourceProgress
from streams.app import app, graph, plant, settings, topics
from streams.core.counting import LineCounter
from streams.runtime.deadletter import dead_letter
from streams.runtime.event_clock import clock
from streams.runtime.gaps import OffsetGapGuard
from streams.tables.state import track_state

__all__ = ["count_crossings", "counter_for"]

logger = logging.getLogger(__name__)

_cameras = {c.id: c for c in plant.cameras}
# Decoded counters, a cache of the table. A counter is trusted only while it
# matches the table (a partition may have moved to another worker and back).
_counters: dict[str, LineCounter] = {}
_guard = OffsetGapGuard(app, "count_crossings")
# camera -> capture time (UTC s) of the newest frame whose outputs are queued.
_done: dict[str, float] = {}
# camera -> the progress last sent to its zones, and the wall time of that send.
_marked: dict[str, tuple[float, float]] = {}
#: Marks are repeated this often (wall seconds) even without progress, so the
#: zones can tell a stalled camera from a quiet one.
KEEPALIVE_S = 5.0


def _forget_progress(sender: Any, /, *args: Any, **kwargs: Any) -> None:
    # Revoked cameras may now belong to another worker, whose marks count.
    _done.clear()
    _marked.clear()


app.on_partitions_revoked.connect(_forget_progress)


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
        if frame.camera_id not in clock.liveness.last_seen:
            stored = track_state.get(frame.camera_id)
            if stored is not None:
                clock.seed(frame.camera_id, float(stored["last_time"]), message.partition)
        await clock.on_frame(frame.camera_id, frame.captured_at.timestamp(), message.partition)
        counter = counter_for(frame.camera_id)
        before = counter.last_time
        crossings = counter.trigger(frame)
        if crossings:
            # Sorted by id: per camera and zone, (source time, id) only grows,
            # which is how the zone tells a redelivery from a new delta.
            crossings.sort(key=lambda c: c.id.hex)
            pending = []
            for c in crossings:
                pending.append(
                    await topics.crossings.send(
                        key=c.camera_id.encode(), value=c.model_dump_json().encode(), force=True
                    )
                )
                for d in graph.deltas(c, frame.captured_at):
                    pending.append(
                        await topics.zone_deltas.send(
                            key=d.zone_id.encode(), value=d.model_dump_json().encode(), force=True
                        )
                    )
            _done[frame.camera_id] = counter.last_time  # queued: their order is fixed
            await asyncio.gather(*pending)
        elif counter.last_time > before:
            _done[frame.camera_id] = counter.last_time
        track_state[frame.camera_id] = counter.state_dict()


@app.timer(interval=settings.progress_interval_s)
async def send_progress() -> None:
    """Tell each zone how far its cameras' frames are done (see the module docstring)."""
    wall = asyncio.get_running_loop().time()
    pending = []
    for camera_id, done in list(_done.items()):
        sent, sent_wall = _marked.get(camera_id, (0.0, 0.0))
        if done <= sent and wall - sent_wall < KEEPALIVE_S:
            continue
        at = datetime.fromtimestamp(done, tz=UTC)
        for zone_id in graph.zones_fed_by(camera_id):
            mark = SourceProgress(zone_id=zone_id, camera_id=camera_id, source_time=at)
            pending.append(
                await topics.zone_deltas.send(
                    key=zone_id.encode(), value=mark.model_dump_json().encode(), force=True
                )
            )
        _marked[camera_id] = (done, wall)
    if pending:
        await asyncio.gather(*pending)
