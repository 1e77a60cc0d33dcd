"""Camera snapshots on request, for drawing and checking lines over the real picture.

Off by default for privacy: only a camera producer started with snapshots on
(``--snapshots``, or ``snapshots = true`` in its settings) answers, and only
when asked. The API publishes :class:`SnapshotRequested` on
``snapshot-requests.v1`` (key: camera id); the producer that runs the camera
answers with one :class:`CameraSnapshot` on ``camera-snapshots.v1`` (key:
camera id): its newest frame as a JPEG at the camera's configured frame size
(the pixel space of its lines), scaled down to at most
:data:`MAX_SNAPSHOT_WIDTH` pixels wide, or the reason it has none. Both topics
keep records for hours, not weeks: a snapshot is a look, not a record.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from schemas.events import Identifier, UtcDatetime, _Event

__all__ = ["MAX_SNAPSHOT_BYTES", "MAX_SNAPSHOT_WIDTH", "CameraSnapshot", "SnapshotRequested"]

#: Widest snapshot a producer sends, in pixels.
MAX_SNAPSHOT_WIDTH = 960
#: Largest JPEG a snapshot carries (the broker's default message limit is 1 MiB,
#: and base64 adds a third).
MAX_SNAPSHOT_BYTES = 700_000


class SnapshotRequested(_Event):
    """Topic ``snapshot-requests.v1`` (key: camera id): somebody asked for a picture."""

    type: Literal["SnapshotRequested"] = "SnapshotRequested"
    schema_version: Literal[1] = 1
    id: uuid.UUID
    camera_id: Identifier
    at: UtcDatetime = Field(description="When it was asked for, UTC.")
    by: str = Field(min_length=1, max_length=200, description="Who asked.")


class CameraSnapshot(_Event):
    """Topic ``camera-snapshots.v1`` (key: camera id): the answer to one request."""

    type: Literal["CameraSnapshot"] = "CameraSnapshot"
    schema_version: Literal[1] = 1
    id: uuid.UUID
    request_id: uuid.UUID = Field(description="The SnapshotRequested this answers.")
    camera_id: Identifier
    producer_id: str = Field(min_length=1, max_length=256, description="host:pid of the producer.")
    at: UtcDatetime = Field(description="When the snapshot was made, UTC.")
    captured_at: UtcDatetime | None = Field(
        default=None, description="Capture time of the frame shown, UTC."
    )
    frame_width: int = Field(
        gt=0, description="The camera's configured frame width (lines' space)."
    )
    frame_height: int = Field(gt=0, description="The camera's configured frame height.")
    width: int | None = Field(default=None, gt=0, description="Width of the JPEG, pixels.")
    height: int | None = Field(default=None, gt=0, description="Height of the JPEG, pixels.")
    content_type: Literal["image/jpeg"] = "image/jpeg"
    jpeg_base64: str | None = Field(
        default=None,
        max_length=(MAX_SNAPSHOT_BYTES + 2) // 3 * 4,
        description="The JPEG, base64; null with an error.",
    )
    error: str | None = Field(
        default=None, max_length=2000, description="Why there is no picture (no frame yet)."
    )
