"""Answering snapshot requests with a camera's newest frame (``schemas.snapshots``).

Runs only when the producer's ``snapshots`` setting is on. A group-less
consumer reads ``snapshot-requests.v1`` from its end (a request made before the
producer started is not answered: the API asks again); for each request for
a camera this process runs, the newest frame the detector took is scaled to
the camera's configured size (the pixel space of its lines), then down to at
most ``MAX_SNAPSHOT_WIDTH`` wide, JPEG-encoded in a worker thread and sent to
``camera-snapshots.v1``. No overlay is drawn: the dashboard draws the lines
itself over the picture. A request for a camera without a frame yet is
answered with an error, so the asker is not left waiting.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import ValidationError

from producers.camera.buffer import CapturedFrame
from producers.camera.health import producer_id
from schemas.config import CameraConfig
from schemas.snapshots import (
    MAX_SNAPSHOT_BYTES,
    MAX_SNAPSHOT_WIDTH,
    CameraSnapshot,
    SnapshotRequested,
)

__all__ = ["SnapshotResponder", "SnapshotSource", "encode_snapshot", "snapshot_for"]

logger = logging.getLogger(__name__)


class SnapshotSource(Protocol):
    """What the responder needs of a camera producer."""

    camera: CameraConfig
    latest_frame: CapturedFrame | None


def encode_snapshot(image: Any, frame_size: tuple[int, int]) -> tuple[bytes, int, int]:
    """``image`` (BGR) at ``frame_size``, at most ``MAX_SNAPSHOT_WIDTH`` wide, as a JPEG.

    Lowers the JPEG quality until it fits ``MAX_SNAPSHOT_BYTES``.
    Returns the JPEG and its width and height.
    """
    import cv2

    width, height = frame_size
    if width > MAX_SNAPSHOT_WIDTH:
        width, height = MAX_SNAPSHOT_WIDTH, max(1, round(height * MAX_SNAPSHOT_WIDTH / width))
    if (image.shape[1], image.shape[0]) != (width, height):
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    for quality in (85, 70, 50, 30):
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise ValueError("JPEG encoding failed")
        if len(jpeg) <= MAX_SNAPSHOT_BYTES:
            return jpeg.tobytes(), width, height
    raise ValueError(f"snapshot larger than {MAX_SNAPSHOT_BYTES} bytes even at quality 30")


def snapshot_for(
    request: SnapshotRequested, camera: CameraConfig, frame: CapturedFrame | None, producer_id: str
) -> CameraSnapshot:
    """The answer to ``request``: the frame as a JPEG, or why there is none."""
    base = {
        "id": uuid.uuid4(),
        "request_id": request.id,
        "camera_id": camera.id,
        "producer_id": producer_id,
        "frame_width": camera.width,
        "frame_height": camera.height,
    }
    if frame is None:
        return CameraSnapshot(**base, at=datetime.now(UTC), error="no frame captured yet")
    try:
        jpeg, width, height = encode_snapshot(frame.image, (camera.width, camera.height))
    except Exception as e:  # a broken frame must not stop the responder
        return CameraSnapshot(**base, at=datetime.now(UTC), error=f"{type(e).__name__}: {e}")
    return CameraSnapshot(
        **base,
        at=datetime.now(UTC),
        captured_at=frame.captured_at,
        width=width,
        height=height,
        jpeg_base64=base64.b64encode(jpeg).decode("ascii"),
    )


class SnapshotResponder:
    """Answers snapshot requests for the cameras of this process.

    Args:
        bootstrap: Kafka bootstrap servers.
        requests_topic: ``Settings().topic("snapshot-requests")``.
        snapshots_topic: ``Settings().topic("camera-snapshots")``.
        cameras: Camera id -> its producer (anything with ``camera`` and
            ``latest_frame``).
    """

    def __init__(
        self,
        bootstrap: str,
        requests_topic: str,
        snapshots_topic: str,
        cameras: Mapping[str, SnapshotSource],
    ) -> None:
        self.bootstrap = bootstrap
        self.requests_topic = requests_topic
        self.snapshots_topic = snapshots_topic
        self.cameras = dict(cameras)
        self.producer_id = producer_id()
        self.answered = 0
        self._task: asyncio.Task[None] | None = None
        self._consumer: Any = None
        self._producer: Any = None

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            self.requests_topic,
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name="snapshot-responder")
        logger.info("answering snapshot requests for %s", ", ".join(self.cameras))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()

    async def _run(self) -> None:
        from aiokafka.errors import KafkaError

        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=1000)
            except KafkaError as e:
                logger.warning("snapshot requests: Kafka error, retrying: %s", e)
                await asyncio.sleep(1.0)
                continue
            for records in batches.values():
                for record in records:
                    await self._answer(record.value)

    async def _answer(self, value: bytes | None) -> None:
        from aiokafka.errors import KafkaError

        try:
            request = SnapshotRequested.model_validate_json(value or b"")
        except ValidationError as e:
            logger.warning("skipping an unreadable snapshot request: %s", e)
            return
        source = self.cameras.get(request.camera_id)
        if source is None:
            return  # another producer's camera
        snapshot = await asyncio.to_thread(
            snapshot_for, request, source.camera, source.latest_frame, self.producer_id
        )
        try:
            await self._producer.send_and_wait(
                self.snapshots_topic,
                key=request.camera_id.encode(),
                value=snapshot.model_dump_json().encode(),
            )
        except KafkaError as e:
            logger.warning("camera %s: sending a snapshot failed: %s", request.camera_id, e)
            return
        self.answered += 1
        logger.info(
            "camera %s: snapshot for %s sent (%s)",
            request.camera_id,
            request.by,
            snapshot.error or f"{snapshot.width}x{snapshot.height}",
        )
