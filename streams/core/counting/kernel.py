"""The two crossing kernels: one frame's tracks and lines at once.

* :meth:`CrossingKernel._step` evaluates the rules (see
  :mod:`streams.core.counting.counter`) for all tracks and lines of a frame
  with numpy: some thirty-five calls whatever the frame's size, on
  contiguous (tracks, lines) arrays (numpy's fast path; broadcasting costs
  several times as much on arrays this small). Most pairs are *simple* (a side
  confirmed, no run on the other side, no path that may meet the line) and
  take two array writes; the few *busy* ones are resolved one by one in
  Python (:meth:`CrossingKernel._resolve_busy`), or, when there are many,
  all pairs at once with numpy (:meth:`CrossingKernel._resolve_all`).
* :meth:`CrossingKernel._step_scalar` does the same one track and line at a
  time in plain Python, cheaper for frames with few tracks. Same operations
  on the same float64 values in the same order: the same state and events to
  the bit (``tests/unit/streams/core/counting/test_properties.py`` runs them
  all against a brute-force reference).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from schemas.events import CrossingEvent, Track
from streams.core.counting.events import CrossingEvents
from streams.core.counting.lines import anchor_scalar
from streams.core.counting.state import (
    _CROSSED,
    _FAR,
    _HEIGHT,
    _HIT_AT,
    _HIT_SEQ,
    _ORIENT,
    _PLANES,
    _PREV_SEEN,
    _PREV_X,
    _PREV_Y,
    _SIDE,
    _X,
    _Y,
    BoolArray,
    FloatArray,
    IntArray,
)
from streams.core.counting.switches import IdSwitches
from streams.core.geometry import segments_intersect

__all__ = ["CrossingKernel"]


class CrossingKernel(IdSwitches):
    """Steps one frame's tracks through the rules; returns the crossings confirmed.

    A base of :class:`~streams.core.counting.LineCounter`, whose constructor
    sets the attributes declared here.
    """

    camera_id: str
    run: str
    _events: CrossingEvents

    #: Up to this many paths that may cross a line in one frame are tested one
    #: by one in Python; more at once with numpy (same results either way).
    _scalar_paths_up_to = 16
    #: Frames of up to this many (track, line) pairs run through a plain
    #: Python path (:meth:`_step_scalar`), cheaper than the numpy kernel's
    #: fixed cost of some thirty-five calls; same state, same results to the bit.
    _scalar_cells_up_to = 64
    #: Up to this many busy (track, line) pairs in a frame (see :meth:`_step`)
    #: are resolved one by one in Python; more at once with numpy.
    _busy_cells_up_to = 24

    @staticmethod
    def _first_boxes(tracks: Sequence[Track], ids: list[int]) -> tuple[list[Track], list[int]]:
        """Drop repeated ids (a broken tracker), keeping each id's first box."""
        del ids  # the ids of ``tracks``, in order
        first: dict[int, Track] = {}
        for t in tracks:
            first.setdefault(t.id, t)
        return list(first.values()), list(first)

    def _rows_for(
        self, ids: list[int], box_list: list[tuple[float, float, float, float]], now: float
    ) -> tuple[list[int], list[bool] | None, list[float]]:
        """State rows of these track ids, which of them start afresh (None:
        none), and when each was seen before (``now`` for fresh ones)."""
        get = self._rows.get
        rows = [get(i, -1) for i in ids]
        # A track unseen for longer than the ttl starts afresh even if the
        # sweep has not freed it yet, so the rule does not depend on sweeps.
        # (Row -1 reads the last row: harmless, its verdict is overridden.)
        seen_of = self._seen
        seen = [seen_of[r] for r in rows]
        edge = now - self.track_ttl_s
        fresh = None
        new: list[int] = []
        if min(seen) < edge:
            fresh = [r < 0 or s < edge for r, s in zip(rows, seen, strict=True)]
            new = [k for k, f in enumerate(fresh) if f]
        elif -1 in rows:  # new ids only, the common case
            new = [k for k, r in enumerate(rows) if r < 0]
            fresh = [False] * len(rows)
            for k in new:
                fresh[k] = True
        if self.id_switch_s > 0:
            self._note_lost(rows, now)
        if new:
            assert fresh is not None
            self._assign_rows(ids, box_list, rows, fresh, seen, new, now)
        return rows, fresh, seen

    def _step(
        self,
        ids: list[int],
        box_list: list[tuple[float, float, float, float]],
        boxes: FloatArray,
        seq: int,
        now: float,
    ) -> list[CrossingEvent]:
        # A numpy call costs about a microsecond whatever its size, so the
        # kernel makes few of them; arrays are (tracks, lines).
        rows, fresh, seen = self._rows_for(ids, box_list, now)
        at_rows = np.array(rows, dtype=np.intp)
        st = self._state[at_rows]  # a copy, written back below
        fresh_k = [k for k, f in enumerate(fresh) if f] if fresh is not None else []
        if fresh_k:
            st[fresh_k] = 0.0
        # Every array below is (tracks, lines) and C-contiguous, line
        # constants included: numpy's fast path (a broadcast costs several
        # times as much on arrays this small).
        tiles = self._tiles.get(len(rows))
        if tiles is None:
            tiles = self._tiles[len(rows)] = self._line_tiles(len(rows))
        ax, ay, dx, dy, length, beyond, neg_beyond, x_terms, y_terms = tiles
        flat = boxes.ravel()
        qx, qy = [
            flat.take(terms[0])
            if len(terms) == 1
            else np.multiply(np.add(flat.take(terms[0]), flat.take(terms[1])), 0.5)
            for terms in (x_terms, y_terms)
        ]
        # orient(A, B, Q): the signed distance times the line's length.
        o_now = np.subtract(qy, ay)
        o_now *= dx
        o_now -= np.multiply(np.subtract(qx, ax), dy)
        dist = o_now / length
        side = st[:, _SIDE]  # a view: written through below
        # Side times distance: at least ``_beyond`` where the track is beyond
        # the band on its confirmed side, at most minus that on the other.
        toward = side * dist
        # Only a path whose ends are not strictly on one side can meet the
        # line (a product that underflows to 0 only lets more paths through).
        maybe = st[:, _ORIENT] * o_now <= 0
        if fresh_k:
            maybe[fresh_k] = False
        # Most pairs are simple: a side confirmed, no run on the other side
        # of the line, no path that may meet it. Their step is two array
        # writes; the busy pairs take the rules in full.
        busy = (toward <= neg_beyond) | maybe | (side == 0)
        bk, bi = busy.nonzero()
        if bk.size > self._busy_cells_up_to:
            events = self._resolve_all(ids, st, dist, maybe, o_now, qx, qy, seq, now)
        else:
            old = st[bk, : _ORIENT + 1, bi].tolist()  # planes SIDE .. ORIENT, before
            # The simple pairs: no run on the far side; ``crossed`` is kept in
            # the band and cleared beyond it.
            st[:, _FAR] = 0.0
            np.copyto(st[:, _CROSSED], 0.0, where=toward >= beyond)
            if old:
                events = self._resolve_busy(ids, box_list, st, bk, bi, old, fresh, seq, now)
            else:
                events = []
        if self.id_switch_s > 0:
            st[:, _PREV_X : _PREV_Y + 1] = st[:, _X : _Y + 1]
            st[:, _PREV_SEEN] = np.array(seen, dtype=np.float64)[:, None]
            st[:, _HEIGHT] = (boxes[:, 3] - boxes[:, 1])[:, None]
        st[:, _X] = qx
        st[:, _Y] = qy
        st[:, _ORIENT] = o_now
        self._state[at_rows] = st
        seen_of = self._seen
        for row in rows:
            seen_of[row] = now
        return events

    def _resolve_busy(
        self,
        ids: list[int],
        box_list: list[tuple[float, float, float, float]],
        st: FloatArray,
        bk: IntArray,
        bi: IntArray,
        old: list[list[float]],
        fresh: list[bool] | None,
        seq: int,
        now: float,
    ) -> list[CrossingEvent]:
        """The rules for the busy pairs (track ``bk``, line ``bi``; ``old``:
        their planes SIDE .. ORIENT before the step) one by one in plain
        Python, as in :meth:`_step_scalar`; their planes SIDE .. HIT_AT are
        written into ``st``, the frame's rows."""
        lines = self._busy_lines
        fseq = float(seq)
        events = []
        out = []
        for k, i, (side, was_crossed, was_far, hit_seq, hit_at, px, py, orient) in zip(
            bk.tolist(), bi.tolist(), old, strict=True
        ):
            anchor, ax, ay, dx, dy, ln_len, md, neg_md, mf, ext, ends = lines[i]
            qx, qy = anchor(box_list[k])
            o_now = dx * (qy - ay) - dy * (qx - ax)
            dist = o_now / ln_len
            crossed = was_crossed > 0
            if (
                (fresh is None or not fresh[k])
                and orient * o_now <= 0
                and (ext or segments_intersect(px, py, qx, qy, *ends))
            ):
                crossed = True
                hit_seq = fseq
                hit_at = now
            if dist >= md and dist > 0:
                zone = 1.0
            elif dist <= neg_md and dist < 0:
                zone = -1.0
            else:
                zone = 0.0
            agree = zone * side
            far = was_far + 1.0 if agree < 0 else 0.0
            confirm = far >= mf
            if confirm and crossed:
                event = self._event(i, ids[k], zone > 0, int(hit_seq), hit_at)
                if event is not None:
                    events.append(event)
            flip = confirm or side == 0
            out.append(
                (
                    zone if flip else side,
                    1.0 if crossed and agree <= 0 and not flip else 0.0,
                    0.0 if confirm else far,
                    hit_seq,
                    hit_at,
                )
            )
        st[bk, : _HIT_AT + 1, bi] = out
        return events

    def _resolve_all(
        self,
        ids: list[int],
        st: FloatArray,
        dist: FloatArray,
        maybe: BoolArray,
        o_now: FloatArray,
        qx: FloatArray,
        qy: FloatArray,
        seq: int,
        now: float,
    ) -> list[CrossingEvent]:
        """The rules for every pair at once, with numpy: for frames with many
        busy pairs (see :meth:`_step`). Planes SIDE .. HIT_AT of ``st``, the
        frame's rows, are written in place."""
        crossed = st[:, _CROSSED] > 0
        ci, cj = maybe.nonzero()
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
        if not emit.any():
            return []
        events = []
        for k, i in zip(*emit.nonzero(), strict=True):
            event = self._event(
                int(i),
                ids[k],
                bool(zone[k, i] > 0),
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
            self._assign_rows(ids, [t.box for t in tracks], rows, fresh, seen, new, now)
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
                qx, qy = anchor_scalar(kind, x1, y1, x2, y2)
            for (
                i, ax, ay, dx, dy, ln_len, md, neg_md, mf, ext, ends,
                j_side, j_crossed, j_far, j_seq, j_at, j_x, j_y, j_orient,
            ) in self._scalar_lines:  # fmt: skip
                if kinds is not None:
                    qx, qy = anchor_scalar(kinds[i], x1, y1, x2, y2)
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
            event = self._event(i, ids[k], inward, int(f[o_seq + i]), f[o_at + i])
            if event is not None:
                events.append(event)
        return events

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
        self, line: int, track_id: int, inward: bool, seq: int, at: float
    ) -> CrossingEvent | None:
        """The event of a crossing of the line of index ``line`` (None where
        the line counts only the other way); ints and floats are Python's."""
        return self._events.event(line, track_id, inward, seq, at)
