"""CSV export of history, for reports: ``GET /export/history.csv``.

Query parameters: exactly one of ``zone``, ``camera``, ``line``; ``from`` and
``to`` as ISO 8601 with a UTC offset (``2026-03-23T00:00:00+01:00`` or ``...Z``;
a ``+`` must be sent as ``%2B``, though a space in its place is accepted);
``granularity`` = ``minute|hour|day|month`` (default ``hour``). The rows are
those of the GraphQL ``history`` query, times in the plant's time zone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from api.auth.http import refused
from api.history.buckets import (
    Bucket,
    Granularity,
    HistoryError,
    HistoryRequest,
    InvalidHistoryRequest,
    UnknownSubject,
    history_timezone,
    read_history,
)
from api.state import ApiState

__all__ = ["CSV_COLUMNS", "history_csv", "history_export_route"]

CSV_COLUMNS = (
    "start",
    "end",
    "entries",
    "exits",
    "min_occupancy",
    "max_occupancy",
    "avg_occupancy",
    "peak_occupancy_at",
    "peak_flow",
    "peak_flow_at",
)


def history_csv(found: Iterable[Bucket], tz: ZoneInfo) -> str:
    """The buckets as CSV text with a header row; empty cells for null values."""

    def cell(value: object) -> object:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.astimezone(tz).isoformat()
        if isinstance(value, float):
            return f"{value:.6f}"
        return value

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for b in found:
        writer.writerow([cell(getattr(b, c)) for c in CSV_COLUMNS])
    return out.getvalue()


def _time(request: Request, name: str) -> datetime:
    raw = request.query_params.get(name)
    if raw is None:
        raise InvalidHistoryRequest(f"missing parameter {name!r}")
    try:
        # A "+" in a query string decodes to a space.
        return datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError as e:
        raise InvalidHistoryRequest(f"{name}: not an ISO 8601 time: {raw!r}") from e


def history_export_route(state_ref: dict[str, ApiState]) -> Route:
    """The route, reading the API state from ``state_ref["state"]`` per request."""

    async def export(request: Request) -> Response:
        state = state_ref["state"]
        if (refusal := await refused(state, request)) is not None:
            return refusal
        params = request.query_params
        try:
            name = params.get("granularity", "hour").lower()
            try:
                granularity = Granularity(name)
            except ValueError as e:
                raise InvalidHistoryRequest(
                    f"granularity must be one of {', '.join(g.value for g in Granularity)}"
                ) from e
            history = HistoryRequest.build(
                state.plant,
                granularity,
                _time(request, "from"),
                _time(request, "to"),
                zone=params.get("zone"),
                camera=params.get("camera"),
                line=params.get("line"),
            )
        except HistoryError as e:
            status = 404 if isinstance(e, UnknownSubject) else 400
            return PlainTextResponse(f"{e}\n", status_code=status)
        tz = await history_timezone(state.pool)
        async with state.pool.connection() as conn:
            found = await read_history(conn, history, tz)
        filename = (
            f"history-{history.kind.value}-{history.subject_id}-{granularity.value}-"
            f"{history.start:%Y%m%dT%H%M}-{history.end:%Y%m%dT%H%M}.csv"
        )
        return Response(
            history_csv(found, ZoneInfo(tz)),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{filename}"'},
        )

    return Route("/export/history.csv", export, methods=["GET"])
