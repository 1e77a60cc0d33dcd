"""GraphQL types of the history domain."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import strawberry

from api.history import buckets, timeframes
from api.history.buckets import Bucket

__all__ = [
    "FacilityStatistics",
    "Granularity",
    "History",
    "HistoryBucket",
    "HistorySeries",
    "SubjectKind",
    "TimeRange",
    "Timeframe",
]

Granularity = strawberry.enum(
    buckets.Granularity,
    description="Bucket size: minutes and hours are UTC-aligned, days and months follow the "
    "plant's time zone.",
)
SubjectKind = strawberry.enum(buckets.SubjectKind, description="What a history is about.")
Timeframe = strawberry.enum(
    timeframes.Timeframe,
    description="A dashboard period in the plant's time zone: today, the last 7 or 30 days "
    "(including today), this month, this year.",
)


@strawberry.type(description="A timeframe's range and the bucket size to draw it in.")
class TimeRange:
    from_: datetime = strawberry.field(name="from", description="Range start (inclusive).")
    to: datetime = strawberry.field(description="Range end (exclusive); may lie ahead.")
    granularity: Granularity  # type: ignore[valid-type]
    timezone: str


@strawberry.type(description="One time bucket of a history.")
class HistoryBucket:
    start: datetime = strawberry.field(description="Bucket start, in the plant's time zone.")
    end: datetime = strawberry.field(description="Bucket end (exclusive).")
    entries: int = strawberry.field(
        description="Zones: people who entered. Cameras and lines: crossings in."
    )
    exits: int = strawberry.field(
        description="Zones: people who left. Cameras and lines: crossings out."
    )
    min_occupancy: int | None = strawberry.field(
        description="Zones: lowest occupancy during the bucket, carried-in level included."
    )
    max_occupancy: int | None = strawberry.field(
        description="Zones: highest occupancy during the bucket, carried-in level included."
    )
    avg_occupancy: float | None = strawberry.field(
        description="Zones: time-weighted average occupancy (the ongoing bucket: so far)."
    )
    peak_occupancy_at: datetime | None = strawberry.field(
        description="Zones: when maxOccupancy was first reached in the bucket."
    )
    peak_flow: int = strawberry.field(description="Most entries + exits in one minute.")
    peak_flow_at: datetime | None = strawberry.field(
        description="Start of the first minute with peakFlow; null when nobody moved."
    )

    @classmethod
    def from_bucket(cls, b: Bucket, tz: ZoneInfo) -> HistoryBucket:
        return cls(
            start=b.start.astimezone(tz),
            end=b.end.astimezone(tz),
            entries=b.entries,
            exits=b.exits,
            min_occupancy=b.min_occupancy,
            max_occupancy=b.max_occupancy,
            avg_occupancy=b.avg_occupancy,
            peak_occupancy_at=_local(b.peak_occupancy_at, tz),
            peak_flow=b.peak_flow,
            peak_flow_at=_local(b.peak_flow_at, tz),
        )


@strawberry.type(
    description="The buckets of a history as columns, one list per field, oldest first: the "
    "compact form for charts with many points. Same values as History.buckets."
)
class HistorySeries:
    found: strawberry.Private[list[Bucket]]
    tz: strawberry.Private[ZoneInfo]

    @strawberry.field
    def start(self) -> list[datetime]:
        return [b.start.astimezone(self.tz) for b in self.found]

    @strawberry.field
    def end(self) -> list[datetime]:
        return [b.end.astimezone(self.tz) for b in self.found]

    @strawberry.field
    def entries(self) -> list[int]:
        return [b.entries for b in self.found]

    @strawberry.field
    def exits(self) -> list[int]:
        return [b.exits for b in self.found]

    @strawberry.field
    def min_occupancy(self) -> list[int | None]:
        return [b.min_occupancy for b in self.found]

    @strawberry.field
    def max_occupancy(self) -> list[int | None]:
        return [b.max_occupancy for b in self.found]

    @strawberry.field
    def avg_occupancy(self) -> list[float | None]:
        return [b.avg_occupancy for b in self.found]

    @strawberry.field
    def peak_occupancy_at(self) -> list[datetime | None]:
        return [_local(b.peak_occupancy_at, self.tz) for b in self.found]

    @strawberry.field
    def peak_flow(self) -> list[int]:
        return [b.peak_flow for b in self.found]

    @strawberry.field
    def peak_flow_at(self) -> list[datetime | None]:
        return [_local(b.peak_flow_at, self.tz) for b in self.found]


def _local(t: datetime | None, tz: ZoneInfo) -> datetime | None:
    return None if t is None else t.astimezone(tz)


@strawberry.type(description="A zone's, camera's or line's history over a range.")
class History:
    kind: SubjectKind  # type: ignore[valid-type]
    id: strawberry.ID
    granularity: Granularity  # type: ignore[valid-type]
    timezone: str = strawberry.field(description="Time zone of day and month buckets.")
    found: strawberry.Private[list[Bucket]]

    @strawberry.field(
        description="Every bucket overlapping the range that has begun, oldest first."
    )
    def buckets(self) -> list[HistoryBucket]:
        tz = ZoneInfo(self.timezone)
        return [HistoryBucket.from_bucket(b, tz) for b in self.found]

    @strawberry.field(description="The same buckets as columns (faster for many points).")
    def series(self) -> HistorySeries:
        return HistorySeries(found=self.found, tz=ZoneInfo(self.timezone))


@strawberry.type(description="Totals and extremes of a zone over whole hours.")
class FacilityStatistics:
    zone_id: strawberry.ID
    start: datetime = strawberry.field(description="Start of the first hour covered.")
    end: datetime = strawberry.field(description="End of the last hour covered.")
    entries: int
    exits: int
    peak_occupancy: int
    peak_at: datetime = strawberry.field(description="When peakOccupancy was first reached.")
    min_occupancy: int
    avg_occupancy: float = strawberry.field(description="Time-weighted over the range.")
    busiest_hour: HistoryBucket | None = strawberry.field(
        description="The hour with the most entries + exits (the earliest of equals)."
    )

    @classmethod
    def from_statistics(cls, s: buckets.FacilityStatistics, tz: ZoneInfo) -> FacilityStatistics:
        return cls(
            zone_id=strawberry.ID(s.zone_id),
            start=s.start.astimezone(tz),
            end=s.end.astimezone(tz),
            entries=s.entries,
            exits=s.exits,
            peak_occupancy=s.peak_occupancy,
            peak_at=s.peak_at.astimezone(tz),
            min_occupancy=s.min_occupancy,
            avg_occupancy=s.avg_occupancy,
            busiest_hour=(
                HistoryBucket.from_bucket(s.busiest_hour, tz) if s.busiest_hour else None
            ),
        )
