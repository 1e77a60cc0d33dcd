"""The dashboard's timeframes (today, 7 days, 30 days, this month, this year) as
ranges in the plant's time zone, with the bucket size each is drawn in.

Pure: the clock and the zone are arguments. Days start at local midnight, so a
DST day is 23 or 25 hours long, as in the day buckets of the history views.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from api.history.buckets import Granularity

__all__ = ["TimeRange", "Timeframe", "timeframe_range"]


class Timeframe(enum.Enum):
    TODAY = "today"
    LAST_7_DAYS = "last_7_days"
    LAST_30_DAYS = "last_30_days"
    THIS_MONTH = "this_month"
    THIS_YEAR = "this_year"


@dataclass(frozen=True, slots=True)
class TimeRange:
    start: datetime
    end: datetime
    granularity: Granularity


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    # Local midnight of a calendar date: build it naive, then attach the zone
    # (arithmetic on aware datetimes in one zone would keep the old UTC offset).
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def timeframe_range(frame: Timeframe, now: datetime, tz: ZoneInfo) -> TimeRange:
    """The range covering ``frame`` at ``now`` (aware), ending at the period's end."""
    local = now.astimezone(tz)
    today = _midnight(local.date(), tz)
    tomorrow = _midnight(local.date() + timedelta(days=1), tz)
    if frame is Timeframe.TODAY:
        return TimeRange(today, tomorrow, Granularity.HOUR)
    if frame is Timeframe.LAST_7_DAYS:
        start = _midnight(local.date() - timedelta(days=6), tz)
        return TimeRange(start, tomorrow, Granularity.HOUR)
    if frame is Timeframe.LAST_30_DAYS:
        start = _midnight(local.date() - timedelta(days=29), tz)
        return TimeRange(start, tomorrow, Granularity.DAY)
    if frame is Timeframe.THIS_MONTH:
        start = datetime(local.year, local.month, 1, tzinfo=tz)
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        return TimeRange(start, datetime(year, month, 1, tzinfo=tz), Granularity.DAY)
    start = datetime(local.year, 1, 1, tzinfo=tz)
    return TimeRange(start, datetime(local.year + 1, 1, 1, tzinfo=tz), Granularity.MONTH)
