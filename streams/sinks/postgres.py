"""PostgreSQL sink for crossings and occupancy changes.

Each flush is one transaction: COPY the batch into temporary staging tables,
then ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` into the real tables, so
a redelivered event changes nothing. ``zone_occupancy`` keeps the newest state
per zone with a version guard. Kafka offsets are committed only after this
transaction commits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import psycopg

from api.migrate import migrate
from schemas.events import CrossingEvent, OccupancyChanged
from schemas.operations import AlertRaised, AlertResolved, OccupancyCalibrated, OccupancyReset
from streams.sinks.base import BatchingSink, SinkError

__all__ = ["PostgresSink"]

logger = logging.getLogger(__name__)

Event = (
    CrossingEvent
    | OccupancyChanged
    | AlertRaised
    | AlertResolved
    | OccupancyCalibrated
    | OccupancyReset
)

_CROSSING_COLS = (
    "id, occurred_at, camera_id, line_id, track_id, frame_seq, direction, "
    "from_zone, to_zone, config_version"
)
_SAMPLE_COLS = "id, at, zone_id, occupancy, entries, exits, version, cause, cause_id, clamped"


class PostgresSink(BatchingSink[Event]):
    """Writes :class:`CrossingEvent` and :class:`OccupancyChanged` batches.

    Args:
        dsn: libpq connection string.
    """

    def __init__(self, dsn: str) -> None:
        super().__init__()
        self.dsn = dsn
        self._conn: psycopg.AsyncConnection | None = None
        self._migrated = False

    async def _connection(self) -> psycopg.AsyncConnection:
        if not self._migrated:
            # Whichever process starts first (worker or API) brings the schema up
            # to date; the migration lock makes concurrent starts safe.
            await asyncio.to_thread(migrate, self.dsn)
            self._migrated = True
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self.dsn)
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def write(self, batch: list[Event]) -> None:
        crossings = [e for e in batch if isinstance(e, CrossingEvent)]
        samples = [e for e in batch if isinstance(e, OccupancyChanged)]
        others = [e for e in batch if not isinstance(e, CrossingEvent | OccupancyChanged)]
        try:
            conn = await self._connection()
            async with conn.transaction():
                if crossings:
                    await self._write_crossings(conn, crossings)
                if samples:
                    await self._write_samples(conn, samples)
                if others:
                    await self._write_operations(conn, others)
        except psycopg.Error as e:
            # Drop the connection: after a server restart it is dead anyway.
            await self.close()
            raise SinkError(
                f"writing {len(crossings)} crossings, {len(samples)} occupancy changes and "
                f"{len(others)} alerts/commands failed: {e}"
            ) from e

    @staticmethod
    async def _write_crossings(conn: psycopg.AsyncConnection, rows: list[CrossingEvent]) -> None:
        async with conn.cursor() as cur:
            await cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS staging_crossings "
                "(LIKE crossings INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            async with cur.copy(f"COPY staging_crossings ({_CROSSING_COLS}) FROM STDIN") as copy:
                for c in rows:
                    await copy.write_row(
                        (
                            c.id,
                            c.occurred_at,
                            c.camera_id,
                            c.line_id,
                            c.track_id,
                            c.frame_seq,
                            c.direction,
                            c.from_zone,
                            c.to_zone,
                            c.config_version,
                        )
                    )
            await cur.execute(
                f"INSERT INTO crossings ({_CROSSING_COLS}) "
                f"SELECT {_CROSSING_COLS} FROM staging_crossings ON CONFLICT DO NOTHING"
            )

    @staticmethod
    async def _write_samples(conn: psycopg.AsyncConnection, rows: list[OccupancyChanged]) -> None:
        async with conn.cursor() as cur:
            await cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS staging_samples "
                "(LIKE occupancy_samples INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            async with cur.copy(f"COPY staging_samples ({_SAMPLE_COLS}) FROM STDIN") as copy:
                for s in rows:
                    await copy.write_row(
                        (
                            s.id,
                            s.at,
                            s.zone_id,
                            s.occupancy,
                            s.entries,
                            s.exits,
                            s.version,
                            s.cause,
                            s.cause_id,
                            s.clamped,
                        )
                    )
            await cur.execute(
                f"INSERT INTO occupancy_samples ({_SAMPLE_COLS}) "
                f"SELECT {_SAMPLE_COLS} FROM staging_samples ON CONFLICT DO NOTHING"
            )
            # Newest version per zone in this batch, then a guarded upsert.
            await cur.execute(
                "INSERT INTO zone_occupancy "
                "(zone_id, occupancy, entries, exits, version, updated_at) "
                "SELECT DISTINCT ON (zone_id) zone_id, occupancy, entries, exits, version, at "
                "FROM staging_samples ORDER BY zone_id, version DESC "
                "ON CONFLICT (zone_id) DO UPDATE SET occupancy = EXCLUDED.occupancy, "
                "entries = EXCLUDED.entries, exits = EXCLUDED.exits, "
                "version = EXCLUDED.version, updated_at = EXCLUDED.updated_at "
                "WHERE zone_occupancy.version < EXCLUDED.version"
            )

    @staticmethod
    async def _write_operations(conn: psycopg.AsyncConnection, rows: Sequence[Event]) -> None:
        """Alerts and commands: low volume, so plain statements, in event order."""
        async with conn.cursor() as cur:
            for e in rows:
                if isinstance(e, AlertRaised):
                    await cur.execute(
                        "INSERT INTO alerts (alert_id, kind, severity, subject_type, subject_id,"
                        " message, value, threshold, raised_at)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        (
                            e.alert_id,
                            e.kind,
                            e.severity,
                            e.subject_type,
                            e.subject_id,
                            e.message,
                            e.value,
                            e.threshold,
                            e.at,
                        ),
                    )
                elif isinstance(e, AlertResolved):
                    # The first resolution wins: by hand or automatic, whichever came first.
                    await cur.execute(
                        "UPDATE alerts SET resolved_at = %s, resolved_by = %s, resolve_reason = %s"
                        " WHERE alert_id = %s AND resolved_at IS NULL",
                        (e.at, e.by, e.reason, e.alert_id),
                    )
                elif isinstance(e, OccupancyCalibrated | OccupancyReset):
                    by, reason = (
                        (e.by, e.reason)
                        if isinstance(e, OccupancyCalibrated)
                        else ("schedule", f"daily reset at {e.local_time} {e.timezone}")
                    )
                    await cur.execute(
                        "INSERT INTO commands (id, at, type, zone_id, occupancy, by, reason)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        (e.id, e.at, e.type, e.zone_id, e.occupancy, by, reason),
                    )
