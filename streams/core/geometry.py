"""Plane geometry for counting lines, in pixels (origin top-left, y down).

Scalar reference functions on plain floats. The counting kernel in
:mod:`streams.core.counting` evaluates the very same formulas on numpy arrays (same
operations in the same order, so the same IEEE results); these functions are
what its tests, the scenario checks and the offline tools compare it with.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "ANCHORS",
    "anchor_point",
    "orient",
    "segment_distance",
    "segments_intersect",
    "signed_distance",
]

Box = tuple[float, float, float, float]

#: The point of a box ``(x1, y1, x2, y2)`` that is tested against a line.
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


def orient(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> float:
    """Twice the signed area of triangle A, B, C (square pixels).

    Positive when C lies on the right-hand side of A->B as drawn on the image
    (y down), negative on the left, zero when the three points are collinear.
    """
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


def signed_distance(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> float:
    """Perpendicular distance of P from the line through A->B, in pixels.

    Positive on the right-hand side of A->B as drawn on the image (y down),
    negative on the left, zero on the line.
    """
    dx = bx - ax
    dy = by - ay
    length = (dx * dx + dy * dy) ** 0.5
    return (dx * (py - ay) - dy * (px - ax)) / length


def segment_distance(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> float:
    """Euclidean distance of P from the segment A-B (not the infinite line), pixels."""
    dx = bx - ax
    dy = by - ay
    t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)
    t = 0.0 if t < 0.0 else 1.0 if t > 1.0 else t
    ex = px - (ax + t * dx)
    ey = py - (ay + t * dy)
    return float((ex * ex + ey * ey) ** 0.5)


def _on_segment(x1: float, y1: float, x2: float, y2: float, x: float, y: float) -> bool:
    return min(x1, x2) <= x <= max(x1, x2) and min(y1, y2) <= y <= max(y1, y2)


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
    d1 = orient(ax, ay, bx, by, px, py)
    d2 = orient(ax, ay, bx, by, qx, qy)
    d3 = orient(px, py, qx, qy, ax, ay)
    d4 = orient(px, py, qx, qy, bx, by)
    if ((d1 > 0 and d2 < 0) or (d1 < 0 and d2 > 0)) and (
        (d3 > 0 and d4 < 0) or (d3 < 0 and d4 > 0)
    ):
        return True
    # Collinear or touching cases: a point lies on the other segment.
    return (
        (d1 == 0 and _on_segment(ax, ay, bx, by, px, py))
        or (d2 == 0 and _on_segment(ax, ay, bx, by, qx, qy))
        or (d3 == 0 and _on_segment(px, py, qx, qy, ax, ay))
        or (d4 == 0 and _on_segment(px, py, qx, qy, bx, by))
    )
