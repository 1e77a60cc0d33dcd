"""Versioned SQL migrations, applied in order and recorded in ``schema_migrations``.

Files are ``api/migrations/NNN_name.sql``. Re-running is a no-op. A database
that has a migration newer than this code refuses to be used, with a clear
message, rather than being written by an older program.

Command: ``python -m api.migrate`` (uses ``OCC_DATABASE_URL``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import psycopg

__all__ = ["MIGRATIONS_DIR", "DatabaseTooNewError", "available", "migrate"]

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
# Any constant works; it keeps two processes from migrating at once.
_LOCK_KEY = 0x6F636375


class DatabaseTooNewError(RuntimeError):
    """The database was migrated by a newer version of this project."""


def available() -> list[tuple[int, str, Path]]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        m = _NAME.match(path.name)
        if m:
            found.append((int(m.group(1)), m.group(2), path))
    return found


def migrate(dsn: str) -> list[int]:
    """Apply pending migrations; return the versions applied."""
    migrations = available()
    newest_known = max((v for v, _, _ in migrations), default=0)
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
            for version, name, path in migrations:
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(path.read_text())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (version, name),
                    )
                logger.info("applied migration %03d_%s", version, name)
                applied.append(version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


def main() -> None:
    from streams.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    applied = migrate(Settings().database_url)
    print(f"migrations applied: {applied or 'none (up to date)'}")


if __name__ == "__main__":
    main()
