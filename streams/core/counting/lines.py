"""Per-line constants of one camera's counting lines, and the anchor of a box.

Built once from the lines' configuration (:meth:`LineConstants._prepare_lines`),
in two forms: numpy arrays, one entry per line, for the vectorised kernel,
and Python floats for the scalar one. Both are computed with the formulas of
:mod:`streams.core.geometry` (same operations, same order), so distances are
bit-identical between the kernels and the scalar reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from schemas.config import LineConfig
from streams.core.counting.state import (
    _CROSSED,
    _FAR,
    _HIT_AT,
    _HIT_SEQ,
    _ORIENT,
    _SIDE,
    _X,
    _Y,
    FloatArray,
)
from streams.core.geometry import ANCHORS

__all__ = ["ANCHOR_TERMS", "LineConstants", "anchor_columns", "anchor_scalar"]


def anchor_columns(kind: str, boxes: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Anchor x, y of every box: ``streams.core.geometry.ANCHORS`` applied to columns."""
    return ANCHORS[kind]((boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))  # type: ignore[arg-type,return-value]


def anchor_scalar(kind: str, x1: float, y1: float, x2: float, y2: float) -> tuple[float, float]:
    """Anchor x, y of one box (``streams.core.geometry.ANCHORS``)."""
    return ANCHORS[kind]((x1, y1, x2, y2))


#: Each anchor of ``streams.core.geometry.ANCHORS`` as box indices: x, then y,
#: is half the sum of the two entries of the box named (``(b + b) * 0.5`` is
#: ``b`` exactly, and ``(b[0] + b[2]) * 0.5`` is the formula itself).
ANCHOR_TERMS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "bottom_center": ((0, 2), (3, 3)),
    "center": ((0, 2), (1, 3)),
    "top_center": ((0, 2), (1, 1)),
    "bottom_left": ((0, 0), (3, 3)),
    "bottom_right": ((2, 2), (3, 3)),
}


class LineConstants:
    """The lines of one camera as constants the kernels read.

    A base of :class:`~streams.core.counting.LineCounter`, whose constructor
    sets :attr:`lines` and calls :meth:`_prepare_lines`.
    """

    lines: tuple[LineConfig, ...]

    def _prepare_lines(self, extended: set[str]) -> None:
        """Compute the constants of :attr:`lines`; ``extended``: ids of lines
        tested as infinite lines rather than segments."""
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
        # Beyond the band: a distance of at least min_distance_px, or where
        # that is 0 of at least the least positive float (the zone is then
        # +1 or -1 only for a distance strictly off the line).
        self._beyond = np.where(self._min_d > 0, self._min_d, np.nextafter(0.0, 1.0))
        self._neg_beyond = -self._beyond
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
        # Tiled constants for frames of n tracks (see _line_tiles), by n.
        self._tiles: dict[int, tuple[Any, ...]] = {}
        # Per line for the busy pairs of the numpy kernel: its anchor function
        # (``geometry.ANCHORS``), constants, whether extended, and its ends.
        self._busy_lines = [
            (ANCHORS[ln.anchor], *self._line_consts[i], self._extended_list[i], self._ends_list[i])
            for i, ln in enumerate(self.lines)
        ]

    def _line_tiles(self, n: int) -> tuple[Any, ...]:
        """The per-line constants of the numpy kernel as (n, lines) arrays for
        a frame of ``n`` tracks, and the indices into its flat boxes whose
        half sums are the anchors: x then y, one index array where the
        anchor is a box entry itself."""
        shape = (n, len(self.lines))

        def tiled(a: FloatArray) -> FloatArray:
            return np.ascontiguousarray(np.broadcast_to(a, shape))

        first = 4 * np.arange(n, dtype=np.intp)[:, None]
        terms = [ANCHOR_TERMS[ln.anchor] for ln in self.lines]
        axes = []
        for axis in (0, 1):
            pairs = np.array([t[axis] for t in terms], dtype=np.intp)  # (lines, 2)
            index = [np.ascontiguousarray(first + pairs[:, j]) for j in (0, 1)]
            axes.append(index[:1] if (pairs[:, 0] == pairs[:, 1]).all() else index)
        return (
            *(tiled(a) for a in (self._ax, self._ay, self._dx, self._dy, self._len)),
            tiled(self._beyond),
            tiled(self._neg_beyond),
            *axes,
        )
