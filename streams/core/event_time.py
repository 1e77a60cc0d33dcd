"""Event time: the watermark, and local-time schedules in UTC.

Pure: no I/O, no Faust. The watermark is how the stream side knows what time
it is without trusting the wall clock: it follows the capture timestamps of the
frames (heartbeats included, so an idle camera does not stall it), minus an
allowed lateness.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["ReceiveClock", "Watermark", "next_local_time"]


class ReceiveClock:
    """Wall-clock seconds that stand still while the worker receives nothing.

    The watermark's idle rule ("no frames for 30 s: the cameras are silent")
    must not fire when the worker could not receive at all: during a broker
    outage every camera would look offline. A worker that is receiving hears
    something at least every few seconds even when every camera is silent
    (the crossings agent's keepalive marks come back through the zones'
    partitions), so :meth:`now` follows the wall clock up to ``grace_s``
    after the last record heard (:meth:`heard`) and then stops; when records
    come again it goes on from where it stopped, without a jump. Feed its
    :meth:`now` to :class:`Watermark` instead of the wall clock.

    Args:
        grace_s: Wall seconds without any record after which the clock stops
            (longer than the keepalive interval).
    """

    def __init__(self, grace_s: float = 10.0) -> None:
        self.grace_s = grace_s
        self._heard: float | None = None
        self._stopped_s = 0.0

    def heard(self, wall: float) -> None:
        """Something was received at wall time ``wall`` (UTC seconds)."""
        if self._heard is None:
            self._heard = wall
            return
        gap = wall - self._heard
        if gap > self.grace_s:
            self._stopped_s += gap - self.grace_s
        self._heard = max(self._heard, wall)

    def now(self, wall: float) -> float:
        """The receive clock at wall time ``wall``; never goes back."""
        if self._heard is None:
            return wall - self._stopped_s
        return min(wall, self._heard + self.grace_s) - self._stopped_s

    @property
    def stopped_s(self) -> float:
        """Wall seconds during which nothing was received (beyond the grace)."""
        return self._stopped_s


class Watermark:
    """Event-time clock of one worker, kept per source partition.

    The watermark is the *smallest* newest-capture-time over the partitions
    that are delivering data, minus an allowed lateness: one partition running
    ahead (a replay catching up, a skewed consumer) cannot make another
    partition's cameras look silent. A partition that delivered nothing for
    ``idle_after_s`` wall-clock seconds stops holding the watermark back (a
    dead camera alone on its partition must not freeze time); when every
    partition is idle, the watermark moves on with the wall clock, so a plant
    whose cameras all went silent still gets "camera offline" alerts.

    Args:
        lateness_s: Seconds of event time by which frames may arrive late.
        idle_after_s: Wall-clock seconds after which a silent partition is idle.
    """

    def __init__(self, lateness_s: float = 5.0, idle_after_s: float = 30.0) -> None:
        self.lateness_s = lateness_s
        self.idle_after_s = idle_after_s
        # partition -> [newest event time, wall time of the last event]
        self._partitions: dict[int, list[float]] = {}
        # The value never goes back: an idle partition that becomes active
        # again (behind the others) holds the watermark where it is instead.
        self._floor = 0.0

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop partitions this worker no longer owns (after a rebalance)."""
        for p in partitions:
            self._partitions.pop(p, None)

    @property
    def last_value(self) -> float:
        """The value :meth:`value` last returned (0.0 before): a plain read, for
        observers in other threads (the metrics exporter)."""
        return self._floor

    @property
    def max_event_time(self) -> float:
        return max((p[0] for p in self._partitions.values()), default=0.0)

    def observe(self, event_time: float, wall_now: float, partition: int = 0) -> None:
        """Record an event's capture time (UTC seconds) seen at ``wall_now``."""
        state = self._partitions.get(partition)
        if state is None:
            self._partitions[partition] = [event_time, wall_now]
            return
        if event_time > state[0]:
            state[0] = event_time
        state[1] = wall_now

    def value(self, wall_now: float) -> float:
        """The watermark (UTC seconds); 0.0 before the first event."""
        if not self._partitions:
            return self._floor
        active = [
            t for t, wall in self._partitions.values() if wall_now - wall <= self.idle_after_s
        ]
        if active:
            value = min(active) - self.lateness_s
        else:
            newest_wall = max(wall for _, wall in self._partitions.values())
            value = self.max_event_time - self.lateness_s + (wall_now - newest_wall)
        self._floor = max(self._floor, value)
        return self._floor

    def is_late(self, event_time: float, wall_now: float) -> bool:
        return event_time < self.value(wall_now)


def next_local_time(after: datetime, local: time, tz: ZoneInfo) -> datetime:
    """The first instant strictly after ``after`` at which the local clock reads ``local``.

    Daylight-saving changes: a local time that does not exist that day (skipped
    by a spring-forward) happens at the first valid instant after the gap; one
    that happens twice (fall-back) happens at its first occurrence.
    """
    after_local = after.astimezone(tz)
    day = after_local.date()
    for _ in range(3):
        candidate = _resolve(datetime.combine(day, local), tz)
        if candidate > after:
            return candidate.astimezone(UTC)
        day += timedelta(days=1)
    raise AssertionError("unreachable: a local time occurs at least once in three days")


def _resolve(naive: datetime, tz: ZoneInfo) -> datetime:
    first = naive.replace(tzinfo=tz, fold=0)
    # A non-existent local time does not survive the round trip through UTC.
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        # In the gap: the wall clock jumped over it. Start before the gap (fold=1
        # applies the earlier offset) and walk to the instant the clock jumps.
        instant = naive.replace(tzinfo=tz, fold=1).astimezone(UTC).replace(second=0, microsecond=0)
        while instant.astimezone(tz).replace(tzinfo=None) <= naive:
            instant += timedelta(minutes=1)
        return instant.astimezone(tz)
    return first
