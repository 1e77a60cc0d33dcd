"""History queries: buckets of a zone, camera or line; facility statistics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import strawberry
from graphql import GraphQLError

from api.auth.permissions import Viewer
from api.history import buckets
from api.history.buckets import (
    HistoryError,
    HistoryRequest,
    UnknownSubject,
    history_timezone,
    read_history,
    read_statistics,
)
from api.history.dwell import DwellTime, read_dwell
from api.history.timeframes import timeframe_range
from api.history.types import FacilityStatistics, Granularity, History, Timeframe, TimeRange
from api.state import ApiState

__all__ = ["HistoryQuery"]

From = Annotated[
    datetime,
    strawberry.argument(name="from", description="Range start, with a UTC offset (inclusive)."),
]
To = Annotated[datetime, strawberry.argument(description="Range end, with a UTC offset.")]


def _graphql_error(e: HistoryError) -> GraphQLError:
    code = "NOT_FOUND" if isinstance(e, UnknownSubject) else "BAD_USER_INPUT"
    return GraphQLError(str(e), extensions={"code": code})


@strawberry.type
class HistoryQuery:
    @strawberry.field(
        permission_classes=[Viewer],
        description="Entries, exits and occupancy of one zone, camera or line over a range, "
        f"in buckets (at most {buckets.MAX_POINTS} per query).",
    )
    async def history(
        self,
        info: strawberry.Info,
        granularity: Granularity,  # type: ignore[valid-type]
        from_: From,
        to: To,
        zone: strawberry.ID | None = None,
        camera: strawberry.ID | None = None,
        line: strawberry.ID | None = None,
    ) -> History:
        state: ApiState = info.context["state"]
        try:
            request = HistoryRequest.build(
                state.plant, granularity, from_, to, zone=zone, camera=camera, line=line
            )
        except HistoryError as e:
            raise _graphql_error(e) from e
        tz = await history_timezone(state.pool)
        async with state.pool.connection() as conn:
            found = await read_history(conn, request, tz)
        return History(
            kind=request.kind,
            id=strawberry.ID(request.subject_id),
            granularity=request.granularity,
            timezone=tz,
            found=found,
        )

    @strawberry.field(
        permission_classes=[Viewer],
        description="The range of a dashboard timeframe now, in the plant's time zone, and "
        "the bucket size to query its history in.",
    )
    async def timeframe(
        self,
        info: strawberry.Info,
        name: Timeframe,  # type: ignore[valid-type]
    ) -> TimeRange:
        state: ApiState = info.context["state"]
        tz = await history_timezone(state.pool)
        found = timeframe_range(name, datetime.now(UTC), ZoneInfo(tz))
        return TimeRange(
            from_=found.start, to=found.end, granularity=found.granularity, timezone=tz
        )

    @strawberry.field(
        permission_classes=[Viewer],
        description="Average, median and longest stay in a zone over a range (at most 31 "
        "days), first in first out, from its entries and exits.",
    )
    async def dwell_time(
        self, info: strawberry.Info, zone: strawberry.ID, from_: From, to: To
    ) -> DwellTime:
        return await read_dwell(info.context["state"], str(zone), from_, to)

    @strawberry.field(
        permission_classes=[Viewer],
        description="Peak occupancy and when, busiest hour and totals of a zone (default: "
        "the plant's outermost zone) over whole hours.",
    )
    async def facility_statistics(
        self, info: strawberry.Info, from_: From, to: To, zone: strawberry.ID | None = None
    ) -> FacilityStatistics:
        state: ApiState = info.context["state"]
        tz = await history_timezone(state.pool)
        try:
            async with state.pool.connection() as conn:
                stats = await read_statistics(conn, state.plant, from_, to, zone, tz)
        except HistoryError as e:
            raise _graphql_error(e) from e
        return FacilityStatistics.from_statistics(stats, ZoneInfo(tz))
