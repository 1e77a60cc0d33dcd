"""The Faust application: broker, topics, plant configuration.

Agents live in :mod:`streams.agents` and tables in :mod:`streams.tables`; both
import ``app`` from here. Every topic carries raw bytes: each consumer
validates with the pydantic models itself, so that a malformed message becomes
a dead letter with its origin instead of a crash in a deserializer.
"""

from __future__ import annotations

import logging

import faust

from schemas.config import PlantConfig, load_plant_config
from streams import faust_recovery
from streams.core.zones import ZoneGraph
from streams.settings import Settings
from streams.topics import worker_topics

# Before any Faust object exists: faust-streaming #596 (skipped messages after recovery).
faust_recovery.install()

__all__ = ["app", "graph", "plant", "settings", "topics"]

logger = logging.getLogger(__name__)

settings = Settings()
plant: PlantConfig = load_plant_config(settings.plant_config)
graph = ZoneGraph(plant.zones, plant.lines)

app = faust.App(
    settings.app_id,
    broker=f"kafka://{settings.kafka_bootstrap_servers}",
    store="memory://",
    topic_partitions=settings.partitions,
    topic_replication_factor=1,
    producer_acks=-1,
    # Offsets are committed only after the outputs of the events before them
    # are acknowledged (Faust flushes the producer first): at-least-once.
    broker_commit_interval=1.0,
    broker_session_timeout=settings.session_timeout_s,
    broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
    consumer_auto_offset_reset="earliest",
    web_enabled=False,
    table_cleanup_interval=30.0,
    # Refresh metadata often: a group that formed before a topic existed gets it
    # within seconds (Faust's default, 300 s, left a fresh worker idle for minutes).
    consumer_metadata_max_age_ms=5000,
)


class _Topics:
    """The topics this app reads and writes: those of :data:`streams.topics.TOPICS`
    marked ``worker``, as raw-bytes Faust topics (see README)."""

    def __init__(self) -> None:
        def raw(name: str) -> faust.TopicT:
            return app.topic(
                settings.topic(name),
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=settings.partitions,
                internal=False,
            )

        #: Registry name (``detections``) -> topic.
        self.by_name: dict[str, faust.TopicT] = {t.name: raw(t.name) for t in worker_topics()}
        self.detections = self.by_name["detections"]
        self.crossings = self.by_name["crossings"]
        self.zone_deltas = self.by_name["zone-deltas"]
        self.occupancy = self.by_name["occupancy"]
        self.commands = self.by_name["commands"]
        self.alerts = self.by_name["alerts"]
        self.deadletter = self.by_name["deadletter"]
        # The zone agent reads its deltas and the commands (calibrations, resets)
        # as one stream: both are keyed by zone and co-partitioned.
        self.zone_inputs = app.topic(
            self.zone_deltas.get_topic_name(),
            self.commands.get_topic_name(),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )


topics = _Topics()
