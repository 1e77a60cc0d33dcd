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

import psycopg

from api.migrate import migrate
from schemas.events import CrossingEvent, OccupancyChanged
from streams.sinks.base import BatchingSink, SinkError

__all__ = ["PostgresSink"]

logger = logging.getLogger(__name__)

Event = CrossingEvent | OccupancyChanged

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
        try:
            conn = await self._connection()
            async with conn.transaction():
                if crossings:
                    await self._write_crossings(conn, crossings)
                if samples:
                    await self._write_samples(conn, samples)
        except psycopg.Error as e:
            # Drop the connection: after a server restart it is dead anyway.
            await self.close()
            raise SinkError(
                f"writing {len(crossings)} crossings and {len(samples)} occupancy changes "
                f"failed: {e}"
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
