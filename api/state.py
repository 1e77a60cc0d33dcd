"""What the API process holds: configuration, database pool, live hub."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from api.live import LiveHub
from schemas.config import PlantConfig
from streams.settings import Settings

__all__ = ["ApiState"]


@dataclass
class ApiState:
    settings: Settings
    plant: PlantConfig
    pool: AsyncConnectionPool
    hub: LiveHub
