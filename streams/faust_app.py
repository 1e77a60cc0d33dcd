"""Building the worker's Faust app: :func:`create_app` and :class:`WorkerTopics`.

A factory rather than a module that builds an app on import: tests and tools
can build an app from any :class:`~streams.settings.Settings`, and
:mod:`streams.app` is the one place that builds *the* worker's app (agents
decorate it from there, which is how Faust registers them).

Every topic carries raw bytes: each consumer validates with the pydantic
models itself, so that a malformed message becomes a dead letter with its
origin instead of a crash in a deserializer.
"""

from __future__ import annotations

import faust

from streams import aiokafka_metadata, faust_recovery, logs
from streams.settings import Settings
from streams.topics import worker_topics

__all__ = ["WorkerTopics", "create_app"]


def create_app(settings: Settings) -> faust.App:
    """The worker's Faust app for ``settings`` (broker, group, commit and session timing).

    Installs the patch against faust-streaming #596 (skipped messages after
    table recovery, :mod:`streams.faust_recovery`) and the one that keeps
    aiokafka's metadata task alive (:mod:`streams.aiokafka_metadata`) first,
    before any Faust or aiokafka object exists.
    """
    faust_recovery.install()
    aiokafka_metadata.install()
    return faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        store="memory://",
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        producer_acks=-1,
        # A few ms of linger batches a burst of outputs into one request per
        # partition: far fewer requests for the broker and the client.
        producer_linger=settings.producer_linger_ms / 1000,
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
        # JSON lines when stderr is no terminal (streams.logs); None: Faust's own text.
        logging_config=logs.faust_logging_config(),
    )


class WorkerTopics:
    """The topics the worker reads and writes: those of :data:`streams.topics.TOPICS`
    marked ``worker``, declared on ``app`` as raw-bytes Faust topics (see README)."""

    def __init__(self, app: faust.App, settings: Settings) -> None:
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
