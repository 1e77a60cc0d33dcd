"""Apply the database migrations: ``python -m streams.cli.migrate [--refresh-history [--since T]]``.

The migrations and their runner belong to the contracts (:mod:`schemas.migrate`,
``schemas/sql/``) and take every parameter explicitly; this command takes them
from the ``OCC_*`` settings: ``OCC_DATABASE_URL``, the time zone of
``OCC_PLANT_CONFIG``, ``OCC_HISTORY_BACKEND`` (``auto``, ``plain`` or
``timescaledb``) and ``OCC_RAW_RETENTION_DAYS``. ``deploy/up.sh`` runs it
before starting anything; the API and the sink do the same at start.
"""

from __future__ import annotations

import argparse
import logging
from datetime import datetime

import psycopg

from schemas.migrate import migrate, plant_timezone, refresh_history
from streams.settings import Settings

__all__ = ["main", "migrate_with"]


def migrate_with(settings: Settings, dsn: str | None = None) -> list[int]:
    """Migrate ``dsn`` (default: ``settings.database_url``) with the settings' options."""
    return migrate(
        dsn or settings.database_url,
        timezone=plant_timezone(settings.plant_config),
        backend=settings.history_backend,
        raw_retention_days=settings.raw_retention_days,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Apply pending database migrations.")
    parser.add_argument(
        "--refresh-history",
        action="store_true",
        help="then refresh the TimescaleDB history aggregates (after loading old rows)",
    )
    parser.add_argument("--since", type=datetime.fromisoformat, help="refresh from this time on")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings()
    applied = migrate_with(settings)
    print(f"migrations applied: {applied or 'none (up to date)'}")
    if args.refresh_history:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            n = refresh_history(conn, args.since)
        print(f"history aggregates refreshed: {n}")


if __name__ == "__main__":
    main()
