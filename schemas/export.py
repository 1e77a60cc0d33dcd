"""Write (or check) the JSON Schema of every public model into ``schemas/json/``.

Usage::

    python -m schemas.export          # regenerate the files
    python -m schemas.export --check  # exit 1 if a committed file is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel

from schemas.config import PlantConfig
from schemas.events import (
    CrossingEvent,
    DeadLetter,
    FrameDetections,
    OccupancyChanged,
    SourceProgress,
    ZoneDelta,
)
from schemas.health import CameraHealth
from schemas.operations import AlertRaised, AlertResolved, OccupancyCalibrated, OccupancyReset
from schemas.snapshots import CameraSnapshot, SnapshotRequested

__all__ = ["MODELS", "SCHEMA_DIR", "render", "stale_files", "write_all"]

SCHEMA_DIR = Path(__file__).parent / "json"

#: file stem -> model. The stem carries the schema version.
MODELS: dict[str, type[BaseModel]] = {
    "FrameDetections.v1": FrameDetections,
    "CrossingEvent.v1": CrossingEvent,
    "ZoneDelta.v2": ZoneDelta,
    "SourceProgress.v2": SourceProgress,
    "OccupancyChanged.v1": OccupancyChanged,
    "DeadLetter.v1": DeadLetter,
    "OccupancyCalibrated.v1": OccupancyCalibrated,
    "OccupancyReset.v1": OccupancyReset,
    "AlertRaised.v1": AlertRaised,
    "AlertResolved.v1": AlertResolved,
    "CameraHealth.v1": CameraHealth,
    "SnapshotRequested.v1": SnapshotRequested,
    "CameraSnapshot.v1": CameraSnapshot,
    "PlantConfig.v1": PlantConfig,
}


def render(model: type[BaseModel]) -> str:
    schema = model.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def stale_files(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files that are missing or differ from the models."""
    stale = []
    for stem, model in MODELS.items():
        path = directory / f"{stem}.schema.json"
        if not path.exists() or path.read_text() != render(model):
            stale.append(path.name)
    return stale


def write_all(directory: Path = SCHEMA_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for stem, model in MODELS.items():
        (directory / f"{stem}.schema.json").write_text(render(model))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if a file is stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        if stale:
            print("stale JSON Schema files (run python -m schemas.export):", *stale, sep="\n  ")
            return 1
        print(f"{len(MODELS)} JSON Schema files are up to date")
        return 0
    write_all()
    print(f"wrote {len(MODELS)} JSON Schema files to {SCHEMA_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
