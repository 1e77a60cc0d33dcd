"""Alert queries, from PostgreSQL."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from psycopg.rows import dict_row

from api.alerts.types import Alert
from api.auth.permissions import Viewer
from api.state import ApiState

__all__ = ["AlertQuery", "load_alert"]

MAX_ALERTS = 1000


async def load_alert(state: ApiState, alert_id: str) -> dict | None:
    async with state.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT * FROM alerts WHERE alert_id = %s", (alert_id,))
        return await cur.fetchone()


@strawberry.type
class AlertQuery:
    @strawberry.field(
        description="Alerts, newest first: open ones by default.", permission_classes=[Viewer]
    )
    async def alerts(
        self,
        info: strawberry.Info,
        open_only: bool = True,
        subject_id: strawberry.ID | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        if not 1 <= limit <= MAX_ALERTS:
            raise GraphQLError(
                f"limit must be between 1 and {MAX_ALERTS}", extensions={"code": "BAD_USER_INPUT"}
            )
        state: ApiState = info.context["state"]
        where, params = [], []
        if open_only:
            where.append("resolved_at IS NULL")
        if subject_id is not None:
            where.append("subject_id = %s")
            params.append(str(subject_id))
        sql = "SELECT * FROM alerts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY raised_at DESC LIMIT %s"
        async with state.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (*params, limit))
            return [Alert.from_row(r) for r in await cur.fetchall()]
