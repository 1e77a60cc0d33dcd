"""Tolerance of tracker id switches near a line.

A tracker often gives a person a new id after an occlusion. When a *new* id
appears where a track vanished near a line less than ``id_switch_s`` ago (or
where it was heading), the new id takes over the lost track's state row, so
the person is counted once. See :class:`~streams.core.counting.LineCounter`
for the parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from streams.core.counting.lines import LineConstants, anchor_scalar
from streams.core.counting.state import (
    _HEIGHT,
    _PLANES,
    _PREV_X,
    _X,
    _Y,
    BoolArray,
    FloatArray,
    IntArray,
    TrackRows,
)
from streams.core.geometry import segment_distance

__all__ = ["IdSwitches"]


class IdSwitches(LineConstants, TrackRows):
    """Candidates for an id switch and their matching to new ids.

    A base of :class:`~streams.core.counting.LineCounter`, whose constructor
    sets the attributes declared here.
    """

    id_switch_s: float
    id_switch_near: float
    id_switch_radius: float

    def _assign_rows(
        self,
        ids: list[int],
        boxes: FloatArray | Sequence[Sequence[float]],
        rows: IntArray | list[int],
        fresh: BoolArray | list[bool],
        seen: FloatArray | list[float],
        new: list[int],
        now: float,
    ) -> None:
        """Give the frame's fresh tracks (indices ``new``) their rows, in place.

        A new id that continues a lost track (:meth:`_switches`) takes over
        that track's row, state and time last seen, and is no longer fresh;
        the others get a row of their own (an id that expired and came back
        keeps its reset one) and are seen ``now``. Both kernels call this,
        with ``rows``, ``fresh`` and ``seen`` as numpy arrays (vectorised) or
        lists (scalar), and ``boxes`` as an array or a list of boxes.
        """
        if self._lost:
            box_list = boxes.tolist() if isinstance(boxes, np.ndarray) else boxes
            for k, row in self._switches(ids, box_list, rows, new, now):
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
        anchors = [anchor_scalar(kind, *boxes[k]) for k in new]
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
