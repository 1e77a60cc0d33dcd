"""History buckets: validated requests, one statement per request, final values.

The relations ``{zone,camera,line}_history_{minute,hour,day,month}`` (views
and rollup tables on plain PostgreSQL, continuous aggregates on TimescaleDB;
see ``schemas/sql/002_history*.sql``) hold what can be aggregated inside a
bucket. What depends on the buckets before it is added at query time, in the
one statement :func:`read_history` runs:

- *Carry-over.* Occupancy is a step function of event time. A bucket starts
  at the level the previous change left (``close_level`` of the newest stored
  bucket before it); a bucket without changes keeps that level throughout.
- *Min and max* are over the whole bucket: the carried-in level counts when
  it held for a while (no change exactly at the bucket's start).
- *Average* is time-weighted: the integral of occupancy over the bucket
  divided by its length (23 or 25 hours on daylight-saving days). With
  changes ``d_i`` at ``t_i`` and carried-in level ``c``, the integral over
  ``[start, end)`` is ``c * (end - start) + sum(d_i) * end - sum(d_i * t_i)``;
  the relations store ``net = sum(d_i)`` and ``delta_epoch = sum(d_i * t_i)``
  exactly (numeric, seconds with six decimals), and the integral is computed
  in exact numeric microseconds, so both storage paths give the same float. The bucket
  holding "now" is averaged over its elapsed part; later buckets are not
  returned.

Minutes and hours are UTC-aligned (they equal local hours wherever the UTC
offset is a whole number of hours); days and months follow the plant's time
zone, fixed in ``history_settings`` when the database was created.
"""

from __future__ import annotations

import enum
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from schemas.config import PlantConfig

__all__ = [
    "MAX_POINTS",
    "MAX_STATISTICS_DAYS",
    "Bucket",
    "FacilityStatistics",
    "Granularity",
    "HistoryError",
    "HistoryRequest",
    "InvalidHistoryRequest",
    "SubjectKind",
    "UnknownSubject",
    "history_timezone",
    "read_history",
    "read_statistics",
]

#: Most buckets one query may return (a month of hours is 744, a day of minutes 1,440).
MAX_POINTS = 5000
#: Longest range facility statistics cover (read as hourly buckets).
MAX_STATISTICS_DAYS = 366

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00+00'"


class HistoryError(Exception):
    """A history request that cannot be answered; the message says why."""


class InvalidHistoryRequest(HistoryError):
    """Malformed input: range order, missing time zone, too many buckets."""


class UnknownSubject(HistoryError):
    """No such zone, camera or line in the plant configuration."""


class Granularity(enum.Enum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


class SubjectKind(enum.Enum):
    ZONE = "zone"
    CAMERA = "camera"
    LINE = "line"


@dataclass(frozen=True)
class HistoryRequest:
    """One subject, a half-open range ``[start, end)`` and a bucket size.

    Buckets overlapping the range are returned whole.
    """

    kind: SubjectKind
    subject_id: str
    start: datetime
    end: datetime
    granularity: Granularity

    @classmethod
    def build(
        cls,
        plant: PlantConfig,
        granularity: Granularity,
        start: datetime,
        end: datetime,
        zone: str | None = None,
        camera: str | None = None,
        line: str | None = None,
    ) -> HistoryRequest:
        """Validate input from GraphQL or HTTP.

        Raises:
            InvalidHistoryRequest: not exactly one subject, naive times, an empty
                or reversed range, or more than :data:`MAX_POINTS` buckets.
            UnknownSubject: the zone, camera or line is not configured.
        """
        given = [
            (kind, value)
            for kind, value in (
                (SubjectKind.ZONE, zone),
                (SubjectKind.CAMERA, camera),
                (SubjectKind.LINE, line),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise InvalidHistoryRequest("give exactly one of zone, camera or line")
        kind, subject_id = given[0]
        known = {
            SubjectKind.ZONE: {z.id for z in plant.zones},
            SubjectKind.CAMERA: {c.id for c in plant.cameras},
            SubjectKind.LINE: {ln.id for ln in plant.lines},
        }[kind]
        if subject_id not in known:
            raise UnknownSubject(f"unknown {kind.value} {subject_id!r}")
        request = cls(kind, subject_id, _aware("from", start), _aware("to", end), granularity)
        if request.start >= request.end:
            raise InvalidHistoryRequest(
                f"from ({request.start.isoformat()}) must be before to ({request.end.isoformat()})"
            )
        n = request.bucket_count(ZoneInfo(plant.timezone))
        if n > MAX_POINTS:
            raise InvalidHistoryRequest(
                f"{n} {granularity.value} buckets asked for, at most {MAX_POINTS} per query: "
                "shorten the range or use a coarser granularity"
            )
        return request

    def bucket_count(self, tz: ZoneInfo) -> int:
        """Buckets overlapping the range (days and months counted in ``tz``)."""
        last = self.end - timedelta(microseconds=1)
        if self.granularity in (Granularity.MINUTE, Granularity.HOUR):
            width = 60 if self.granularity is Granularity.MINUTE else 3600
            first_n = int((self.start - _EPOCH).total_seconds() // width)
            last_n = int((last - _EPOCH).total_seconds() // width)
            return last_n - first_n + 1
        a, b = self.start.astimezone(tz).date(), last.astimezone(tz).date()
        if self.granularity is Granularity.DAY:
            return (b - a).days + 1
        return (b.year - a.year) * 12 + b.month - a.month + 1


def _aware(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidHistoryRequest(f"{name} must carry a time zone offset, e.g. +01:00 or Z")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Bucket:
    """Final values of one bucket.

    Attributes:
        start, end: Bucket bounds, UTC (``end`` exclusive).
        entries, exits: Zones: people who entered / left the zone. Cameras and
            lines: crossings in / out.
        min_occupancy, max_occupancy, avg_occupancy: Zones only (None for
            cameras and lines): over the whole bucket, carry-over included;
            the average is time-weighted.
        peak_occupancy_at: Zones only: when ``max_occupancy`` was first reached
            in the bucket (its start, if it was carried in).
        peak_flow: Most entries + exits in one minute of the bucket.
        peak_flow_at: Start of the first minute with ``peak_flow``; None if 0.
        integral: Occupancy integrated over the averaged span, person-microseconds.
        micros: Length of the averaged span in microseconds (the elapsed part
            of an ongoing bucket).
    """

    start: datetime
    end: datetime
    entries: int
    exits: int
    min_occupancy: int | None
    max_occupancy: int | None
    avg_occupancy: float | None
    peak_occupancy_at: datetime | None
    peak_flow: int
    peak_flow_at: datetime | None
    integral: int | None = None
    micros: int | None = None


_RELATION_KEY = {
    SubjectKind.ZONE: "zone_id",
    SubjectKind.CAMERA: "camera_id",
    SubjectKind.LINE: "line_id",
}
_ZONE_COLUMNS = (
    "entries, exits, net, delta_epoch, first_at, last_at, min_level, max_level, peak_at, "
    "close_level, peak_flow, peak_flow_at"
)
_FLOW_COLUMNS = "entries, exits, peak_flow, peak_flow_at"

_timezones: weakref.WeakKeyDictionary[AsyncConnectionPool, str] = weakref.WeakKeyDictionary()


async def history_timezone(pool: AsyncConnectionPool) -> str:
    """The time zone of day and month buckets, as fixed in ``history_settings``."""
    if pool not in _timezones:
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT timezone FROM history_settings")).fetchone()
        _timezones[pool] = row[0] if row else "UTC"
    return _timezones[pool]


def _history_sql(kind: SubjectKind, granularity: Granularity) -> str:
    relation = f"{kind.value}_history_{granularity.value}"
    key = _RELATION_KEY[kind]
    columns = _ZONE_COLUMNS if kind is SubjectKind.ZONE else _FLOW_COLUMNS
    if granularity in (Granularity.MINUTE, Granularity.HOUR):
        step = "INTERVAL '1 minute'" if granularity is Granularity.MINUTE else "INTERVAL '1 hour'"
        lo = f"date_bin({step}, %(start)s::timestamptz, {_ORIGIN})"
        series = (
            f"SELECT b AS bucket_start, b + {step} AS bucket_end FROM generate_series("
            f"{lo}, %(end)s::timestamptz - INTERVAL '1 microsecond', {step}) AS b"
        )
    else:
        step = "INTERVAL '1 day'" if granularity is Granularity.DAY else "INTERVAL '1 month'"
        lo = f"date_trunc('{granularity.value}', %(start)s::timestamptz, %(tz)s)"
        # Local wall-clock steps, so a day is 23 or 25 hours long where it must be.
        series = (
            f"SELECT b AT TIME ZONE %(tz)s AS bucket_start, "
            f"(b + {step}) AT TIME ZONE %(tz)s AS bucket_end "
            f"FROM generate_series(({lo}) AT TIME ZONE %(tz)s, "
            f"(%(end)s::timestamptz - INTERVAL '1 microsecond') AT TIME ZONE %(tz)s, {step}) AS b"
        )
    carry = "NULL::integer"
    if kind is SubjectKind.ZONE:
        # The level the newest change before the range left behind: looked for
        # among the minutes of the hour before the range starts, then among the
        # hours before that (coarser relations may be views on plain PostgreSQL,
        # where "the newest bucket before" would aggregate all of history).
        hour = f"date_bin(INTERVAL '1 hour', {lo}, {_ORIGIN})"
        carry = (
            f"coalesce((SELECT close_level FROM zone_history_minute WHERE {key} = %(key)s "
            f"AND bucket >= {hour} AND bucket < {lo} ORDER BY bucket DESC LIMIT 1), "
            f"(SELECT close_level FROM zone_history_hour WHERE {key} = %(key)s "
            f"AND bucket < {hour} ORDER BY bucket DESC LIMIT 1))"
        )
    stored = (
        f"SELECT bucket, {columns} FROM {relation} "
        f"WHERE {key} = %(key)s AND bucket >= {lo} AND bucket < %(end)s"
    )
    joined = (
        f"SELECT s.bucket_start, s.bucket_end, h.* FROM ({series}) s "
        f"LEFT JOIN ({stored}) h ON h.bucket = s.bucket_start "
        "WHERE s.bucket_start < %(now)s"
    )
    flows = (
        "coalesce(entries, 0) AS entries, coalesce(exits, 0) AS exits, "
        "coalesce(peak_flow, 0) AS peak_flow, "
        "CASE WHEN peak_flow > 0 THEN peak_flow_at END AS peak_flow_at"
    )
    if kind is not SubjectKind.ZONE:
        return f"SELECT bucket_start, bucket_end, {flows} FROM ({joined}) j ORDER BY bucket_start"
    # Carry-over: the close of the newest stored bucket before each bucket
    # (filled forward through empty ones), else the level before the range.
    return f"""
WITH joined AS (
    SELECT j.*, count(j.close_level) OVER (ORDER BY j.bucket_start) AS stored_so_far
    FROM ({joined}) j
), filled AS (
    SELECT j.*, max(j.close_level) OVER (PARTITION BY j.stored_so_far) AS close_so_far
    FROM joined j
), carried AS (
    SELECT f.*,
           coalesce(lag(f.close_so_far) OVER (ORDER BY f.bucket_start), {carry}, 0) AS carry,
           -- the averaged span: the whole bucket, or up to now while it runs
           CASE WHEN f.bucket_end <= %(now)s THEN f.bucket_end
                ELSE greatest(%(now)s, coalesce(f.last_at, %(now)s)) END AS until,
           -- the carried-in level counts for min and max if it held a while
           f.bucket IS NULL OR f.first_at > f.bucket_start AS held
    FROM filled f
), spans AS (
    SELECT c.*,
           extract(epoch FROM c.until - c.bucket_start) * 1000000 AS micros,
           CASE WHEN c.bucket IS NULL THEN c.carry
                WHEN c.held THEN least(c.carry, c.min_level) ELSE c.min_level END AS low,
           CASE WHEN c.bucket IS NULL OR (c.held AND c.carry >= c.max_level) THEN c.carry
                ELSE c.max_level END AS high
    FROM carried c
), integrals AS (
    SELECT s.*,
           s.carry * s.micros
           + coalesce(s.net, 0) * extract(epoch FROM s.until - TIMESTAMPTZ 'epoch') * 1000000
           - coalesce(s.delta_epoch, 0) * 1000000 AS integral
    FROM spans s
)
SELECT bucket_start, bucket_end, {flows},
       low AS min_occupancy, high AS max_occupancy,
       CASE WHEN micros > 0 THEN (integral / micros)::float8 ELSE low END AS avg_occupancy,
       CASE WHEN bucket IS NULL OR (held AND carry >= max_level) THEN bucket_start
            ELSE peak_at END AS peak_occupancy_at,
       integral::bigint AS integral, micros::bigint AS micros
FROM integrals ORDER BY bucket_start
"""


async def read_history(
    conn: AsyncConnection[Any], request: HistoryRequest, timezone: str, now: datetime | None = None
) -> list[Bucket]:
    """Every bucket overlapping the request's range that has begun by ``now``.

    Args:
        conn: A connection (one statement is run).
        request: A validated request.
        timezone: The history's time zone (:func:`history_timezone`).
        now: The present, UTC (default: the clock); buckets from then on are
            left out, and the one holding it is averaged up to it.
    """
    params = {
        "start": request.start,
        "end": request.end,
        "key": request.subject_id,
        "tz": timezone,
        "now": now or datetime.now(UTC),
    }
    async with conn.cursor() as cur:
        await cur.execute(_history_sql(request.kind, request.granularity), params)
        rows = await cur.fetchall()
    if request.kind is not SubjectKind.ZONE:
        return [Bucket(s, e, n, x, None, None, None, None, f, fa) for s, e, n, x, f, fa in rows]
    return [
        Bucket(s, e, n, x, low, high, avg, peak_at, f, fa, integral, micros)
        for s, e, n, x, f, fa, low, high, avg, peak_at, integral, micros in rows
    ]


@dataclass(frozen=True)
class FacilityStatistics:
    """Totals and extremes of one zone over whole hours.

    Attributes:
        zone_id: The zone.
        start, end: The hours covered (the asked range, widened to whole hours).
        entries, exits: Totals.
        peak_occupancy, peak_at: Highest occupancy and when it was first reached.
        min_occupancy: Lowest occupancy.
        avg_occupancy: Time-weighted average over the range (up to now).
        busiest_hour: The hour with the most entries + exits (the earliest of
            equals); None if nobody moved.
    """

    zone_id: str
    start: datetime
    end: datetime
    entries: int
    exits: int
    peak_occupancy: int
    peak_at: datetime
    min_occupancy: int
    avg_occupancy: float
    busiest_hour: Bucket | None


async def read_statistics(
    conn: AsyncConnection[Any],
    plant: PlantConfig,
    start: datetime,
    end: datetime,
    zone: str | None,
    timezone: str,
    now: datetime | None = None,
) -> FacilityStatistics:
    """Statistics of ``zone`` (default: the plant's outermost zone) from hourly buckets.

    Raises:
        InvalidHistoryRequest: no zone given and the plant has several
            outermost zones; bad range; more than :data:`MAX_STATISTICS_DAYS`.
        UnknownSubject: unknown zone.
    """
    if zone is None:
        roots = [z.id for z in plant.zones if z.parent is None]
        if len(roots) != 1:
            raise InvalidHistoryRequest(
                f"the plant has {len(roots)} outermost zones ({', '.join(roots)}): give zone"
            )
        zone = roots[0]
    start, end = _aware("from", start), _aware("to", end)
    if end - start > timedelta(days=MAX_STATISTICS_DAYS):
        raise InvalidHistoryRequest(f"statistics cover at most {MAX_STATISTICS_DAYS} days")
    # Zone and range order are checked as for a history query (by days: a
    # year of hours is over the point limit, and allowed here).
    request = HistoryRequest.build(plant, Granularity.DAY, start, end, zone=zone)
    hourly = HistoryRequest(SubjectKind.ZONE, request.subject_id, start, end, Granularity.HOUR)
    buckets = await read_history(conn, hourly, timezone, now)
    if not buckets:
        raise InvalidHistoryRequest("the range lies in the future")
    peak = max(buckets, key=lambda b: (b.max_occupancy, -b.start.timestamp()))
    busiest = max(buckets, key=lambda b: (b.entries + b.exits, -b.start.timestamp()))
    integral = sum(b.integral or 0 for b in buckets)
    micros = sum(b.micros or 0 for b in buckets)
    return FacilityStatistics(
        zone_id=request.subject_id,
        start=buckets[0].start,
        end=buckets[-1].end,
        entries=sum(b.entries for b in buckets),
        exits=sum(b.exits for b in buckets),
        peak_occupancy=peak.max_occupancy or 0,
        peak_at=peak.peak_occupancy_at or peak.start,
        min_occupancy=min(b.min_occupancy or 0 for b in buckets),
        avg_occupancy=integral / micros if micros else 0.0,
        busiest_hour=busiest if busiest.entries + busiest.exits else None,
    )
