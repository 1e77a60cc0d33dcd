"""Dwell time: how long people stay in a zone, from its entries and exits, first in first out.

Pure: the caller reads a zone's changes (``occupancy_samples``: who entered and
left with each change) in event-time order and passes them with the occupancy
just before the range.
Each entry joins the back of a queue; each exit takes the person at the front,
whose stay is the exit's time minus their entry's. Counts cannot tell people
apart, so FIFO is the estimate (the one commercial counters use); its average
is exact whatever the order people really left in, since every visit is
counted once: the sum of stays is the sum of exit times minus the sum of entry
times of the same people.

Only visits that began and ended inside the range are measured. People already
inside when it began hold their places at the front (so later entries are
matched right) but are not measured; people still inside at its end are
reported as ``still_inside``. A reset empties the queue (nobody's stay is
known); a calibration to ``n`` drops the people at the front who left unseen,
or adds unseen arrivals at the calibration's time (not measured either).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DwellStats", "ZoneChange", "dwell_stats"]


@dataclass(frozen=True, slots=True)
class ZoneChange:
    """One change of a zone: when (event time, s), who entered and left with it, and
    the occupancy it set (what a calibration sets)."""

    at: float
    entered: int
    exited: int
    occupancy: int
    cause: str  # crossing, calibration, reset


@dataclass(frozen=True, slots=True)
class DwellStats:
    visits: int
    average_s: float | None
    median_s: float | None
    max_s: float | None
    still_inside: int


def dwell_stats(inside_before: int, changes: Iterable[ZoneChange], *, end: float) -> DwellStats:
    """Stays of the visits within ``changes`` (event-time order), with ``inside_before``
    people in the zone when the range began.

    ``end`` (event time, s) only bounds which visits are still ongoing.
    """
    # Each queue entry is an entry time, or None for a person not to be measured.
    queue: deque[float | None] = deque([None] * max(0, inside_before))
    stays: list[float] = []
    for c in changes:
        if c.cause == "reset":
            queue.clear()
        elif c.cause == "calibration":
            while len(queue) > c.occupancy:
                queue.popleft()  # left unseen
            queue.extend([None] * (c.occupancy - len(queue)))  # came in unseen
        else:
            for _ in range(max(0, c.entered)):
                queue.append(c.at)
            for _ in range(max(0, c.exited)):
                if not queue:
                    break  # an exit from an empty zone (clamped): nobody to match
                came = queue.popleft()
                if came is not None:
                    stays.append(max(0.0, c.at - came))
    inside = sum(1 for t in queue if t is not None and t <= end)
    if not stays:
        return DwellStats(0, None, None, None, inside)
    ordered = sorted(stays)
    n = len(ordered)
    median = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    return DwellStats(n, sum(ordered) / n, median, ordered[-1], inside)
