"""Every Kafka topic of the project, listed once.

Each :class:`TopicSpec` says what a topic is for, how long the broker keeps
it and whether the Faust worker reads or writes it. The admin step
(:mod:`streams.admin`) creates every topic here, and the changelog topics of
the worker's tables (:data:`TABLES`); the worker's app
(:mod:`streams.faust_app`) declares the topics marked ``worker``. A new topic
is added here, once; processes outside the worker name it with
``Settings.topic(name)``.

Pure data: imports only :mod:`streams.settings`, so the admin step, the API
and the tools read it without building the Faust app.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.settings import Settings

__all__ = [
    "TABLES",
    "TOPICS",
    "TRACK_STATE",
    "ZONE_STATE",
    "TopicSpec",
    "changelog_topic",
    "worker_topics",
]

_HOUR_MS = 3600 * 1000
_WEEK_MS = 7 * 24 * _HOUR_MS


@dataclass(frozen=True)
class TopicSpec:
    """One topic.

    Attributes:
        name: Without prefix and version: ``detections`` is
            ``Settings.topic("detections")``, e.g. ``detections.v1``.
        worker: Whether the Faust worker reads or writes it (the app declares it).
        retention_ms: The broker's ``retention.ms`` (-1: forever); None for the
            recount horizon, ``Settings.detections_retention_hours``.
        purpose: What it carries, for people.
    """

    name: str
    worker: bool
    retention_ms: int | None
    purpose: str

    def configs(self, settings: Settings) -> dict[str, str]:
        """The topic-level configs the admin step sets."""
        if self.retention_ms is None:
            return {"retention.ms": str(settings.detections_retention_hours * 3600 * 1000)}
        return {"retention.ms": str(self.retention_ms)}


TOPICS: tuple[TopicSpec, ...] = (
    # Raw detections are the replay source: their retention is the recount horizon.
    TopicSpec("detections", True, None, "FrameDetections per camera frame (key camera)"),
    TopicSpec("crossings", True, 4 * _WEEK_MS, "CrossingEvent (key camera)"),
    TopicSpec("zone-deltas", True, _WEEK_MS, "ZoneDelta, SourceProgress, resets (key zone)"),
    TopicSpec("occupancy", True, 4 * _WEEK_MS, "OccupancyChanged (key zone)"),
    TopicSpec("deadletter", True, 4 * _WEEK_MS, "DeadLetter (key: the source key)"),
    # Commands are the audit trail of corrections: keep them (-1 = forever).
    TopicSpec("commands", True, -1, "OccupancyCalibrated, OccupancyReset (key zone)"),
    TopicSpec("alerts", True, 4 * _WEEK_MS, "AlertRaised, AlertResolved (key subject)"),
    # Written by the recount tool (streams.cli.recount), not by the worker.
    TopicSpec("recount", False, 4 * _WEEK_MS, "CrossingEvents of recount runs (key camera)"),
    # Producer heartbeats (producers/camera): status, not history.
    TopicSpec("camera-health", False, _WEEK_MS, "CameraHealth (key camera)"),
    # Snapshots on request (schemas.snapshots): the API asks, a producer answers.
    TopicSpec("snapshot-requests", False, _HOUR_MS, "SnapshotRequested (key camera)"),
    TopicSpec("camera-snapshots", False, 6 * _HOUR_MS, "CameraSnapshot (key camera)"),
)

#: Faust table names (``streams.tables``); their changelog topics are created
#: by the admin step too. A unit test compares this list with the tables the
#: app registers.
TRACK_STATE = "track-state"
ZONE_STATE = "zone-state"
TABLES: tuple[str, ...] = (TRACK_STATE, ZONE_STATE)


def worker_topics() -> tuple[TopicSpec, ...]:
    """The topics the Faust worker reads or writes."""
    return tuple(t for t in TOPICS if t.worker)


def changelog_topic(settings: Settings, table: str) -> str:
    """Changelog topic of a table, named as Faust names it.

    ``faust.tables.base.Collection._changelog_topic_name``:
    ``f"{app.conf.id}-{table.name}-changelog"``, without the topic prefix.
    """
    return f"{settings.app_id}-{table}-changelog"
