"""The worker's Faust app, built once from the settings and the plant configuration.

The one place that calls :func:`streams.faust_app.create_app` for the worker
(``python -m streams worker``). Agents (:mod:`streams.agents`), tables
(:mod:`streams.tables`) and the worker's shared helpers
(:mod:`streams.runtime`) import ``app`` and ``topics`` from here and decorate
them, which is how Faust registers them. Nothing in the core, the API, the
producers or the tools imports this module (an import-linter contract checks
it): importing it reads ``OCC_*`` settings and the plant configuration file.
"""

from __future__ import annotations

from schemas.config import PlantConfig, load_plant_config
from streams.core.zones import ZoneGraph
from streams.faust_app import WorkerTopics, create_app
from streams.settings import Settings

__all__ = ["app", "graph", "plant", "settings", "topics"]

settings = Settings()
plant: PlantConfig = load_plant_config(settings.plant_config)
graph = ZoneGraph(plant.zones, plant.lines)
app = create_app(settings)
topics = WorkerTopics(app, settings)
