"""PostgreSQL sink for crossings and occupancy changes.

Each flush is one transaction, and a redelivered event changes nothing.
Kafka offsets are committed only after the transaction commits.

Raw rows are COPYed straight into their tables inside a savepoint; if that
meets a row that is already stored (a redelivery after a crash), the
savepoint is rolled back and the batch goes the careful way: COPY into a
temporary staging table, then ``INSERT ... SELECT`` only what is new.
``zone_occupancy`` keeps the newest state per zone with a version guard.

History (``schemas/sql/002_history*.sql``) needs, per occupancy change,
its increments against the zone's previous version (``delta``, ``entered``,
``exited``) and its event-time ``level``. When a zone's new changes follow
its stored ones in version (the usual case) the sink derives them here from
``zone_occupancy`` and ``occupancy_tail``; a change that is late in event
time also moves the level of the zone's stored changes after it, which the
sink reads and updates. After a gap or repeat in versions (a redelivery, a
reset reducer) SQL derives everything from the stored rows instead. On the
plain PostgreSQL path the sink then recomputes the hourly, daily and monthly
rollups of every hour it touched from raw rows; on TimescaleDB the continuous
aggregates do that. Writers of the same zone or camera are serialised by
advisory locks.

**Content the database refuses** never blocks the rows behind it. Before any
I/O, :func:`refusal` rejects what PostgreSQL cannot hold: NUL or unencodable
text, integers outside their column's range (psycopg's binary COPY would
silently wrap an ``int4``, and raises ``OverflowError`` for an ``int8``). If
the database still refuses a batch for its content (SQLSTATE class 22, data
exception, or 23, integrity violation, past the ``ON CONFLICT`` dedupe), the
sink bisects it in savepoints of one transaction: halves that the database
takes are kept, halves that fail are split again down to single events,
which are rejected with the database's reason. So a good batch stays one
transaction, a batch with one bad event costs about ``2 log2(n)`` more
attempts, and everything else of it is stored in the same commit. Anything
else (connection lost, server shutting down, out of resources, deadlock,
schema problems) raises :class:`SinkError` and nothing of the batch counts as
stored: the caller retries it whole.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import psycopg
from psycopg import errors

from schemas.events import CrossingEvent, OccupancyChanged
from schemas.migrate import DEFAULT_RAW_RETENTION_DAYS, migrate
from schemas.operations import AlertRaised, AlertResolved, OccupancyCalibrated, OccupancyReset
from streams.sinks.base import BatchingSink, SinkError

__all__ = ["PostgresSink", "crossing_row", "refusal"]

logger = logging.getLogger(__name__)

K = TypeVar("K")
Origin = TypeVar("Origin")

Event = (
    CrossingEvent
    | OccupancyChanged
    | AlertRaised
    | AlertResolved
    | OccupancyCalibrated
    | OccupancyReset
)

_INT4 = 2**31
_INT8 = 2**63
#: Event fields stored in ``integer`` columns; every other int goes to a ``bigint``.
_INT4_FIELDS = frozenset({"occupancy"})
#: Derived ``occupancy_samples`` columns, all ``integer``.
_DERIVED = ("delta", "entered", "exited", "level")


def refusal(event: Event) -> str | None:
    """Why PostgreSQL cannot store ``event``, or None; cheap, before any I/O.

    Text must be encodable as UTF-8 and free of NUL; integers must fit their
    columns. Identifiers are pattern-checked by the schemas already, but the
    check is cheap enough to cover every field.
    """
    # ``__dict__`` holds a pydantic model's field values; iterating the model
    # itself is several times slower (about 1 against 5 us per event).
    for name, value in event.__dict__.items():
        cls = value.__class__
        if cls is str:
            if "\x00" in value:
                return f"{name} contains NUL (U+0000), which PostgreSQL text cannot hold"
            if not value.isascii():
                try:
                    value.encode()
                except UnicodeEncodeError:
                    return f"{name} is not valid Unicode text (it holds a lone surrogate)"
        elif cls is int and (
            not -_INT8 <= value < _INT8 or (name in _INT4_FIELDS and not -_INT4 <= value < _INT4)
        ):
            column = "integer" if name in _INT4_FIELDS else "bigint"
            return f"{name} = {value} is out of range for PostgreSQL {column}"
    return None


def _refused_for_content(e: psycopg.Error) -> bool:
    """Did PostgreSQL (or psycopg, before sending) refuse a value, not the batch?

    SQLSTATE class 22 (data exception) and 23 (integrity violation) are
    about the rows; psycopg raises :class:`psycopg.DataError` without a
    SQLSTATE for values it cannot send (NUL in a text parameter). Everything
    else (08 connection, 40 rollback, 53 resources, 57 operator intervention,
    42 schema, ...) concerns the whole batch.
    """
    if e.sqlstate is None:
        return isinstance(e, psycopg.DataError | psycopg.IntegrityError)
    return e.sqlstate[:2] in ("22", "23")


def _reason(e: psycopg.Error) -> str:
    lines = "; ".join(line.strip() for line in str(e).splitlines() if line.strip())
    return f"PostgreSQL refused it ({e.sqlstate or 'psycopg'}): {lines}"


# Staging tables are emptied at commit; between savepoints of one transaction
# (bisecting a refused batch) rows staged by an earlier part must go.
_CLEAR_STAGING = (
    "DELETE FROM staging_crossings; DELETE FROM staging_samples; DELETE FROM fresh_samples"
)

_CROSSING_COLS = (
    "id, occurred_at, camera_id, line_id, track_id, frame_seq, direction, "
    "from_zone, to_zone, config_version"
)
_CROSSING_TYPES = [
    "uuid",
    "timestamptz",
    "text",
    "text",
    "int8",
    "int8",
    "text",
    "text",
    "text",
    "text",
]
_SAMPLE_COLS = "id, at, zone_id, occupancy, entries, exits, version, cause, cause_id, clamped"
_SAMPLE_TYPES = [
    "uuid",
    "timestamptz",
    "text",
    "int4",
    "int8",
    "int8",
    "int8",
    "text",
    "uuid",
    "bool",
]
_HISTORY_COLS = "delta, entered, exited, level"
_HISTORY_TYPES = ["int4", "int4", "int4", "int4"]

# Created once per connection. Samples are staged without the derived columns.
_TEMP_TABLES = (
    "CREATE TEMP TABLE IF NOT EXISTS staging_crossings "
    "(LIKE crossings INCLUDING DEFAULTS) ON COMMIT DELETE ROWS",
    "CREATE TEMP TABLE IF NOT EXISTS staging_samples (id uuid, at timestamptz, zone_id text,"
    " occupancy integer, entries bigint, exits bigint, version bigint, cause text,"
    " cause_id uuid, clamped boolean) ON COMMIT DELETE ROWS",
    "CREATE TEMP TABLE IF NOT EXISTS fresh_samples (LIKE staging_samples,"
    " delta integer, entered integer, exited integer) ON COMMIT DELETE ROWS",
)

_ZONE_STATES = """
SELECT z.zone_id, o.version, o.occupancy, o.entries, o.exits, t.at, t.level
FROM unnest(%s::text[]) AS z (zone_id)
LEFT JOIN zone_occupancy o ON o.zone_id = z.zone_id
LEFT JOIN occupancy_tail t ON t.zone_id = z.zone_id
"""

# The careful way, for staged changes: those not stored yet, each with its
# increments against the zone's previous version (in the batch, else stored).
_STAGE_FRESH_SAMPLES = f"""
INSERT INTO fresh_samples ({_SAMPLE_COLS}, delta, entered, exited)
WITH new AS (
    SELECT DISTINCT ON (s.id) s.* FROM staging_samples s
    WHERE NOT EXISTS (SELECT 1 FROM occupancy_samples o WHERE o.id = s.id AND o.at = s.at)
    ORDER BY s.id
), before AS (
    SELECT f.zone_id, p.occupancy, p.entries, p.exits
    FROM (SELECT zone_id, min(version) AS version FROM new GROUP BY zone_id) f,
         LATERAL occupancy_before(f.zone_id, f.version) p
)
SELECT {", ".join("n." + c for c in _SAMPLE_COLS.split(", "))},
       n.occupancy - coalesce(lag(n.occupancy) OVER w, b.occupancy),
       n.entries - coalesce(lag(n.entries) OVER w, b.entries),
       n.exits - coalesce(lag(n.exits) OVER w, b.exits)
FROM new n JOIN before b ON b.zone_id = n.zone_id
WINDOW w AS (PARTITION BY n.zone_id ORDER BY n.version)
"""

# Then event-time levels of the fresh changes and of the stored changes at or
# after the earliest fresh one per zone (late arrivals move those); insert
# the fresh rows, update the moved ones; return the hours touched.
_INSERT_FRESH_SAMPLES = f"""
WITH span AS (
    SELECT zone_id, min(at) AS since FROM fresh_samples GROUP BY zone_id
), base AS (
    SELECT zone_id, occupancy_level_before(zone_id, since) AS level FROM span
), combined AS (
    SELECT id, at, zone_id, delta, NULL::integer AS old_level, true AS fresh FROM fresh_samples
    UNION ALL
    SELECT o.id, o.at, o.zone_id, o.delta, o.level, false
    FROM span s CROSS JOIN LATERAL (
        SELECT * FROM occupancy_samples o WHERE o.zone_id = s.zone_id AND o.at >= s.since
    ) o
), leveled AS (
    SELECT c.*, b.level + sum(c.delta) OVER (
        PARTITION BY c.zone_id ORDER BY c.at RANGE UNBOUNDED PRECEDING) AS level
    FROM combined c JOIN base b ON b.zone_id = c.zone_id
), moved AS (
    UPDATE occupancy_samples o SET level = l.level FROM leveled l
    WHERE NOT l.fresh AND l.level <> l.old_level AND o.id = l.id AND o.at = l.at
    RETURNING o.zone_id, o.at
), inserted AS (
    INSERT INTO occupancy_samples ({_SAMPLE_COLS}, {_HISTORY_COLS})
    SELECT {", ".join("f." + c for c in _SAMPLE_COLS.split(", "))},
           f.delta, f.entered, f.exited, l.level
    FROM fresh_samples f JOIN leveled l ON l.fresh AND l.id = f.id
    ON CONFLICT DO NOTHING
    RETURNING zone_id, at
)
SELECT DISTINCT zone_id, date_bin('1 hour', at, TIMESTAMPTZ '2000-01-01 00:00+00')
FROM (SELECT * FROM moved UNION ALL SELECT * FROM inserted) t
"""

_UPDATE_TAILS_FROM_ROWS = """
INSERT INTO occupancy_tail (zone_id, at, level)
SELECT z.zone_id, s.at, s.level FROM unnest(%s::text[]) AS z (zone_id)
CROSS JOIN LATERAL (
    SELECT at, level FROM occupancy_samples o WHERE o.zone_id = z.zone_id
    ORDER BY at DESC LIMIT 1
) s
ON CONFLICT (zone_id) DO UPDATE SET at = EXCLUDED.at, level = EXCLUDED.level
"""

_STORED_SINCE = """
SELECT z.zone_id, o.id, o.at, o.delta, o.level
FROM unnest(%s::text[], %s::timestamptz[]) AS z (zone_id, since)
CROSS JOIN LATERAL (
    SELECT id, at, delta, level FROM occupancy_samples o
    WHERE o.zone_id = z.zone_id AND o.at >= z.since
) o
"""

_MOVE_LEVELS = """
UPDATE occupancy_samples o SET level = m.level
FROM unnest(%s::uuid[], %s::timestamptz[], %s::int[]) AS m (id, at, level)
WHERE o.id = m.id AND o.at = m.at
"""

# Tails of the zones whose levels were derived here, and the newest state of
# every zone in the batch (guarded by version), in one round trip.
_UPDATE_ZONES = """
WITH tails AS (
    INSERT INTO occupancy_tail (zone_id, at, level)
    SELECT * FROM unnest(%s::text[], %s::timestamptz[], %s::int[])
    ON CONFLICT (zone_id) DO UPDATE SET at = EXCLUDED.at, level = EXCLUDED.level
)
INSERT INTO zone_occupancy (zone_id, occupancy, entries, exits, version, updated_at)
SELECT * FROM unnest(%s::text[], %s::int[], %s::bigint[], %s::bigint[], %s::bigint[],
                     %s::timestamptz[])
ON CONFLICT (zone_id) DO UPDATE SET occupancy = EXCLUDED.occupancy,
    entries = EXCLUDED.entries, exits = EXCLUDED.exits,
    version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
WHERE zone_occupancy.version < EXCLUDED.version
"""

_INSERT_STAGED_CROSSINGS = f"""
WITH inserted AS (
    INSERT INTO crossings ({_CROSSING_COLS})
    SELECT {_CROSSING_COLS} FROM staging_crossings ON CONFLICT DO NOTHING
    RETURNING camera_id, line_id, occurred_at
)
SELECT DISTINCT camera_id, line_id,
       date_bin('1 hour', occurred_at, TIMESTAMPTZ '2000-01-01 00:00+00')
FROM inserted
"""


def _hours(keyed: Iterable[tuple[K, datetime]]) -> set[tuple[K, datetime]]:
    """``(key, start of the UTC hour)`` for each ``(key, time)``, deduplicated."""
    hours = {(k, int(t.timestamp()) // 3600) for k, t in keyed}
    return {(k, datetime.fromtimestamp(h * 3600, UTC)) for k, h in hours}


def crossing_row(c: CrossingEvent) -> tuple[object, ...]:
    """A crossing in the column order of ``crossings`` (recount rows reuse it)."""
    return (
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


def _sample_row(s: OccupancyChanged) -> tuple[object, ...]:
    return (
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


@dataclass(frozen=True)
class _ZoneState:
    """What is stored about a zone: newest version's counters, event-time tail."""

    version: int
    occupancy: int
    entries: int
    exits: int
    tail_at: datetime | None
    tail_level: int


@dataclass(frozen=True)
class _Stored:
    """A stored change of a zone at or after the earliest new one, in event time."""

    id: uuid.UUID
    at: datetime
    delta: int
    level: int


@dataclass(frozen=True)
class _Derived:
    """One zone's new rows with derived columns, stored rows whose level moves, new tail."""

    rows: list[tuple[object, ...]]
    moved: list[tuple[uuid.UUID, datetime, int]]
    tail_at: datetime
    tail_level: int


def _contiguous(changes: list[OccupancyChanged], state: _ZoneState | None) -> bool:
    """Do these changes (by version) directly follow the zone's stored ones?"""
    if state is not None and state.tail_at is None and state.version > 0:
        return False  # counters without raw rows: let SQL work it out
    version = state.version if state else 0
    for c in changes:
        if c.version != version + 1:
            return False
        version = c.version
    return True


def _derive(
    changes: list[OccupancyChanged], state: _ZoneState | None, stored: list[_Stored]
) -> _Derived:
    """Derived columns for changes that directly follow the zone's stored ones.

    Args:
        changes: One zone's new changes, by version (see :func:`_contiguous`).
        state: The zone as stored, or None for a new zone.
        stored: The zone's stored changes at or after the earliest new one in
            event time (empty unless some new change is late).
    """
    occupancy, entries, exits = (
        (state.occupancy, state.entries, state.exits) if state else (0, 0, 0)
    )
    increments = []
    for c in changes:
        increments.append((c.occupancy - occupancy, c.entries - entries, c.exits - exits))
        occupancy, entries, exits = c.occupancy, c.entries, c.exits
    # Event-time levels from just before the earliest new change: the tail's
    # level is the sum of every stored delta, so take back those from then on.
    tail_level = state.tail_level if state and state.tail_at is not None else 0
    level = tail_level - sum(r.delta for r in stored)
    # (at, new?, index): stored rows and new changes on one time line.
    timeline = sorted(
        [(r.at, False, i) for i, r in enumerate(stored)]
        + [(c.at, True, i) for i, c in enumerate(changes)],
        key=lambda e: e[0],
    )
    levels = [0] * len(changes)
    moved = []
    i = 0
    while i < len(timeline):
        # Changes at one instant share the level after all of them.
        j = i
        at = timeline[i][0]
        while j < len(timeline) and timeline[j][0] == at:
            _, new, k = timeline[j]
            level += increments[k][0] if new else stored[k].delta
            j += 1
        for _, new, k in timeline[i:j]:
            if new:
                levels[k] = level
            elif stored[k].level != level:
                moved.append((stored[k].id, stored[k].at, level))
        i = j
    for k, c in enumerate(changes):
        # Binary COPY would silently wrap these; refuse like the server does.
        for name, value in zip(_DERIVED, (*increments[k], levels[k]), strict=True):
            if not -_INT4 <= value < _INT4:
                raise errors.NumericValueOutOfRange(
                    f"{name} = {value} of occupancy change {c.id} is out of range for integer"
                )
    rows = [(*_sample_row(c), *increments[k], levels[k]) for k, c in enumerate(changes)]
    return _Derived(rows, moved, timeline[-1][0], level)


class PostgresSink(BatchingSink[Event, Origin]):
    """Writes batches of crossings, occupancy changes, alerts and commands.

    ``flush`` returns the events refused for their content with their origin
    (see :class:`~streams.sinks.base.Flushed`); it raises
    :class:`~streams.sinks.base.SinkError` when the batch must be retried.

    Args:
        dsn: libpq connection string.
        timezone: The plant's time zone, for a database the sink migrates
            first (see :func:`schemas.migrate.migrate`, as the next two).
        history_backend: ``auto``, ``plain`` or ``timescaledb``.
        raw_retention_days: Days TimescaleDB keeps raw rows.
    """

    def __init__(
        self,
        dsn: str,
        *,
        timezone: str | None = None,
        history_backend: str = "auto",
        raw_retention_days: int = DEFAULT_RAW_RETENTION_DAYS,
    ) -> None:
        super().__init__()
        self.dsn = dsn
        # How a database this sink migrates first keeps its history.
        self._timezone = timezone
        self._history_backend = history_backend
        self._raw_retention_days = raw_retention_days
        self._conn: psycopg.AsyncConnection | None = None
        self._migrated = False
        #: ``plain`` or ``timescaledb``, read from ``history_settings``.
        self._backend: str | None = None

    async def _connection(self) -> psycopg.AsyncConnection:
        if not self._migrated:
            # Whichever process starts first (worker or API) brings the schema up
            # to date; the migration lock makes concurrent starts safe.
            await asyncio.to_thread(
                migrate,
                self.dsn,
                timezone=self._timezone,
                backend=self._history_backend,
                raw_retention_days=self._raw_retention_days,
            )
            self._migrated = True
        if self._conn is None or self._conn.closed:
            conn = await psycopg.AsyncConnection.connect(self.dsn)
            try:
                for statement in _TEMP_TABLES:
                    await conn.execute(statement)
                row = await (await conn.execute("SELECT backend FROM history_settings")).fetchone()
                await conn.commit()
            except BaseException:
                await conn.close()
                raise
            self._backend = row[0] if row else "plain"
            self._conn = conn
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def write(self, batch: list[Event]) -> dict[int, str]:
        refused = {i: why for i, e in enumerate(batch) if (why := refusal(e)) is not None}
        todo = [i for i in range(len(batch)) if i not in refused]
        try:
            if todo:
                conn = await self._connection()
                try:
                    async with conn.transaction():
                        await self._store(conn, [batch[i] for i in todo])
                except psycopg.Error as e:
                    if not _refused_for_content(e):
                        raise
                    logger.warning(
                        "PostgreSQL refused a batch of %d events for its content (%s);"
                        " bisecting it to store the others",
                        len(todo),
                        _reason(e),
                    )
                    async with conn.transaction():
                        await self._sift(conn, batch, todo, refused, e)
        except psycopg.Error as e:
            # Drop the connection: after a server restart it is dead anyway.
            await self.close()
            crossings = sum(isinstance(x, CrossingEvent) for x in batch)
            samples = sum(isinstance(x, OccupancyChanged) for x in batch)
            raise SinkError(
                f"writing {crossings} crossings, {samples} occupancy changes and "
                f"{len(batch) - crossings - samples} alerts/commands failed: {e}"
            ) from e
        return refused

    async def _sift(
        self,
        conn: psycopg.AsyncConnection,
        batch: list[Event],
        part: list[int],
        refused: dict[int, str],
        error: psycopg.Error,
    ) -> None:
        """Store what PostgreSQL takes of ``batch[part]``, which it refused with ``error``.

        Each half is written in a savepoint; a half refused for its content is
        split again, so only the single events it refuses end in ``refused``.
        Halves go in batch order, so each zone's changes keep their order.
        """
        if len(part) == 1:
            refused[part[0]] = _reason(error)
            return
        middle = len(part) // 2
        for half in (part[:middle], part[middle:]):
            try:
                async with conn.transaction():  # a savepoint
                    await conn.execute(_CLEAR_STAGING)
                    await self._store(conn, [batch[i] for i in half])
            except psycopg.Error as e:
                if not _refused_for_content(e):
                    raise
                await self._sift(conn, batch, half, refused, e)

    async def _store(self, conn: psycopg.AsyncConnection, batch: list[Event]) -> None:
        """Write ``batch`` inside the open transaction (or savepoint)."""
        crossings = [e for e in batch if isinstance(e, CrossingEvent)]
        samples = [e for e in batch if isinstance(e, OccupancyChanged)]
        others = [e for e in batch if not isinstance(e, CrossingEvent | OccupancyChanged)]
        rollups = self._backend == "plain"
        await self._lock(conn, crossings, samples)
        flows: set[tuple[str, str, datetime]] = set()
        zones: set[tuple[str, datetime]] = set()
        if crossings:
            flows = await self._write_crossings(conn, crossings, rollups)
        if samples:
            zones = await self._write_samples(conn, samples, rollups)
        if rollups and (flows or zones):
            await self._refresh_rollups(conn, flows, zones)
        if others:
            await self._write_operations(conn, others)

    async def _lock(
        self,
        conn: psycopg.AsyncConnection,
        crossings: list[CrossingEvent],
        samples: list[OccupancyChanged],
    ) -> None:
        """Serialise writers of the same zone (levels) and camera (plain rollups).

        One partition owns a zone or camera, but during a rebalance two
        workers may briefly write the same one. Keys are taken in one global
        order (cameras, then zones, each sorted), so two writers cannot deadlock.
        """
        keys = []
        if self._backend == "plain":
            keys += [f"history:camera:{c}" for c in sorted({c.camera_id for c in crossings})]
        keys += [f"history:zone:{z}" for z in sorted({s.zone_id for s in samples})]
        if keys:
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(k, 0))"
                " FROM unnest(%s::text[]) WITH ORDINALITY AS u (k, i) ORDER BY i",
                (keys,),
            )

    @staticmethod
    async def _refresh_rollups(
        conn: psycopg.AsyncConnection,
        flows: set[tuple[str, str, datetime]],
        zones: set[tuple[str, datetime]],
    ) -> None:
        """Plain path: recompute the rollups of the hours touched, in one round trip."""
        cameras, lines, flow_hours = (
            (list(c) for c in zip(*flows, strict=True)) if flows else ([], [], [])
        )
        zone_ids, zone_hours = (list(c) for c in zip(*zones, strict=True)) if zones else ([], [])
        await conn.execute(
            "SELECT history_refresh_crossings(%s::text[], %s::text[], %s::timestamptz[]),"
            " history_refresh_zones(%s::text[], %s::timestamptz[])",
            (cameras, lines, flow_hours, zone_ids, zone_hours),
        )

    @staticmethod
    async def _write_crossings(
        conn: psycopg.AsyncConnection, rows: list[CrossingEvent], rollups: bool
    ) -> set[tuple[str, str, datetime]]:
        """Store the crossings; return ``(camera, line, hour)`` of those new, if ``rollups``."""
        async with conn.cursor() as cur:
            try:
                async with (
                    conn.transaction(),  # a savepoint
                    cur.copy(
                        f"COPY crossings ({_CROSSING_COLS}) FROM STDIN (FORMAT BINARY)"
                    ) as copy,
                ):
                    copy.set_types(_CROSSING_TYPES)
                    for c in rows:
                        await copy.write_row(crossing_row(c))
                touched = (
                    {
                        (camera, line, hour)
                        for (camera, line), hour in _hours(
                            ((c.camera_id, c.line_id), c.occurred_at) for c in rows
                        )
                    }
                    if rollups
                    else set()
                )
            except errors.UniqueViolation:
                # Some are stored already (a redelivery): only the new ones.
                async with cur.copy(
                    f"COPY staging_crossings ({_CROSSING_COLS}) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(_CROSSING_TYPES)
                    for c in rows:
                        await copy.write_row(crossing_row(c))
                await cur.execute(_INSERT_STAGED_CROSSINGS)
                touched = set(await cur.fetchall())
        return touched

    @staticmethod
    async def _write_samples(
        conn: psycopg.AsyncConnection, rows: list[OccupancyChanged], rollups: bool
    ) -> set[tuple[str, datetime]]:
        """Store the changes with derived columns; return ``(zone, hour)`` touched."""
        by_zone: dict[str, list[OccupancyChanged]] = defaultdict(list)
        for s in rows:
            by_zone[s.zone_id].append(s)
        for changes in by_zone.values():
            changes.sort(key=lambda c: c.version)
        async with conn.cursor() as cur:
            await cur.execute(_ZONE_STATES, (sorted(by_zone),))
            states = {
                z: _ZoneState(v, o, en, ex, t, lv or 0) if v is not None else None
                for z, v, o, en, ex, t, lv in await cur.fetchall()
            }
            simple = [z for z, changes in by_zone.items() if _contiguous(changes, states[z])]
            # Zones with a change at or before their stored tail: fetch the
            # stored changes from the earliest new one on, to move their levels.
            late: dict[str, datetime] = {}
            for z in simple:
                state = states[z]
                since = min(c.at for c in by_zone[z])
                if state is not None and state.tail_at is not None and since <= state.tail_at:
                    late[z] = since
            stored: dict[str, list[_Stored]] = defaultdict(list)
            if late:
                await cur.execute(_STORED_SINCE, (list(late), list(late.values())))
                for z, *values in await cur.fetchall():
                    stored[z].append(_Stored(*values))
            derived = {z: _derive(by_zone[z], states[z], stored[z]) for z in simple}
            touched: set[tuple[str, datetime]] = set()
            if derived:
                try:
                    async with (
                        conn.transaction(),  # a savepoint
                        cur.copy(
                            f"COPY occupancy_samples ({_SAMPLE_COLS}, {_HISTORY_COLS})"
                            " FROM STDIN (FORMAT BINARY)"
                        ) as copy,
                    ):
                        copy.set_types(_SAMPLE_TYPES + _HISTORY_TYPES)
                        for d in derived.values():
                            for row in d.rows:
                                await copy.write_row(row)
                except errors.UniqueViolation:
                    derived = {}  # stored already after all: the careful way for all
            if derived:
                moved = [(z, m) for z, d in derived.items() for m in d.moved]
                if moved:
                    await cur.execute(
                        _MOVE_LEVELS,
                        (
                            [m[0] for _, m in moved],
                            [m[1] for _, m in moved],
                            [m[2] for _, m in moved],
                        ),
                    )
                    touched |= _hours((z, m[1]) for z, m in moved)
                if rollups:
                    touched |= _hours((z, c.at) for z in derived for c in by_zone[z])
            careful = [c for z, changes in by_zone.items() if z not in derived for c in changes]
            if careful:
                async with cur.copy(
                    f"COPY staging_samples ({_SAMPLE_COLS}) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(_SAMPLE_TYPES)
                    for c in careful:
                        await copy.write_row(_sample_row(c))
                await cur.execute(_STAGE_FRESH_SAMPLES)
                await cur.execute(_INSERT_FRESH_SAMPLES)
                touched |= set(await cur.fetchall())
                await cur.execute(_UPDATE_TAILS_FROM_ROWS, (sorted({c.zone_id for c in careful}),))
            # Tails derived here; newest version per zone, with a guarded upsert.
            newest = [changes[-1] for changes in by_zone.values()]
            await cur.execute(
                _UPDATE_ZONES,
                (
                    list(derived),
                    [d.tail_at for d in derived.values()],
                    [d.tail_level for d in derived.values()],
                    [c.zone_id for c in newest],
                    [c.occupancy for c in newest],
                    [c.entries for c in newest],
                    [c.exits for c in newest],
                    [c.version for c in newest],
                    [c.at for c in newest],
                ),
            )
        return touched

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
