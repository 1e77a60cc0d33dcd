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

The kernel evaluates the rules for all tracks and lines of a frame at once
with numpy (the formulas of :mod:`streams.core.geometry`, same operations in the
same order, hence bit-identical distances); state lives in preallocated
arrays, one row per live track. ``tests/unit/streams/test_counting_properties.py``
checks it against a plain per-track reference. The state is plain data
(:meth:`LineCounter.state_dict`) so a Faust table, a replay or a benchmark can
hold it; the counter is pure and deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import chain, repeat
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from schemas.config import LineConfig
from schemas.events import CrossingEvent, FrameDetections, Track, crossing_id
from streams.core.geometry import ANCHORS, segment_distance, segments_intersect

__all__ = ["STATE_FORMAT", "LineCounter"]

#: Version of :meth:`LineCounter.state_dict`'s layout. State in another layout
#: is dropped on load: only tracks in flight are lost, never counted events.
STATE_FORMAT: Final = 2

# Planes of the per-track state, an array of shape (rows, planes, lines). All
# float64, so one gather and one scatter move a frame's state; the integer
# planes hold small integers and frame numbers, exact below 2**53.
_SIDE, _CROSSED, _FAR, _HIT_SEQ, _HIT_AT, _X, _Y, _ORIENT = range(8)
# What the id-switch tolerance needs: the anchor before the last one, when it
# was seen, and the box height (its unit of distance). Same in every line.
_PREV_X, _PREV_Y, _PREV_SEEN, _HEIGHT = range(8, 12)
_PLANES = 12
# The scalar path moves the planes X, Y and PREV_X .. HEIGHT as slices.
assert (_X, _Y, _ORIENT, _PREV_X, _PREV_Y, _PREV_SEEN, _HEIGHT) == (5, 6, 7, 8, 9, 10, 11)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _anchor_columns(kind: str, boxes: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Anchor x, y of every box: ``streams.core.geometry.ANCHORS`` applied to columns."""
    return ANCHORS[kind]((boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))  # type: ignore[arg-type,return-value]


def _anchor_scalar(kind: str, x1: float, y1: float, x2: float, y2: float) -> tuple[float, float]:
    """Anchor x, y of one box (``streams.core.geometry.ANCHORS``)."""
    return ANCHORS[kind]((x1, y1, x2, y2))


class LineCounter:
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

    #: Up to this many paths that may cross a line in one frame are tested one
    #: by one in Python; more at once with numpy (same results either way).
    _scalar_paths_up_to = 16
    #: Frames of up to this many (track, line) pairs run through a plain
    #: Python path (:meth:`_step_scalar`), cheaper than the numpy kernel's
    #: fixed cost of some forty calls; same state, same results to the bit.
    _scalar_cells_up_to = 64

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
        # Per-line constants, one entry per line, for the vectorised kernel.
        pts = [(*ln.points[0], *ln.points[1]) for ln in self.lines]
        self._ax = np.array([p[0] for p in pts], dtype=np.float64)
        self._ay = np.array([p[1] for p in pts], dtype=np.float64)
        self._bx = np.array([p[2] for p in pts], dtype=np.float64)
        self._by = np.array([p[3] for p in pts], dtype=np.float64)
        self._dx = self._bx - self._ax
        self._dy = self._by - self._ay
        # Python's float power, as in geometry.signed_distance: equal to the bit.
        self._len = np.array(
            [((p[2] - p[0]) * (p[2] - p[0]) + (p[3] - p[1]) * (p[3] - p[1])) ** 0.5 for p in pts],
            dtype=np.float64,
        )
        # ax, ay, bx, by per line, gathered at once for the paths that may cross.
        self._ends = np.stack([self._ax, self._ay, self._bx, self._by], axis=1)
        self._ends_list: list[tuple[float, float, float, float]] = [
            (float(a), float(b), float(c), float(d)) for a, b, c, d in self._ends.tolist()
        ]
        self._lo_x, self._hi_x = np.minimum(self._ax, self._bx), np.maximum(self._ax, self._bx)
        self._lo_y, self._hi_y = np.minimum(self._ay, self._by), np.maximum(self._ay, self._by)
        self._min_d = np.array([ln.min_distance_px for ln in self.lines], dtype=np.float64)
        self._neg_min_d = -self._min_d
        self._min_f = np.array([ln.min_frames for ln in self.lines], dtype=np.float64)
        self._zero_band = bool((self._min_d == 0).any())
        self._extended = np.array([ln.id in extended for ln in self.lines], dtype=np.bool_)
        self._any_extended = bool(self._extended.any())
        self._extended_list: list[bool] = self._extended.tolist()
        kinds = sorted({ln.anchor for ln in self.lines})
        self._kinds = tuple(kinds)
        self._kind_of_line = np.array([kinds.index(ln.anchor) for ln in self.lines], dtype=np.intp)
        # The same constants as Python floats, for the scalar path.
        self._line_consts: list[tuple[float, ...]] = [
            (ax, ay, dx, dy, ln_len, md, -md, mf)
            for ax, ay, dx, dy, ln_len, md, mf in zip(
                self._ax.tolist(),
                self._ay.tolist(),
                self._dx.tolist(),
                self._dy.tolist(),
                self._len.tolist(),
                self._min_d.tolist(),
                self._min_f.tolist(),
                strict=True,
            )
        ]
        # Per line for the scalar path: its constants, and where its entries
        # of each plane sit in a row's flat list.
        n = len(self.lines)
        self._scalar_lines = [
            (
                i,
                *self._line_consts[i],
                self._extended_list[i],
                self._ends_list[i],
                *(p * n + i for p in (_SIDE, _CROSSED, _FAR, _HIT_SEQ, _HIT_AT, _X, _Y, _ORIENT)),
            )
            for i in range(n)
        ]
        self._reset_tracks(capacity=64)

    # ------------------------------------------------------------------ state

    def _reset_tracks(self, capacity: int) -> None:
        self._rows: dict[int, int] = {}
        # Rows seen in the last frame with tracks, and rows that vanished near
        # a line since (row -> when last seen): the id-switch candidates.
        self._present: set[int] = set()
        self._lost: dict[int, tuple[float, ...]] = {}
        self._free: list[int] = list(range(capacity - 1, -1, -1))
        self._state: FloatArray = np.zeros((capacity, _PLANES, len(self.lines)))
        # When each row was last seen: a list, as the scalar path reads and
        # writes single entries (an array's cost a tenth of a microsecond each).
        self._seen: list[float] = [0.0] * capacity
        self._track_of_row: IntArray = np.full(capacity, -1, dtype=np.int64)
        # Rows last stepped by the scalar path, held as flat Python lists
        # (planes after planes) and newer than their row of ``_state``.
        self._py_rows: dict[int, list[float]] = {}

    def _grow(self) -> None:
        old = len(self._seen)
        new = old * 2

        def bigger(a: Any, fill: float = 0.0) -> Any:
            out = np.full((new, *a.shape[1:]), fill, dtype=a.dtype)
            out[:old] = a
            return out

        self._state = bigger(self._state)
        self._seen.extend([0.0] * old)
        self._track_of_row = bigger(self._track_of_row, -1)
        self._free.extend(range(new - 1, old - 1, -1))

    def _allocate(self, track_id: int) -> int:
        if not self._free:
            self._grow()
        row = self._free.pop()
        self._rows[track_id] = row
        self._track_of_row[row] = track_id
        return row

    def _release(self, row: int) -> None:
        self._present.discard(row)
        self._lost.pop(row, None)
        self._py_rows.pop(row, None)
        del self._rows[int(self._track_of_row[row])]
        self._track_of_row[row] = -1
        self._free.append(row)

    @property
    def track_ids(self) -> frozenset[int]:
        """Ids of the tracks whose state is currently held."""
        return frozenset(self._rows)

    # ----------------------------------------------------------------- kernel

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
        boxes = np.fromiter(
            chain.from_iterable([t.box for t in tracks]), np.float64, 4 * len(ids)
        ).reshape(-1, 4)
        rows, fresh, seen = self._rows_for(ids, boxes, now)
        return self._step(ids, boxes, rows, fresh, seen, seq, now)

    @staticmethod
    def _first_boxes(tracks: Sequence[Track], ids: list[int]) -> tuple[list[Track], list[int]]:
        """Drop repeated ids (a broken tracker), keeping each id's first box."""
        del ids  # the ids of ``tracks``, in order
        first: dict[int, Track] = {}
        for t in tracks:
            first.setdefault(t.id, t)
        return list(first.values()), list(first)

    def _rows_for(
        self, ids: list[int], boxes: FloatArray, now: float
    ) -> tuple[IntArray, BoolArray, FloatArray]:
        """State rows of these track ids, which of them start afresh, and
        when each was seen before (``now`` for fresh ones)."""
        get = self._rows.get
        rows = np.fromiter(map(get, ids, repeat(-1)), np.int64, len(ids))
        # A track unseen for longer than the ttl starts afresh even if the
        # sweep has not freed it yet, so the rule does not depend on sweeps.
        # (Row -1 reads the last row: harmless, its verdict is overridden.)
        seen_of = self._seen
        seen = np.array([seen_of[r] for r in rows.tolist()], dtype=np.float64)
        fresh: BoolArray = (rows < 0) | (seen < now - self.track_ttl_s)
        any_fresh = bool(fresh.any())
        if self.id_switch_s > 0:
            self._note_lost(rows.tolist(), now)
        if not any_fresh:
            return rows, fresh, seen
        new = [int(k) for k in np.flatnonzero(fresh)]
        if self._lost:
            for k, row in self._switches(ids, boxes.tolist(), rows, new, now):
                # The new id continues the lost track's state and row.
                del self._rows[int(self._track_of_row[row])]
                del self._lost[row]
                self._rows[ids[k]] = row
                self._track_of_row[row] = ids[k]
                rows[k] = row
                fresh[k] = False
                seen[k] = self._seen[row]
        for k in new:
            if fresh[k]:
                if rows[k] < 0:
                    rows[k] = self._allocate(ids[k])
                seen[k] = now
        if self.id_switch_s > 0:
            self._present.update(int(rows[k]) for k in new)
        return rows, fresh, seen

    def _note_lost(self, rows: list[int], now: float) -> None:
        """Move the tracks of the last frame that are not in this one, and
        vanished near a line, to the id-switch candidates."""
        here = set(rows)
        here.discard(-1)
        n = len(self.lines)
        for row in self._present - here:
            st = self._row_state(row)
            x, y = st[_X * n : _X * n + n], st[_Y * n : _Y * n + n]
            reach = self.id_switch_near * st[_HEIGHT * n]
            if any(
                segment_distance(*ends, x[i], y[i]) <= reach
                for i, ends in enumerate(self._ends_list)
            ):
                self._lost[row] = (
                    self._seen[row],
                    x[0],
                    y[0],
                    # previous x, y, when, box height
                    *st[_PREV_X * n : _PLANES * n : n],
                )
        if self._lost:
            for row in here & self._lost.keys():
                del self._lost[row]  # back under its own id
            horizon = now - self.id_switch_s
            for row in [r for r, lost in self._lost.items() if lost[0] < horizon]:
                del self._lost[row]
        self._present = here

    def _switches(
        self,
        ids: list[int],
        boxes: Sequence[Sequence[float]],
        rows: IntArray | list[int],
        new: list[int],
        now: float,
    ) -> list[tuple[int, int]]:
        """Pairs (index of a new track in the frame, row of the lost track it continues)."""
        # Ids that expired and came back keep their own (reset) row.
        new = [k for k in new if rows[k] < 0]
        if not new:
            return []
        kind = self.lines[0].anchor
        anchors = [_anchor_scalar(kind, *boxes[k]) for k in new]
        options: list[tuple[float, int, int, int]] = []
        for row, (seen, x, y, px, py, pseen, height) in self._lost.items():
            # Where it was, and where it was heading at its last velocity (a
            # person may also stop or turn round while hidden).
            ahead = (now - seen) / (seen - pseen) if seen > pseen else 0.0
            hx, hy = x + (x - px) * ahead, y + (y - py) * ahead
            reach = self.id_switch_radius * height
            for k, (gx, gy) in zip(new, anchors, strict=True):
                dist = min(math.hypot(gx - x, gy - y), math.hypot(gx - hx, gy - hy))
                if dist <= reach:
                    options.append((dist, k, int(self._track_of_row[row]), row))
        # Closest pairs first, each new track and each lost one used once;
        # ties go by track id, so a restored counter decides alike.
        pairs: list[tuple[int, int]] = []
        taken_k: set[int] = set()
        taken_row: set[int] = set()
        for _, k, _, row in sorted(options):
            if k not in taken_k and row not in taken_row:
                pairs.append((k, row))
                taken_k.add(k)
                taken_row.add(row)
        return pairs

    def _step(
        self,
        ids: list[int],
        boxes: FloatArray,
        rows: IntArray,
        fresh: BoolArray,
        seen: FloatArray,
        seq: int,
        now: float,
    ) -> list[CrossingEvent]:
        # A numpy call costs about a microsecond whatever its size, so the
        # kernel makes few of them; arrays are (tracks, lines).
        st = self._state[rows]  # a copy, written back below
        any_fresh = bool(fresh.any())
        if any_fresh:
            st[fresh] = 0.0
        if len(self._kinds) == 1:
            x, y = _anchor_columns(self._kinds[0], boxes)
            qx: FloatArray = x[:, None]  # broadcasts over lines
            qy: FloatArray = y[:, None]
        else:
            cols = [_anchor_columns(k, boxes) for k in self._kinds]
            qx = np.stack([c[0] for c in cols], axis=1)[:, self._kind_of_line]
            qy = np.stack([c[1] for c in cols], axis=1)[:, self._kind_of_line]
        # orient(A, B, Q): the signed distance times the line's length.
        o_now = self._dx * (qy - self._ay) - self._dy * (qx - self._ax)
        dist = o_now / self._len
        crossed = st[:, _CROSSED] > 0
        # Only a path whose ends are not strictly on one side can meet the
        # line (a product that underflows to 0 only lets more paths through).
        maybe = (st[:, _ORIENT] * o_now) <= 0
        if any_fresh:
            maybe[fresh] = False
        ci, cj = np.nonzero(maybe)
        if ci.size:
            prev = st[ci, :, cj]  # (paths, planes)
            pqx = qx[ci, cj] if qx.shape[1] > 1 else qx[ci, 0]
            pqy = qy[ci, cj] if qy.shape[1] > 1 else qy[ci, 0]
            if ci.size <= self._scalar_paths_up_to:
                met = self._paths_meet_scalar(prev[:, _X], prev[:, _Y], pqx, pqy, cj)
            else:
                met = self._paths_meet(
                    prev[:, _X], prev[:, _Y], pqx, pqy, prev[:, _ORIENT], o_now[ci, cj], cj
                )
            if met.any():
                hi, hj = ci[met], cj[met]
                crossed[hi, hj] = True
                st[hi, _HIT_SEQ, hj] = seq
                st[hi, _HIT_AT, hj] = now
        if self._zero_band:
            zone = np.subtract(
                (dist >= self._min_d) & (dist > 0),
                (dist <= self._neg_min_d) & (dist < 0),
                dtype=np.float64,
            )
        else:
            zone = np.subtract(dist >= self._min_d, dist <= self._neg_min_d, dtype=np.float64)
        side = st[:, _SIDE]
        agree = zone * side  # > 0: on the confirmed side; < 0: on the other one
        far = (st[:, _FAR] + 1.0) * (agree < 0)
        confirm = far >= self._min_f  # far > 0 only on the other side
        emit = confirm & crossed
        # Cleared when resolved: on the confirmed side, or a new side taken
        # (a confirmed flip, or the first sighting outside the band).
        flip = confirm | (side == 0)
        crossed &= (agree <= 0) & ~flip
        st[:, _CROSSED] = crossed
        np.copyto(side, zone, where=flip)  # side is a view of st
        far[confirm] = 0.0
        st[:, _FAR] = far
        if self.id_switch_s > 0:
            st[:, _PREV_X] = st[:, _X]
            st[:, _PREV_Y] = st[:, _Y]
            st[:, _PREV_SEEN] = seen[:, None]
            st[:, _HEIGHT] = (boxes[:, 3] - boxes[:, 1])[:, None]
        st[:, _X] = qx
        st[:, _Y] = qy
        st[:, _ORIENT] = o_now
        self._state[rows] = st
        seen_of = self._seen
        for row in rows.tolist():
            seen_of[row] = now
        if not emit.any():
            return []
        events = []
        for k, i in zip(*np.nonzero(emit), strict=True):
            event = self._event(
                self.lines[i],
                ids[k],
                zone[k, i] > 0,
                int(st[k, _HIT_SEQ, i]),
                float(st[k, _HIT_AT, i]),
            )
            if event is not None:
                events.append(event)
        return events

    def _step_scalar(
        self, tracks: Sequence[Track], ids: list[int], seq: int, now: float
    ) -> list[CrossingEvent]:
        """:meth:`_rows_for` and :meth:`_step` one track and line at a time.

        The same operations on the same float64 values in the same order, so
        the same state and events to the bit. The rows it steps stay Python
        lists (``_py_rows``, one flat list per row) until the numpy kernel or
        a save needs them: moving a frame's rows in and out of the array
        would cost more than the arithmetic.
        """
        n_lines = len(self.lines)
        get = self._rows.get
        rows = [get(i, -1) for i in ids]
        # (Row -1 reads the last row: harmless, its verdict is overridden.)
        seen_of = self._seen
        seen = [seen_of[r] for r in rows]
        edge = now - self.track_ttl_s
        fresh = [r < 0 or s < edge for r, s in zip(rows, seen, strict=True)]
        switching = self.id_switch_s > 0
        if switching:
            self._note_lost(rows, now)
        if True in fresh:
            new = [k for k, f in enumerate(fresh) if f]
            if self._lost:
                boxes = [t.box for t in tracks]
                for k, row in self._switches(ids, boxes, rows, new, now):
                    del self._rows[int(self._track_of_row[row])]
                    del self._lost[row]
                    self._rows[ids[k]] = row
                    self._track_of_row[row] = ids[k]
                    rows[k] = row
                    fresh[k] = False
                    seen[k] = seen_of[row]
            for k in new:
                if fresh[k]:
                    if rows[k] < 0:
                        rows[k] = self._allocate(ids[k])
                    seen[k] = now
            if switching:
                self._present.update(rows[k] for k in new)
        n_rows = _PLANES * n_lines
        cache = self._py_rows
        missing = [r for r, f in zip(rows, fresh, strict=True) if not f and r not in cache]
        if missing:  # rows last stepped by the numpy kernel, or restored
            loaded = self._state[missing].reshape(len(missing), n_rows).tolist()
            cache.update(zip(missing, loaded, strict=True))
        o_seq, o_at = _HIT_SEQ * n_lines, _HIT_AT * n_lines
        o_x, o_orient = _X * n_lines, _ORIENT * n_lines
        # Planes X, Y then ORIENT, and PREV_X, PREV_Y, PREV_SEEN, HEIGHT, last.
        o_px, o_pseen = _PREV_X * n_lines, _PREV_SEEN * n_lines
        kinds = [ln.anchor for ln in self.lines] if len(self._kinds) > 1 else None
        kind = self._kinds[0]
        fseq = float(seq)
        emits: list[tuple[int, int, bool]] = []
        blocks = []
        for k, t in enumerate(tracks):
            x1, y1, x2, y2 = t.box
            row = rows[k]
            is_fresh = fresh[k]
            if is_fresh:
                f = cache[row] = [0.0] * n_rows
            else:
                f = cache[row]
            blocks.append(f)
            if switching:  # X, Y before this step; PREV_X, PREV_Y too
                f[o_px:o_pseen] = f[o_x:o_orient]
                f[o_pseen:] = [seen[k]] * n_lines + [y2 - y1] * n_lines
            if kinds is None:
                qx, qy = _anchor_scalar(kind, x1, y1, x2, y2)
            for (
                i, ax, ay, dx, dy, ln_len, md, neg_md, mf, ext, ends,
                j_side, j_crossed, j_far, j_seq, j_at, j_x, j_y, j_orient,
            ) in self._scalar_lines:  # fmt: skip
                if kinds is not None:
                    qx, qy = _anchor_scalar(kinds[i], x1, y1, x2, y2)
                o_now = dx * (qy - ay) - dy * (qx - ax)
                dist = o_now / ln_len
                crossed = f[j_crossed] > 0
                if (
                    not is_fresh
                    and f[j_orient] * o_now <= 0
                    and (ext or segments_intersect(f[j_x], f[j_y], qx, qy, *ends))
                ):
                    crossed = True
                    f[j_seq] = fseq
                    f[j_at] = now
                if dist >= md and dist > 0:
                    zone = 1.0
                elif dist <= neg_md and dist < 0:
                    zone = -1.0
                else:
                    zone = 0.0
                side = f[j_side]
                agree = zone * side
                far = f[j_far] + 1.0 if agree < 0 else 0.0
                confirm = far >= mf
                if confirm and crossed:
                    emits.append((k, i, zone > 0))
                flip = confirm or side == 0
                f[j_crossed] = 1.0 if crossed and agree <= 0 and not flip else 0.0
                if flip:
                    f[j_side] = zone
                f[j_far] = 0.0 if confirm else far
                if kinds is not None:
                    f[j_x] = qx
                    f[j_y] = qy
                f[j_orient] = o_now
            if kinds is None:
                f[o_x:o_orient] = [qx] * n_lines + [qy] * n_lines
        for row in rows:
            seen_of[row] = now
        if not emits:
            return []
        events = []
        for k, i, inward in emits:
            f = blocks[k]
            event = self._event(self.lines[i], ids[k], inward, int(f[o_seq + i]), f[o_at + i])
            if event is not None:
                events.append(event)
        return events

    def _flush(self) -> None:
        """Write the rows held as Python lists (by :meth:`_step_scalar`) back
        into the state array, before numpy reads it."""
        cache = self._py_rows
        if cache:
            rows = list(cache)
            self._state[rows] = np.array(list(cache.values()), dtype=np.float64).reshape(
                len(rows), _PLANES, len(self.lines)
            )
            cache.clear()

    def _row_state(self, row: int) -> list[float]:
        """One row's state, planes after planes, wherever it is held."""
        held = self._py_rows.get(row)
        return self._state[row].ravel().tolist() if held is None else held

    def _paths_meet_scalar(
        self, px: FloatArray, py: FloatArray, qx: FloatArray, qy: FloatArray, line: IntArray
    ) -> BoolArray:
        """:meth:`_paths_meet` one path at a time, with ``geometry.segments_intersect``
        itself: cheaper than a dozen numpy calls when only a few paths may cross."""
        ends = self._ends_list
        extended = self._extended_list
        out = [
            extended[i] or segments_intersect(p_x, p_y, q_x, q_y, *ends[i])
            for p_x, p_y, q_x, q_y, i in zip(
                px.tolist(), py.tolist(), qx.tolist(), qy.tolist(), line.tolist(), strict=True
            )
        ]
        return np.array(out, dtype=np.bool_)

    def _paths_meet(
        self,
        px: FloatArray,
        py: FloatArray,
        qx: FloatArray,
        qy: FloatArray,
        d1: FloatArray,
        d2: FloatArray,
        line: npt.NDArray[np.intp],
    ) -> BoolArray:
        """``geometry.segments_intersect`` for paths P->Q against their lines.

        ``d1``, ``d2`` are ``orient(A, B, P)`` and ``orient(A, B, Q)``, already
        known; only paths whose ends are not strictly on one side get here.
        """
        ends = self._ends[line]
        ax, ay, bx, by = ends[:, 0], ends[:, 1], ends[:, 2], ends[:, 3]
        d3 = (qx - px) * (ay - py) - (qy - py) * (ax - px)
        d4 = (qx - px) * (by - py) - (qy - py) * (bx - px)
        # Strictly opposite signs. (Products of orientations underflow only for
        # coordinates a hair's breadth apart, 1e-150 px, never in pixel space.)
        met: BoolArray = ((d1 * d2) < 0) & ((d3 * d4) < 0)
        if not (d1 * d2 * d3 * d4).all():
            # Rare: an end of one segment lies on the other one's line.
            lo_x, hi_x = self._lo_x[line], self._hi_x[line]
            lo_y, hi_y = self._lo_y[line], self._hi_y[line]
            p_lo_x, p_hi_x = np.minimum(px, qx), np.maximum(px, qx)
            p_lo_y, p_hi_y = np.minimum(py, qy), np.maximum(py, qy)
            met = met | (
                ((d1 == 0) & (lo_x <= px) & (px <= hi_x) & (lo_y <= py) & (py <= hi_y))
                | ((d2 == 0) & (lo_x <= qx) & (qx <= hi_x) & (lo_y <= qy) & (qy <= hi_y))
                | ((d3 == 0) & (p_lo_x <= ax) & (ax <= p_hi_x) & (p_lo_y <= ay) & (ay <= p_hi_y))
                | ((d4 == 0) & (p_lo_x <= bx) & (bx <= p_hi_x) & (p_lo_y <= by) & (by <= p_hi_y))
            )
        if self._any_extended:
            met = met | self._extended[line]
        return met

    def _event(
        self, line: LineConfig, track_id: int, inward: bool, seq: int, at: float
    ) -> CrossingEvent | None:
        direction = "in" if inward else "out"
        if line.allowed != "both" and line.allowed != direction:
            return None
        from_zone, to_zone = (
            (line.from_zone, line.to_zone) if inward else (line.to_zone, line.from_zone)
        )
        return CrossingEvent(
            id=crossing_id(self.camera_id, line.id, track_id, seq, at, self.run),
            camera_id=self.camera_id,
            line_id=line.id,
            track_id=track_id,
            frame_seq=seq,
            direction=direction,
            from_zone=from_zone,
            to_zone=to_zone,
            occurred_at=datetime.fromtimestamp(at, tz=UTC),
            config_version=self.config_version,
        )

    def _expire(self, now: float) -> None:
        self._last_sweep = now
        if not self._rows:
            return
        stale = np.flatnonzero(
            (self._track_of_row >= 0) & (np.array(self._seen) < now - self.track_ttl_s)
        )
        for row in stale.tolist():
            self._release(row)

    # ------------------------------------------------------------ persistence

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state, for a Faust table or a checkpoint.

        Called by the crossings agent after every frame; tracks are listed in
        id order so equal states serialise equally.
        """
        ids = sorted(self._rows)
        rows = [self._rows[t] for t in ids]
        return {
            "format": STATE_FORMAT,
            "config_version": self.config_version,
            "last_seq": self.last_seq,
            "last_time": self.last_time,
            "last_sweep": self._last_sweep,
            "tracks": {
                "ids": ids,
                "seen": [self._seen[r] for r in rows],
                "state": self._state_lists(rows),
                "present": sorted(int(self._track_of_row[r]) for r in self._present),
                "lost": {str(self._track_of_row[r]): list(v) for r, v in self._lost.items()},
            },
        }

    def _state_lists(self, rows: list[int]) -> list[list[list[float]]]:
        """``self._state[rows].tolist()``, with the rows held as Python lists."""
        cache = self._py_rows
        if not cache:
            return self._state[rows].tolist()
        n = len(self.lines)
        planes = [slice(p, p + n) for p in range(0, _PLANES * n, n)]
        out = []
        for row in rows:
            held = cache.get(row)
            if held is None:
                out.append(self._state[row].tolist())
            else:
                out.append([held[p] for p in planes])
        return out

    def load_state(self, data: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output.

        State saved under another configuration version or layout is dropped
        except for the frame position: line indices would not line up.
        """
        self.last_seq = int(data.get("last_seq", -1))
        self.last_time = float(data.get("last_time", 0.0))
        self._last_sweep = float(data.get("last_sweep", 0.0))
        tracks = data.get("tracks")
        ids = tracks.get("ids", []) if isinstance(tracks, dict) else []
        usable = (
            data.get("format") == STATE_FORMAT
            and data.get("config_version") == self.config_version
            and bool(ids)
        )
        capacity = 64
        while usable and capacity < len(ids):
            capacity *= 2
        self._reset_tracks(capacity)
        if not usable or not isinstance(tracks, dict):
            return
        rows = [self._allocate(int(t)) for t in ids]
        n = len(ids)
        for row, when in zip(rows, tracks["seen"], strict=True):
            self._seen[row] = float(when)
        self._state[rows] = np.asarray(tracks["state"], dtype=np.float64).reshape(
            n, _PLANES, len(self.lines)
        )
        self._present = {
            self._rows[int(t)] for t in tracks.get("present", []) if int(t) in self._rows
        }
        self._lost = {
            self._rows[int(t)]: tuple(float(v) for v in lost)
            for t, lost in tracks.get("lost", {}).items()
            if int(t) in self._rows
        }
