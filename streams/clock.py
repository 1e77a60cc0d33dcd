"""Event time: the watermark, and local-time schedules in UTC.

Pure: no I/O, no Faust. The watermark is how the stream side knows what time
it is without trusting the wall clock: it follows the capture timestamps of the
frames (heartbeats included, so an idle camera does not stall it), minus an
allowed lateness.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Watermark", "next_local_time"]


class Watermark:
    """Event-time clock of one worker.

    Args:
        lateness_s: How far behind the newest capture time events may still
            arrive in order (seconds). The watermark is the newest capture time
            minus this.
        idle_after_s: When no event at all arrives for this many wall-clock
            seconds, the watermark moves on with the wall clock, so that a plant
            whose cameras all went silent still gets "camera offline" alerts.
    """

    def __init__(self, lateness_s: float = 5.0, idle_after_s: float = 30.0) -> None:
        self.lateness_s = lateness_s
        self.idle_after_s = idle_after_s
        self.max_event_time = 0.0
        self._last_wall = 0.0
        self._idle_shift = 0.0

    def observe(self, event_time: float, wall_now: float) -> None:
        """Record an event's capture time (UTC seconds) seen at ``wall_now``."""
        if event_time > self.max_event_time:
            self.max_event_time = event_time
        self._last_wall = wall_now
        self._idle_shift = 0.0

    def value(self, wall_now: float) -> float:
        """The watermark (UTC seconds); 0.0 before the first event."""
        if self.max_event_time == 0.0:
            return 0.0
        idle = wall_now - self._last_wall
        if idle > self.idle_after_s:
            self._idle_shift = idle
        return self.max_event_time - self.lateness_s + self._idle_shift

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
