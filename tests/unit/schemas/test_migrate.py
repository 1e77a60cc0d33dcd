"""The migration files and parameters, without a database (the runs are in
``tests/integration/test_postgres_sink.py`` and ``test_history.py``)."""

from __future__ import annotations

from pathlib import Path

from schemas.config import load_plant_config
from schemas.migrate import MIGRATIONS_DIR, available, plant_timezone, whole_hour_offsets

ROOT = Path(__file__).resolve().parents[3]


def test_the_migrations_ship_with_the_schemas_package():
    assert MIGRATIONS_DIR == ROOT / "schemas" / "sql"
    versions = [v for v, _, _ in available()]
    assert versions == sorted(set(versions)) and versions[:2] == [1, 2]
    for _, _, path in available():
        assert path.parent == MIGRATIONS_DIR
    # The history migration comes in both storage paths' variants.
    assert (MIGRATIONS_DIR / "002_history.plain.sql").is_file()
    assert (MIGRATIONS_DIR / "002_history.timescaledb.sql").is_file()


def test_plant_timezone_reads_the_configuration_or_falls_back_to_utc(tmp_path):
    demo = ROOT / "config" / "demo-plant.toml"
    assert plant_timezone(demo) == load_plant_config(demo).timezone
    assert plant_timezone("config/demo-plant.toml") == load_plant_config(demo).timezone
    assert plant_timezone(tmp_path / "missing.toml") == "UTC"


def test_day_buckets_come_from_hours_only_in_whole_hour_zones():
    assert whole_hour_offsets("Europe/Berlin")
    assert not whole_hour_offsets("Asia/Kolkata")
