"""detections.v1 -> crossings.v1 and zone-deltas.v1 (deltas and progress marks).

One ``LineCounter`` per camera, its state in the ``track-state`` table. Frames
are handled in batches (:mod:`streams.runtime.batches`) and the outputs of a
batch are sent and acknowledged together. The table records how far each
camera got *after* its outputs are acknowledged, and a frame is acked only
after that: after a crash either the state is behind (the frames are
processed again and yield the same event ids, which consumers de-duplicate)
or the outputs are already in Kafka. Nothing is lost.

Recording is per partition of ``detections.v1`` and at most every
``STATE_FLUSH_S`` (:class:`~streams.runtime.recording.Recorder`): until then
the partition's frames wait, unacked, and its cameras' states are written
once for all of them.

Order contract with the zone agent (:class:`streams.core.zones.ZoneOccupancy`):
a frame's deltas go out sorted by crossing id and carry the frame's capture
time; after batches (at most every ``MARKS_EVERY_S``) and every
``progress_interval_s``, one :class:`SourceProgress` record per partition of
``zone-deltas.v1`` tells the zones of that partition how far the cameras
feeding them are done.
Marks cover only frames whose deltas are already queued in the producer, and
Kafka keeps the order within a partition, so a mark never overtakes a delta
it covers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from faust import StreamT
from faust.streams import Stream
from faust.types import EventT
from pydantic import ValidationError

from schemas.events import FrameDetections, SourceProgress
from streams.app import app, graph, plant, settings, topics
from streams.core.counting import LineCounter
from streams.runtime.deadletter import dead_letter
from streams.runtime.event_clock import clock
from streams.runtime.gaps import OffsetGapGuard
from streams.runtime.metrics import CROSSINGS, events_out
from streams.runtime.partitioning import partition_of
from streams.runtime.produce import send
from streams.runtime.recording import Recorder
from streams.tables.state import track_state

__all__ = ["count_crossings", "counter_for"]

logger = logging.getLogger(__name__)

_cameras = {c.id: c for c in plant.cameras}
_guard = OffsetGapGuard(app, "count_crossings")
# camera -> capture time (UTC s) of the newest frame whose outputs are queued.
_done: dict[str, float] = {}
# camera -> the progress last sent to its zones, and the wall time of that send.
_marked: dict[str, tuple[float, float]] = {}
#: Marks are repeated this often (wall seconds) even without progress, so the
#: zones can tell a stalled camera from a quiet one.
KEEPALIVE_S = 5.0
#: Frames per batch, and how long a batch waits to fill (seconds): a short wait
#: keeps live latency low; under a backlog, batches are full at once.
BATCH_SIZE = 1000
BATCH_WITHIN_S = 0.005
#: Marks follow a batch at most this often (wall seconds): each worker sends one
#: record per partition of zone-deltas.v1 each time, so this bounds that traffic
#: (workers x partitions / MARKS_EVERY_S records a second at most).
MARKS_EVERY_S = 0.01
_last_marks = [0.0]
#: Wall seconds a partition's handled frames may wait for their states to be
#: recorded (and for their acks): fewer table writes, and at most this much
#: more to read again after a crash.
STATE_FLUSH_S = 0.5
#: camera -> partition of zone-deltas.v1 -> the zones it feeds there.
_fed_on: dict[str, dict[int, tuple[str, ...]]] = {}
_crossings_out = events_out("count_crossings", topics.crossings.get_topic_name())
_deltas_out = events_out("count_crossings", topics.zone_deltas.get_topic_name())
#: (camera, line, direction) -> its occupancy_crossings_total child (configured lines only).
_per_line: dict[tuple[str, str, str], Any] = {}
for _camera in plant.cameras:
    _parts: dict[int, list[str]] = {}
    for _zone in graph.zones_fed_by(_camera.id):
        _parts.setdefault(partition_of(_zone.encode(), settings.partitions), []).append(_zone)
    _fed_on[_camera.id] = {p: tuple(z) for p, z in _parts.items()}


class _Camera:
    """A camera's counter, cached; the table is the truth."""

    def __init__(self, camera_id: str, stored: dict[str, Any] | None) -> None:
        self.counter = LineCounter(
            camera_id, plant.lines_for(camera_id), plant.version, track_ttl_s=settings.track_ttl_s
        )
        if stored is not None:
            self.counter.load_state(stored)
        #: The dict last written to the table: the cache is valid while the
        #: table still holds this very object (a recovery replaces it).
        self.written = stored


_cache: dict[str, _Camera] = {}


def _remember_written(camera_id: str, state: dict[str, Any]) -> None:
    _cache[camera_id].written = state


_recorder = Recorder(app, track_state, STATE_FLUSH_S, written=_remember_written)


def _forget_revoked(sender: Any, /, *args: Any, **kwargs: Any) -> None:
    # Revoked cameras may now belong to another worker, whose marks count.
    _done.clear()
    _marked.clear()
    _recorder.on_revoked(sender, *args, **kwargs)


app.on_partitions_revoked.connect(_forget_revoked)


def counter_for(camera_id: str) -> LineCounter:
    """The camera's counter: the cached one while the table still holds what it wrote."""
    return _camera_for(camera_id).counter


def _camera_for(camera_id: str) -> _Camera:
    stored = track_state.get(camera_id)
    camera = _cache.get(camera_id)
    if camera is None or stored is not camera.written:
        camera = _cache[camera_id] = _Camera(camera_id, stored)
    return camera


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


async def _count(events: Sequence[EventT]) -> None:
    """Count one batch of frames (see the module docstring)."""
    pending: list[Awaitable[Any]] = []
    # camera -> its cached state and the last event of its frames in this batch.
    touched: dict[str, tuple[_Camera, EventT]] = {}
    handled: list[EventT] = []
    # (camera, line, direction) -> crossings in this batch; deltas in this batch.
    counted: dict[tuple[str, str, str], int] = {}
    n_deltas = 0
    for event in events:
        message = event.message
        if not await _guard.admit(message):
            continue
        handled.append(event)
        try:
            frame = FrameDetections.model_validate_json(event.value)
        except ValidationError as e:
            await dead_letter(message, f"invalid FrameDetections: {e}")
            continue
        problem = _validate(frame)
        if problem is not None:
            await dead_letter(message, problem)
            continue
        camera_id = frame.camera_id
        if camera_id not in clock.liveness.last_seen:
            stored = track_state.get(camera_id)
            if stored is not None:
                clock.seed(camera_id, float(stored["last_time"]), message.partition)
        await clock.on_frame(camera_id, frame.captured_at.timestamp(), message.partition)
        seen = touched.get(camera_id)
        # The cache runs ahead of the table until the partition is recorded.
        camera = seen[0] if seen is not None else _camera_for(camera_id)
        counter = camera.counter
        before = counter.last_time
        crossings = counter.trigger(frame)
        if crossings:
            # Sorted by id: per camera and zone, (source time, id) only grows,
            # which is how the zone tells a redelivery from a new delta.
            crossings.sort(key=lambda c: c.id.hex)
            for c in crossings:
                key = (c.camera_id, c.line_id, c.direction)
                counted[key] = counted.get(key, 0) + 1
                pending.append(
                    await send(
                        app, topics.crossings, c.camera_id.encode(), c.model_dump_json().encode()
                    )
                )
                for d in graph.deltas(c, frame.captured_at):
                    n_deltas += 1
                    pending.append(
                        await send(
                            app,
                            topics.zone_deltas,
                            d.zone_id.encode(),
                            d.model_dump_json().encode(),
                        )
                    )
        if crossings or counter.last_time > before:
            _done[camera_id] = counter.last_time  # queued: their order is fixed
        touched[camera_id] = (camera, event)
    if touched and asyncio.get_running_loop().time() - _last_marks[0] >= MARKS_EVERY_S:
        # Marks right behind the batch: a zone can settle its deltas at once
        # instead of waiting for the timer.
        await _send_marks()
    if pending:
        await asyncio.gather(*pending)
    _count_outputs(counted, n_deltas)
    # Outputs acknowledged: the frames wait in their partitions to be recorded.
    now = asyncio.get_running_loop().time()
    _recorder.handled(handled, now)
    for camera_id, (camera, event) in touched.items():
        _recorder.changed(camera_id, camera.counter.state_dict, event)


def _count_outputs(counted: dict[tuple[str, str, str], int], n_deltas: int) -> None:
    """Metrics of one batch whose outputs are acknowledged: one ``inc`` per line and direction."""
    if not counted:
        return
    for key, n in counted.items():
        child = _per_line.get(key)
        if child is None:
            child = _per_line[key] = CROSSINGS.labels(camera=key[0], line=key[1], direction=key[2])
        child.inc(n)
    _crossings_out.inc(sum(counted.values()))
    _deltas_out.inc(n_deltas)


@app.agent(topics.detections)
async def count_crossings(stream: StreamT[bytes]) -> None:
    """Turn each frame's tracks into crossings; dead-letter what cannot be read."""
    await _recorder.consume(
        cast(Stream, stream),
        _count,
        agent="count_crossings",
        size=BATCH_SIZE,
        within=BATCH_WITHIN_S,
    )


@app.timer(interval=STATE_FLUSH_S / 2)
async def record_idle_partitions() -> None:
    """Record and ack what waits in partitions that got no frames lately."""
    await _recorder.record_idle()


async def _send_marks() -> None:
    """Send the marks of every camera that progressed (or is due a keepalive)."""
    wall = asyncio.get_running_loop().time()
    _last_marks[0] = wall
    # partition -> (its zones that get marks, camera -> mark)
    out: dict[int, tuple[set[str], dict[str, datetime]]] = {}
    for camera_id, done in list(_done.items()):
        sent, sent_wall = _marked.get(camera_id, (0.0, 0.0))
        if done <= sent and wall - sent_wall < KEEPALIVE_S:
            continue
        at = datetime.fromtimestamp(done, tz=UTC)
        for partition, zones in _fed_on.get(camera_id, {}).items():
            zone_ids, marks = out.setdefault(partition, (set(), {}))
            zone_ids.update(zones)
            marks[camera_id] = at
        _marked[camera_id] = (done, wall)
    pending = []
    for partition, (zone_ids, marks) in sorted(out.items()):
        mark = SourceProgress(zone_ids=sorted(zone_ids), marks=marks)
        pending.append(
            await send(
                app,
                topics.zone_deltas,
                mark.zone_ids[0].encode(),
                mark.model_dump_json().encode(),
                partition,
            )
        )
    if pending:
        await asyncio.gather(*pending)
        _deltas_out.inc(len(pending))


@app.timer(interval=settings.progress_interval_s)
async def send_progress() -> None:
    """Marks for cameras that progressed without deltas (see the module docstring)."""
    await _send_marks()
