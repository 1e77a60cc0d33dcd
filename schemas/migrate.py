"""Versioned SQL migrations, applied in order and recorded in ``schema_migrations``.

Files are ``schemas/sql/NNN_name.sql``. Re-running is a no-op. A database
that has a migration newer than this code refuses to be used, with a clear
message, rather than being written by an older program.

Two storage paths share one numbering. A migration may come with variants,
``NNN_name.plain.sql`` and ``NNN_name.timescaledb.sql``: the base file runs
first, then the variant of the database's storage path, in one transaction.
The path is chosen once, by the first migration that has variants, and kept
in ``history_settings``: TimescaleDB when the extension is installed, or
available and preloaded (``shared_preload_libraries``); plain PostgreSQL
otherwise (``backend="auto"``); ``plain`` or ``timescaledb`` forces a choice.

Migrations may use placeholders, filled in as SQL literals: ``{{backend}}``,
``{{timezone}}`` (the plant's time zone, for day and month buckets),
``{{day_source}}`` (``hour``, or ``minute`` in time zones whose UTC offset is
not a whole number of hours) and ``{{raw_retention}}`` (how long TimescaleDB
keeps raw rows; default 30 days).

Every parameter is explicit: this module reads no environment and no
settings. The command ``python -m streams.cli.migrate [--refresh-history
[--since T]]`` takes them from the ``OCC_*`` settings (``OCC_DATABASE_URL``,
the time zone of ``OCC_PLANT_CONFIG``, ``OCC_HISTORY_BACKEND``,
``OCC_RAW_RETENTION_DAYS``), as do the API and the sink, which migrate at start.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from psycopg import sql

from schemas.config import load_plant_config

__all__ = [
    "DEFAULT_RAW_RETENTION_DAYS",
    "MIGRATIONS_DIR",
    "MIN_RAW_RETENTION_DAYS",
    "Backend",
    "BackendChoice",
    "DatabaseTooNewError",
    "MigrationError",
    "available",
    "migrate",
    "plant_timezone",
    "refresh_history",
]

logger = logging.getLogger(__name__)

Backend = Literal["plain", "timescaledb"]
#: What a caller asks for: a path, or ``auto`` (TimescaleDB when it is usable).
BackendChoice = Backend | Literal["auto"]

MIGRATIONS_DIR = Path(__file__).parent / "sql"
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
# Any constant works; it keeps two processes from migrating at once.
_LOCK_KEY = 0x6F636375
#: Raw rows must outlive the widest refresh window of the minute aggregates
#: (7 days), or a refresh would find them gone and empty its buckets.
MIN_RAW_RETENTION_DAYS = 8
#: Days TimescaleDB keeps raw rows unless told otherwise.
DEFAULT_RAW_RETENTION_DAYS = 30
_ROOT = Path(__file__).resolve().parent.parent


class MigrationError(RuntimeError):
    """The database cannot be migrated as asked."""


class DatabaseTooNewError(MigrationError):
    """The database was migrated by a newer version of this project."""


def available() -> list[tuple[int, str, Path]]:
    """The base migration files: ``(version, name, path)``, oldest first."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        m = _NAME.match(path.name)
        if m:
            found.append((int(m.group(1)), m.group(2), path))
    return found


def _variant(path: Path, backend: Backend) -> Path | None:
    candidate = path.with_name(f"{path.stem}.{backend}.sql")
    return candidate if candidate.exists() else None


def _has_variants(path: Path) -> bool:
    return any(_variant(path, b) is not None for b in ("plain", "timescaledb"))


def plant_timezone(plant_config: str | Path) -> str:
    """The time zone of a plant configuration file, or UTC if there is none.

    A relative path is looked up from the working directory, then from the
    project's root.
    """
    configured = Path(plant_config)
    for path in (configured, _ROOT / configured):
        if path.is_file():
            return load_plant_config(path).timezone
    logger.warning("plant configuration %s not found; history uses UTC days", configured)
    return "UTC"


def whole_hour_offsets(timezone: str) -> bool:
    """True if the zone's UTC offset was a whole number of hours every day since 1990.

    Then every UTC hour lies inside one local day, and day buckets can be
    built from hour buckets.
    """
    tz = ZoneInfo(timezone)
    day = datetime(1990, 1, 1, 12, tzinfo=UTC)
    end = datetime(2040, 1, 1, tzinfo=UTC)
    while day < end:
        offset = day.astimezone(tz).utcoffset() or timedelta(0)
        if offset % timedelta(hours=1):
            return False
        day += timedelta(days=1)
    return True


def _detect_backend(conn: psycopg.Connection) -> Backend:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'),"
        " EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),"
        " current_setting('shared_preload_libraries') ~ 'timescaledb'"
    ).fetchone()
    assert row is not None
    installed, extension_available, preloaded = row
    if installed or (extension_available and preloaded):
        return "timescaledb"
    if extension_available:
        logger.warning(
            "timescaledb is installed on the server but not in shared_preload_libraries; "
            "using the plain PostgreSQL path"
        )
    return "plain"


def _stored_settings(conn: psycopg.Connection) -> dict[str, str] | None:
    exists = conn.execute("SELECT to_regclass('history_settings') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute(
        "SELECT backend, timezone, day_source, extract(day FROM raw_retention)::int"
        " FROM history_settings"
    ).fetchone()
    if row is None:
        return None
    return {"backend": row[0], "timezone": row[1], "day_source": row[2], "days": str(row[3])}


def _render(text: str, values: dict[str, str], path: Path) -> str:
    def fill(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            raise MigrationError(f"{path.name}: unknown placeholder {m.group(0)}")
        return values[m.group(1)]

    return _PLACEHOLDER.sub(fill, text)


def migrate(
    dsn: str,
    *,
    timezone: str | None = None,
    backend: BackendChoice | str = "auto",
    raw_retention_days: int = DEFAULT_RAW_RETENTION_DAYS,
) -> list[int]:
    """Apply pending migrations; return the versions applied.

    Args:
        dsn: libpq connection string.
        timezone: IANA zone of day and month buckets (the plant's, see
            :func:`plant_timezone`; None: UTC). Fixed by the migration that
            creates the history.
        backend: ``plain``, ``timescaledb`` or ``auto``. Fixed by the first
            migration with variants; asking for the other one later is an error.
        raw_retention_days: Days TimescaleDB keeps raw rows; at least
            :data:`MIN_RAW_RETENTION_DAYS`.
    """
    migrations = available()
    newest_known = max((v for v, _, _ in migrations), default=0)
    requested = backend
    if requested not in ("auto", "plain", "timescaledb"):
        raise MigrationError(f"history backend must be auto, plain or timescaledb: {requested!r}")
    applied: list[int] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            too_new = sorted(v for v in done if v > newest_known)
            if too_new:
                raise DatabaseTooNewError(
                    f"database has migrations {too_new} but this code knows only up to "
                    f"{newest_known}; upgrade the code before pointing it at this database"
                )
            pending = [m for m in migrations if m[0] not in done]
            stored = _stored_settings(conn)
            if stored is not None:
                chosen: Backend = "timescaledb" if stored["backend"] == "timescaledb" else "plain"
                if requested not in ("auto", chosen):
                    raise MigrationError(
                        f"this database keeps history on the {chosen} path; it cannot be "
                        f"switched to {requested} in place"
                    )
                if timezone is not None and timezone != stored["timezone"]:
                    logger.warning(
                        "history buckets use time zone %s (fixed when the database was "
                        "created); %s was asked for",
                        stored["timezone"],
                        timezone,
                    )
            elif requested == "plain":
                chosen = "plain"
            elif requested == "timescaledb":
                chosen = "timescaledb"
            else:
                chosen = _detect_backend(conn) if pending else "plain"
            values: dict[str, str] = {}
            if any(_PLACEHOLDER.search(p.read_text()) for *_, p in pending):
                values = _template_values(conn, chosen, stored, timezone, raw_retention_days)
            for version, name, path in pending:
                sources = [path]
                variant = _variant(path, chosen)
                if variant is not None:
                    sources.append(variant)
                elif _has_variants(path):
                    raise MigrationError(f"{path.name} has no {chosen} variant")
                with conn.transaction():
                    for source in sources:
                        conn.execute(_render(source.read_text(), values, source))
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (version, name),
                    )
                logger.info(
                    "applied migration %03d_%s%s",
                    version,
                    name,
                    f" ({chosen})" if variant is not None else "",
                )
                applied.append(version)
                if variant is not None and chosen == "timescaledb":
                    # Continuous aggregates are created WITH NO DATA, and the
                    # refresh policies look back a week only: materialise
                    # whatever raw rows the database had before (this cannot
                    # run inside the migration's transaction).
                    refresh_history(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


def refresh_history(conn: psycopg.Connection, start: datetime | None = None) -> int:
    """TimescaleDB path: refresh every history aggregate from ``start`` on (default: all).

    The refresh policies cover the last week. Run this (``python -m streams.cli.migrate
    --refresh-history [--since ISO-TIME]``) after loading or replaying older
    raw rows, or after events arrived more than a week late. Minutes first,
    then hours, days and months, each from the level below. A no-op on the
    plain path, whose rollups are always current. Returns the aggregates
    refreshed.

    Args:
        conn: A connection in autocommit mode.
        start: Refresh buckets from this time on (UTC); None for all.
    """
    row = conn.execute(
        "SELECT to_regclass('history_settings') IS NOT NULL"
        " AND (SELECT backend FROM history_settings) = 'timescaledb'"
    ).fetchone()
    if not row or not row[0]:
        return 0
    n = 0
    for granularity in ("minute", "hour", "day", "month"):
        for kind in ("zone", "camera", "line"):
            for attempt in range(30):
                try:
                    conn.execute(
                        "CALL refresh_continuous_aggregate(%s::regclass, %s::timestamptz, NULL)",
                        (f"{kind}_history_{granularity}", start),
                    )
                    break
                except psycopg.errors.LockNotAvailable:
                    # A refresh policy is running on the same aggregate: wait.
                    if attempt == 29:
                        raise
                    time.sleep(0.2 * (attempt + 1))
            n += 1
    return n


def _template_values(
    conn: psycopg.Connection,
    backend: Backend,
    stored: dict[str, str] | None,
    timezone: str | None,
    retention_days: int,
) -> dict[str, str]:
    """Placeholder values: from ``history_settings`` once it exists, else chosen now."""
    if stored is not None:
        tz, day_source, days = stored["timezone"], stored["day_source"], int(stored["days"])
    else:
        tz = timezone or "UTC"
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise MigrationError(f"unknown time zone {tz!r}") from e
        known = conn.execute("SELECT 1 FROM pg_timezone_names WHERE name = %s", (tz,)).fetchone()
        if known is None:
            raise MigrationError(f"PostgreSQL does not know the time zone {tz!r}")
        day_source = "hour" if whole_hour_offsets(tz) else "minute"
        days = retention_days
    if days < MIN_RAW_RETENTION_DAYS:
        raise MigrationError(
            f"raw retention of {days} days is shorter than the {MIN_RAW_RETENTION_DAYS} days "
            "the minute aggregates' refresh window needs"
        )

    def literal(value: object) -> str:
        return sql.Literal(value).as_string(conn)

    return {
        "backend": literal(backend),
        "timezone": literal(tz),
        "day_source": day_source,  # part of relation names, so no quotes
        "raw_retention": f"INTERVAL '{days} days'",
    }
