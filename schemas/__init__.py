"""Event and configuration models: the public contract of the topics."""

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
