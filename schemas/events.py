"""Event models: the public contract of the Kafka topics.

Every event is a frozen, closed pydantic v2 model with a ``type`` tag and a
``schema_version``. Other plant systems consume these topics, so a change to a
model is a change to a contract: adding a field means a new schema version that
old consumers can still read, and the JSON Schema files under ``schemas/json/``
are regenerated (``python -m schemas.export``) and checked by the tests.

Times are timezone-aware UTC datetimes. Pixel coordinates are floats in the
camera's frame (origin top-left, x to the right, y down).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "EVENT_NAMESPACE",
    "CrossingEvent",
    "DeadLetter",
    "Direction",
    "FrameDetections",
    "OccupancyChanged",
    "SourceProgress",
    "Track",
    "ZoneDelta",
    "crossing_id",
    "occupancy_change_id",
]

#: Namespace of every deterministic event id (uuid5). Never change it: ids are
#: how consumers deduplicate redelivered events.
EVENT_NAMESPACE = uuid.UUID("6f1c2a4e-8d3b-5f7a-9c0e-1b2d3e4f5a6b")

Direction = Literal["in", "out"]


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a time zone (UTC expected)")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Track(_Event):
    """One tracked person in one frame.

    Attributes:
        id: Tracker id. Negative ids are unconfirmed tracks and are never counted.
        box: ``(x1, y1, x2, y2)`` in pixels, top-left and bottom-right corners.
        confidence: Detector confidence, 0..1.
        class_id: Detector class (0 is "person" for COCO models).
    """

    id: int
    box: tuple[float, float, float, float]
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    class_id: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _box_is_ordered(self) -> Track:
        x1, y1, x2, y2 = self.box
        if not (x1 < x2 and y1 < y2):
            raise ValueError(f"box {self.box} must satisfy x1 < x2 and y1 < y2")
        return self


class FrameDetections(_Event):
    """Topic ``detections.v1`` (key: camera id): every tracked box of one frame.

    A frame with no tracks is a heartbeat: it moves the camera's clock on and
    tells the stream side that the camera is alive.
    """

    type: Literal["FrameDetections"] = "FrameDetections"
    schema_version: Literal[1] = 1
    camera_id: Identifier
    frame_seq: int = Field(ge=0, description="Monotonic frame number per camera run.")
    captured_at: UtcDatetime = Field(description="Capture time, UTC.")
    frame_width: int = Field(gt=0, le=16384, description="Pixels.")
    frame_height: int = Field(gt=0, le=16384, description="Pixels.")
    tracks: tuple[Track, ...] = ()

    @model_validator(mode="after")
    def _boxes_inside_frame(self) -> FrameDetections:
        # Trackers extrapolate boxes a little past the border; anything further
        # out is a broken producer, not a person.
        margin_x = self.frame_width * 0.25
        margin_y = self.frame_height * 0.25
        for t in self.tracks:
            x1, y1, x2, y2 = t.box
            if (
                x1 < -margin_x
                or y1 < -margin_y
                or x2 > self.frame_width + margin_x
                or y2 > self.frame_height + margin_y
            ):
                raise ValueError(
                    f"track {t.id} box {t.box} lies outside the "
                    f"{self.frame_width}x{self.frame_height} frame"
                )
        return self


class CrossingEvent(_Event):
    """Topic ``crossings.v1`` (key: camera id): a person crossed a counting line.

    The id is deterministic (see :func:`crossing_id`), so a recount of the same
    detections with the same configuration yields the same ids.
    """

    type: Literal["CrossingEvent"] = "CrossingEvent"
    schema_version: Literal[1] = 1
    id: uuid.UUID
    camera_id: Identifier
    line_id: Identifier
    track_id: int
    frame_seq: int = Field(ge=0)
    direction: Direction = Field(description='"in" moves a person from from_zone to to_zone.')
    from_zone: Identifier
    to_zone: Identifier
    occurred_at: UtcDatetime
    config_version: str = Field(min_length=1, max_length=64)


class ZoneDelta(_Event):
    """Internal topic ``zone-deltas.v1`` (key: zone id): one crossing's effect on one zone.

    A crossing changes every zone that contains one side of the line but not
    the other (a room and the floor around it, say); each such zone gets a delta
    so that the partition owning the zone applies it in order.

    Version 2 adds ``source_time``: the capture time of the frame in which the
    crossing was *confirmed* (``occurred_at`` is when the path met the line, a
    few frames earlier). Per camera it never goes backwards, so it is both the
    delta's place in the zone's event-time order and a progress mark of its
    camera (see :class:`SourceProgress`). A version-1 record reads as if
    ``source_time`` were ``occurred_at``.
    """

    type: Literal["ZoneDelta"] = "ZoneDelta"
    schema_version: Literal[1, 2] = 2
    zone_id: Identifier
    crossing_id: uuid.UUID
    delta: Literal[1, -1]
    camera_id: Identifier
    line_id: Identifier
    occurred_at: UtcDatetime
    source_time: UtcDatetime = Field(
        description="Capture time of the frame that confirmed the crossing, UTC (version 2; "
        "occurred_at when absent).",
    )

    @model_validator(mode="before")
    @classmethod
    def _source_time_defaults_to_occurred_at(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("source_time") is None and "occurred_at" in data:
            return {**data, "source_time": data["occurred_at"]}
        return data

    @property
    def position_time(self) -> datetime:
        """Where the delta sits in its zone's event-time order."""
        return self.source_time


class SourceProgress(_Event):
    """Internal topic ``zone-deltas.v1``: cameras' progress marks for some zones.

    "For every camera ``c`` in ``marks``: every delta that ``c`` will send to
    any zone of ``zone_ids`` from frames captured up to ``marks[c]`` has been
    sent before this record." The crossings agent sends deltas and marks to a
    zone's partition in frame order, and Kafka keeps that order within a
    partition, so a zone can fold everything up to the smallest mark of the
    cameras that feed it in event-time order, whatever the interleaving of
    the cameras' partitions. A zone takes the marks of its own cameras and
    ignores the others.

    Version 2 carries many cameras and zones: a worker sends one record per
    partition of ``zone-deltas.v1`` and tick, listing the zones of that
    partition (its key is the first of them), instead of one record per camera
    and zone. A version-1 record (``zone_id``, ``camera_id``, ``source_time``)
    reads as ``zone_ids=[zone_id]``, ``marks={camera_id: source_time}``.
    """

    type: Literal["SourceProgress"] = "SourceProgress"
    schema_version: Literal[1, 2] = 2
    zone_ids: list[Identifier] = Field(min_length=1, description="The zones the marks are for.")
    marks: dict[Identifier, UtcDatetime] = Field(
        min_length=1,
        description="Camera id -> capture time of its newest frame covered, UTC.",
    )

    @model_validator(mode="before")
    @classmethod
    def _version_1(cls, data: Any) -> Any:
        if isinstance(data, dict) and "zone_id" in data and "zone_ids" not in data:
            data = dict(data)
            zone_id, camera_id = data.pop("zone_id"), data.pop("camera_id", None)
            source_time = data.pop("source_time", None)
            return {**data, "zone_ids": [zone_id], "marks": {camera_id: source_time}}
        return data


class OccupancyChanged(_Event):
    """Topic ``occupancy.v1`` (key: zone id): a zone's occupancy after a change.

    ``version`` counts the changes applied to the zone, so a consumer can keep
    the newest value whatever order it receives duplicates in.
    """

    type: Literal["OccupancyChanged"] = "OccupancyChanged"
    schema_version: Literal[1] = 1
    id: uuid.UUID
    zone_id: Identifier
    occupancy: int = Field(ge=0)
    entries: int = Field(ge=0)
    exits: int = Field(ge=0)
    version: int = Field(ge=1)
    at: UtcDatetime = Field(description="Event time of the cause, UTC.")
    cause: Literal["crossing", "calibration", "reset"]
    cause_id: uuid.UUID
    clamped: bool = Field(
        default=False,
        description="True when the change would have made occupancy negative (a drift anomaly).",
    )


class DeadLetter(_Event):
    """Topic ``deadletter.v1`` (key: the source key): a message that could not be processed."""

    type: Literal["DeadLetter"] = "DeadLetter"
    schema_version: Literal[1] = 1
    reason: str
    source_topic: str
    source_partition: int
    source_offset: int
    source_key: str | None = None
    payload: str = Field(description="The raw value, decoded as UTF-8 with replacement.")
    failed_at: UtcDatetime


def crossing_id(
    camera_id: str,
    line_id: str,
    track_id: int,
    frame_seq: int,
    captured_at: float,
    run: str = "",
) -> uuid.UUID:
    """Deterministic id of a crossing.

    Args:
        camera_id: Camera.
        line_id: Line crossed.
        track_id: Tracker id.
        frame_seq: Frame in which the path met the line.
        captured_at: That frame's capture time, UTC seconds since the epoch
            (rounded to microseconds; a restarted producer reuses frame numbers
            and track ids, never capture times).
        run: Recount run id; empty for live counting.
    """
    micros = round(captured_at * 1_000_000)
    return uuid.uuid5(
        EVENT_NAMESPACE, f"crossing|{run}|{camera_id}|{line_id}|{track_id}|{frame_seq}|{micros}"
    )


def occupancy_change_id(zone_id: str, cause_id: uuid.UUID) -> uuid.UUID:
    """Deterministic id of the occupancy change a cause produced in one zone."""
    return uuid.uuid5(EVENT_NAMESPACE, f"occupancy|{zone_id}|{cause_id}")
