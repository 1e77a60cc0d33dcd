"""The crossing state machine: tracked boxes in, ``CrossingEvent`` facts out.

One :class:`LineCounter` per camera keeps a small state per track and per line.
The rules, for one track and one line, frame by frame (only frames in which
the track is seen count; ``D`` is the line's ``min_distance_px``, ``N`` its
``min_frames``):

1. The track's anchor (the line's ``anchor`` point of the box) is at signed
   distance ``d`` from the line's infinite extension: positive on the "in"
   (right-hand) side. Its *zone* is +1 when ``d >= D`` (and ``d > 0``), -1
   when ``d <= -D`` (and ``d < 0``), and 0 inside the jitter band.
2. The *path* from the previous anchor to this one is tested against the
   line segment (touching counts; with ``extend_lines``, against the infinite
   line). A hit sets the ``crossed`` flag and remembers the frame. Testing
   paths rather than positions is what keeps fast walkers at 5 fps counted.
3. ``side`` is the side the track was last *confirmed* on (0: not yet). The
   first frame outside the band sets it and counts nothing. A frame on the
   confirmed side clears ``crossed`` (a U-turn, or jitter that touched the
   line) and restarts the far-side run; so does a frame in the band. A frame
   on the other side extends the run; after ``N`` consecutive such frames the
   side flips, and *if* ``crossed`` is set that is a crossing: ``in`` towards
   the positive side, ``out`` towards the negative one. Flipping without
   ``crossed`` (walking round the end of the line) counts nothing.
4. One-way lines drop the crossings of the other direction (the side still
   flips). Re-entries count again: state is per track and line, never
   "counted once per id".
5. A track unseen for more than ``track_ttl_s`` (event time) starts afresh if
   its id comes back, and its state is freed; negative (unconfirmed) ids are
   ignored, and so is a second box with an id already seen in the frame; a
   frame whose ``frame_seq`` goes backwards while its capture time goes on
   comes from a restarted producer, whose tracker numbers people afresh, so
   every track is forgotten.
6. Id switches (on unless ``id_switch_s`` is 0): a *new* track id takes over
   the state of a track that vanished near a line less than ``id_switch_s``
   ago, when it appears where that track was, or was heading (see
   :class:`LineCounter`). This undoes the tracker's id switches at occlusions,
   so a person who disappears on one side and comes back with a new id on the
   other is still counted once.

The event of a crossing carries the frame in which the path last met the line
before the crossing was confirmed (not the confirming frame), so a recount
with another ``min_frames`` gives the same crossing the same id.

The kernels (:mod:`streams.core.counting.kernel`) evaluate the rules for all
tracks and lines of a frame at once, with numpy or, for small frames, in plain
Python (the formulas of :mod:`streams.core.geometry`, same operations in the
same order, hence bit-identical distances); state lives in preallocated
arrays, one row per live track (:mod:`streams.core.counting.state`).
``tests/unit/streams/core/counting/test_properties.py`` checks both kernels
against a plain per-track reference. The state is plain data
(:meth:`LineCounter.state_dict`) so a Faust table, a replay or a benchmark can
hold it; the counter is pure and deterministic.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from itertools import chain

import numpy as np

from schemas.config import LineConfig
from schemas.events import CrossingEvent, FrameDetections, Track
from streams.core.counting.events import CrossingEvents
from streams.core.counting.kernel import CrossingKernel

__all__ = ["LineCounter"]


class LineCounter(CrossingKernel):
    """Counts crossings of one camera's lines (the rules are in the module docstring).

    Args:
        camera_id: The camera whose frames are fed to :meth:`trigger`.
        lines: That camera's counting lines.
        config_version: Stamped on every event (see ``PlantConfig.version``).
        track_ttl_s: A track unseen for longer than this (event time, seconds)
            is forgotten, so memory stays bounded on streams that run for months.
        run: Recount run id; empty for live counting. Part of every event id.
        extend_lines: Test paths against the infinite extension of the lines
            rather than the drawn segments: ``True`` for every line, or the ids
            of the lines to extend. For a line across a whole corridor whose
            ends the camera does not see.
        id_switch_s: Tolerance of tracker id switches; 0 turns it off. When a
            new id appears, it continues the state of a track that is not in
            the frame, was last seen at most this long ago (seconds, event
            time) within ``id_switch_near`` box heights of a line segment, and
            whose last anchor, or the point it was heading for at its last
            velocity, is within ``id_switch_radius`` box heights of the new
            box's anchor; the closest pair first, each track at most once. The
            path from the lost track's last anchor to the new one is then
            tested like any other step. The defaults were chosen on the
            benchmark of ``tests/bench/bench_counters.py``.
        id_switch_near: See ``id_switch_s``; in heights of the lost box.
        id_switch_radius: See ``id_switch_s``; in heights of the lost box.
    """

    def __init__(
        self,
        camera_id: str,
        lines: Iterable[LineConfig],
        config_version: str,
        track_ttl_s: float = 10.0,
        run: str = "",
        *,
        extend_lines: bool | Iterable[str] = False,
        id_switch_s: float = 1.5,
        id_switch_near: float = 0.5,
        id_switch_radius: float = 0.4,
    ) -> None:
        self.camera_id = camera_id
        self.lines = tuple(lines)
        self.config_version = config_version
        self.track_ttl_s = track_ttl_s
        self.run = run
        self.id_switch_s = id_switch_s
        self.id_switch_near = id_switch_near
        self.id_switch_radius = id_switch_radius
        self.last_seq = -1
        self.last_time = 0.0
        self._last_sweep = 0.0
        if isinstance(extend_lines, bool):
            extended = {ln.id for ln in self.lines} if extend_lines else set()
        else:
            extended = set(extend_lines)
        self.extended_lines = frozenset(extended)
        self._prepare_lines(extended)
        self._events = CrossingEvents(
            self.lines, camera_id=camera_id, run=run, config_version=config_version
        )
        self._reset_tracks(capacity=64)
        # struct.Struct of n boxes of 4 float64, by n.
        self._box_packing: dict[int, struct.Struct] = {}

    def trigger(self, frame: FrameDetections) -> list[CrossingEvent]:
        """Feed one frame; return the crossings it confirmed (usually none).

        Called by the crossings agent for every frame of ``detections.v1``, in
        order, and by the replay and benchmark tools. Frames at or before the
        last one seen (capture time, then ``frame_seq``) are ignored: a frame
        redelivered after a restart must not move tracks backwards.
        """
        now = frame.captured_at.timestamp()
        seq = frame.frame_seq
        # Time first: a restarted producer starts its frame numbers again at 0
        # but its clock goes on.
        if (now, seq) <= (self.last_time, self.last_seq):
            return []
        if seq < self.last_seq:
            # A restarted producer: its tracker numbers people from scratch, so
            # an id seen before is somebody else now.
            self._reset_tracks(capacity=len(self._seen))
        self.last_seq = seq
        self.last_time = now
        if now - self._last_sweep >= 1.0:
            self._expire(now)
        tracks: Sequence[Track] = frame.tracks
        ids = [t.id for t in tracks]
        if not ids or not self.lines:
            return []
        if min(ids) < 0:  # unconfirmed tracks: the tracker itself is unsure
            tracks = tuple(t for t in tracks if t.id >= 0)
            ids = [t.id for t in tracks]
            if not ids:
                return []
        if len(set(ids)) != len(ids):
            tracks, ids = self._first_boxes(tracks, ids)
        if len(ids) * len(self.lines) <= self._scalar_cells_up_to:
            return self._step_scalar(tracks, ids, seq, now)
        self._flush()
        box_list = [t.box for t in tracks]
        # Packing the floats is the cheapest way into an array (a third
        # cheaper than ``np.fromiter``); the array is read-only.
        packing = self._box_packing.get(len(ids))
        if packing is None:
            packing = self._box_packing[len(ids)] = struct.Struct(f"{4 * len(ids)}d")
        boxes = np.frombuffer(packing.pack(*chain.from_iterable(box_list))).reshape(-1, 4)
        return self._step(ids, box_list, boxes, seq, now)
