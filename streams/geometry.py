"""Plane geometry for counting lines, in pixels (origin top-left, y down).

Pure functions on plain floats: they run once per track per line per frame,
so they avoid allocating objects.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ANCHORS", "anchor_point", "segments_intersect", "signed_distance"]

Box = tuple[float, float, float, float]

ANCHORS: dict[str, Callable[[Box], tuple[float, float]]] = {
    "bottom_center": lambda b: ((b[0] + b[2]) * 0.5, b[3]),
    "center": lambda b: ((b[0] + b[2]) * 0.5, (b[1] + b[3]) * 0.5),
    "top_center": lambda b: ((b[0] + b[2]) * 0.5, b[1]),
    "bottom_left": lambda b: (b[0], b[3]),
    "bottom_right": lambda b: (b[2], b[3]),
}


def anchor_point(box: Box, anchor: str) -> tuple[float, float]:
    """The point of ``box`` (x1, y1, x2, y2) that is tested against lines."""
    return ANCHORS[anchor](box)


def signed_distance(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> float:
    """Perpendicular distance of P from the line through A->B, in pixels.

    Positive on the right-hand side of A->B as drawn on the image (y down),
    negative on the left, zero on the line.
    """
    dx = bx - ax
    dy = by - ay
    length = (dx * dx + dy * dy) ** 0.5
    return (dx * (py - ay) - dy * (px - ax)) / length


def _orient(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> float:
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


def segments_intersect(
    px: float,
    py: float,
    qx: float,
    qy: float,
    ax: float,
    ay: float,
    bx: float,
    by: float,
) -> bool:
    """True if segment P-Q meets segment A-B, touching included."""
    d1 = _orient(ax, ay, bx, by, px, py)
    d2 = _orient(ax, ay, bx, by, qx, qy)
    d3 = _orient(px, py, qx, qy, ax, ay)
    d4 = _orient(px, py, qx, qy, bx, by)
    if ((d1 > 0 and d2 < 0) or (d1 < 0 and d2 > 0)) and (
        (d3 > 0 and d4 < 0) or (d3 < 0 and d4 > 0)
    ):
        return True

    # Collinear or touching cases: a point lies on the other segment.
    def on_segment(x1: float, y1: float, x2: float, y2: float, x: float, y: float) -> bool:
        return min(x1, x2) <= x <= max(x1, x2) and min(y1, y2) <= y <= max(y1, y2)

    return (
        (d1 == 0 and on_segment(ax, ay, bx, by, px, py))
        or (d2 == 0 and on_segment(ax, ay, bx, by, qx, qy))
        or (d3 == 0 and on_segment(px, py, qx, qy, ax, ay))
        or (d4 == 0 and on_segment(px, py, qx, qy, bx, by))
    )
