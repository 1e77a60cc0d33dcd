"""Producer health: how a camera producer is doing, published as heartbeats.

Topic ``camera-health.v1`` (key: camera id). Every camera producer publishes a
:class:`CameraHealth` every ``interval_s`` seconds, on every status change and
once more when it stops. The stream side raises "camera offline" when a
camera's heartbeats stop (no message for a few ``interval_s``) or say it is not
``online``; the API shows the latest one per camera.

Health lives on its own topic rather than on ``detections.v1``: the detections
topic is the replay source, read by the counting agents that validate every
message as a ``FrameDetections`` (anything else would be a dead letter), kept
for weeks; health is operational, is wanted even while no frame arrives (a
camera that is down has no frame to stamp), and needs a short retention only.

Counters are cumulative since the producer started (like Prometheus counters;
a restart starts them at 0 again with a new ``started_at``); rates are over the
last interval. Times are timezone-aware UTC.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import Identifier, UtcDatetime

__all__ = ["CameraHealth", "CameraStatus"]

#: ``starting``: not connected yet; ``online``: frames arrive; ``reconnecting``:
#: the source dropped or cannot be opened and is being retried with backoff;
#: ``ended``: a file source reached its end; ``failed``: the source can never
#: work as configured (a missing file, no detector weights); ``stopped``: the
#: producer was shut down.
CameraStatus = Literal["starting", "online", "reconnecting", "ended", "failed", "stopped"]


class CameraHealth(BaseModel):
    """Topic ``camera-health.v1`` (key: camera id): one camera producer's heartbeat."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["CameraHealth"] = "CameraHealth"
    schema_version: Literal[1] = 1
    camera_id: Identifier
    producer_id: str = Field(
        min_length=1,
        max_length=256,
        description="host:pid of the producer; two ids for one camera mean two producers.",
    )
    status: CameraStatus
    at: UtcDatetime = Field(description="When this heartbeat was made, UTC.")
    started_at: UtcDatetime = Field(description="When the producer started, UTC.")
    interval_s: float = Field(gt=0, description="Seconds between heartbeats.")
    source: str = Field(max_length=2048, description="Capture source, credentials removed.")
    detector: str = Field(max_length=256, description="Detector backend and model.")
    frames_in: int = Field(ge=0, description="Frames grabbed from the source.")
    frames_processed: int = Field(ge=0, description="Frames the detector ran on.")
    frames_published: int = Field(ge=0, description="FrameDetections sent to Kafka.")
    frames_skipped: int = Field(ge=0, description="Not due under max_fps / frame_skip.")
    frames_duplicate: int = Field(
        ge=0, description="Near-identical to the last processed frame; its tracks re-sent."
    )
    frames_dropped: int = Field(
        ge=0, description="Dropped from the frame buffer: overflow or older than max_frame_age_s."
    )
    read_errors: int = Field(ge=0, description="Frames the source delivered undecodable.")
    publish_errors: int = Field(ge=0, description="Sends Kafka did not acknowledge.")
    reconnects: int = Field(ge=0, description="Times the source was reopened after a drop.")
    capture_fps: float = Field(ge=0, description="Frames grabbed per second, last interval.")
    processed_fps: float = Field(ge=0, description="Frames processed per second, last interval.")
    processing_ms: float | None = Field(
        default=None, ge=0, description="Mean detect+track time per processed frame, last interval."
    )
    frame_width: int | None = Field(default=None, gt=0, description="Source frame width, pixels.")
    frame_height: int | None = Field(default=None, gt=0, description="Source frame height, pixels.")
    last_frame_at: UtcDatetime | None = Field(
        default=None, description="Capture time of the newest frame grabbed, UTC."
    )
    last_error: str | None = Field(default=None, max_length=2000)
    last_error_at: UtcDatetime | None = None
