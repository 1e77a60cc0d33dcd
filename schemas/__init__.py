"""The contracts: event and configuration models, their JSON Schema, the SQL schema.

* :mod:`schemas.events`, :mod:`schemas.operations`, :mod:`schemas.health`:
  the frozen pydantic models of every topic's messages;
* :mod:`schemas.config`: the plant configuration (cameras, lines, zones);
* :mod:`schemas.export`: JSON Schema files in ``schemas/json/``, generated;
* :mod:`schemas.migrate` and ``schemas/sql/``: the database schema and its
  versioned migrations (explicit parameters, no settings).

What it may import: pydantic, psycopg (the migrations) and the standard
library; nothing from ``streams``, ``api`` or ``producers``, which all import
it (an import-linter contract checks it).
"""

from schemas.config import (
    OUTSIDE,
    CameraConfig,
    LineConfig,
    PlantConfig,
    ZoneConfig,
    load_plant_config,
)
from schemas.events import (
    CrossingEvent,
    DeadLetter,
    FrameDetections,
    OccupancyChanged,
    SourceProgress,
    Track,
    ZoneDelta,
    crossing_id,
    occupancy_change_id,
)
from schemas.operations import (
    AlertEvent,
    AlertRaised,
    AlertResolved,
    OccupancyCalibrated,
    OccupancyReset,
)

__all__ = [
    "OUTSIDE",
    "AlertEvent",
    "AlertRaised",
    "AlertResolved",
    "CameraConfig",
    "CrossingEvent",
    "DeadLetter",
    "FrameDetections",
    "LineConfig",
    "OccupancyCalibrated",
    "OccupancyChanged",
    "OccupancyReset",
    "PlantConfig",
    "SourceProgress",
    "Track",
    "ZoneConfig",
    "ZoneDelta",
    "crossing_id",
    "load_plant_config",
    "occupancy_change_id",
]
