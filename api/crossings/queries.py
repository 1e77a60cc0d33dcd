"""``crossings``: the raw log of crossings, newest first, a page at a time.

Pages are keyset pages on ``(occurred_at, id)``: a cursor names the last row
of the page before, so rows that arrive meanwhile (a late crossing) never shift
a page or repeat a row, and a page costs the same however deep it is.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from psycopg.rows import dict_row

from api.auth.permissions import Viewer
from api.inputs import bad_input
from api.state import ApiState

__all__ = ["MAX_PAGE", "CrossingQuery", "decode_cursor", "encode_cursor"]

MAX_PAGE = 500


@strawberry.type(description="One counted crossing of a line, as stored.")
class Crossing:
    id: strawberry.ID
    occurred_at: datetime
    camera_id: strawberry.ID
    line_id: strawberry.ID
    track_id: int
    frame_seq: int
    direction: str = strawberry.field(description="in (from_zone -> to_zone) or out.")
    from_zone: strawberry.ID
    to_zone: strawberry.ID
    config_version: str = strawberry.field(description="The configuration it was counted with.")

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Crossing:
        return cls(
            id=strawberry.ID(str(r["id"])),
            occurred_at=r["occurred_at"],
            camera_id=strawberry.ID(r["camera_id"]),
            line_id=strawberry.ID(r["line_id"]),
            track_id=r["track_id"],
            frame_seq=r["frame_seq"],
            direction=r["direction"],
            from_zone=strawberry.ID(r["from_zone"]),
            to_zone=strawberry.ID(r["to_zone"]),
            config_version=r["config_version"],
        )


@strawberry.type
class CrossingEdge:
    cursor: str
    node: Crossing


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="A page of crossings, newest first.")
class CrossingConnection:
    edges: list[CrossingEdge]
    page_info: PageInfo


def encode_cursor(occurred_at: datetime, crossing_id: uuid.UUID) -> str:
    raw = f"{occurred_at.isoformat()}|{crossing_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Raises ValueError for anything :func:`encode_cursor` did not make."""
    padded = cursor + "=" * (-len(cursor) % 4)
    text = base64.urlsafe_b64decode(padded.encode()).decode()
    at, _, cid = text.partition("|")
    when = datetime.fromisoformat(at)
    if when.tzinfo is None:
        raise ValueError("cursor without a time zone")
    return when, uuid.UUID(cid)


From = Annotated[
    datetime | None,
    strawberry.argument(name="from", description="Oldest occurred_at (inclusive)."),
]


@strawberry.type
class CrossingQuery:
    @strawberry.field(
        description=f"Stored crossings, newest first, {MAX_PAGE} at most per page; pass a "
        "page's endCursor as after for the next.",
        permission_classes=[Viewer],
    )
    async def crossings(
        self,
        info: strawberry.Info,
        camera_id: strawberry.ID | None = None,
        line_id: strawberry.ID | None = None,
        from_: From = None,
        to: datetime | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> CrossingConnection:
        state: ApiState = info.context["state"]
        if not 1 <= first <= MAX_PAGE:
            raise bad_input(f"first must be between 1 and {MAX_PAGE}, got {first}", "first")
        where: list[str] = []
        params: list[Any] = []
        if camera_id is not None:
            if str(camera_id) not in {c.id for c in state.plant.cameras}:
                raise GraphQLError(
                    f"unknown camera {camera_id!r}", extensions={"code": "NOT_FOUND"}
                )
            where.append("camera_id = %s")
            params.append(str(camera_id))
        if line_id is not None:
            if str(line_id) not in {ln.id for ln in state.plant.lines}:
                raise GraphQLError(f"unknown line {line_id!r}", extensions={"code": "NOT_FOUND"})
            where.append("line_id = %s")
            params.append(str(line_id))
        for name, value, op in (("from", from_, ">="), ("to", to, "<")):
            if value is not None:
                if value.tzinfo is None:
                    raise bad_input(f"{name} must carry a time zone", name)
                where.append(f"occurred_at {op} %s")
                params.append(value)
        if after is not None:
            try:
                at, cid = decode_cursor(after)
            except (ValueError, UnicodeDecodeError):
                raise bad_input("after is not a cursor of this query", "after") from None
            where.append("(occurred_at, id) < (%s, %s)")
            params += [at, cid]
        sql = "SELECT * FROM crossings"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY occurred_at DESC, id DESC LIMIT %s"
        async with state.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (*params, first + 1))
            rows = await cur.fetchall()
        page = rows[:first]
        edges = [
            CrossingEdge(cursor=encode_cursor(r["occurred_at"], r["id"]), node=Crossing.from_row(r))
            for r in page
        ]
        return CrossingConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None
            ),
        )
