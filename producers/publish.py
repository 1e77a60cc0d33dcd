"""Publishing ``FrameDetections`` to Kafka, for the simulator and the MOT replayer.

Each record is keyed by camera id and stamped with the frame's capture time,
so a recount finds a period's offsets by event time. aiokafka is imported
inside :func:`publish`: the scene generators stay free of I/O.

With a ``health_topic`` the played cameras also send ``CameraHealth``
heartbeats, as a real camera producer does (:mod:`producers.camera.health`):
one per camera every :data:`HEALTH_INTERVAL_S` of capture time, and a last one
at the end, so the dashboard's cameras page and the API's camera status work
with simulated cameras too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from producers.camera.health import producer_id
from schemas.events import FrameDetections
from schemas.health import CameraHealth, CameraStatus

__all__ = ["HEALTH_INTERVAL_S", "PlayedCamera", "publish"]

#: Seconds of capture time between two heartbeats of a played camera.
HEALTH_INTERVAL_S = 5.0


@dataclass
class PlayedCamera:
    """Counters of one played camera, turned into heartbeats."""

    camera_id: str
    source: str
    started_at: datetime
    frames: int = 0
    frames_at_beat: int = 0
    beat_capture: datetime | None = None
    last_capture: datetime | None = None
    fps: float = 0.0

    def seen(self, frame: FrameDetections) -> bool:
        """Count a frame; True when a heartbeat is due."""
        self.frames += 1
        self.last_capture = frame.captured_at
        if self.beat_capture is None:
            self.beat_capture = frame.captured_at
            return True
        return (frame.captured_at - self.beat_capture).total_seconds() >= HEALTH_INTERVAL_S

    def beat(self, status: CameraStatus) -> CameraHealth:
        elapsed = 0.0
        if self.beat_capture is not None and self.last_capture is not None:
            elapsed = (self.last_capture - self.beat_capture).total_seconds()
        if elapsed > 0:  # else no frame since the last beat: keep its rate
            self.fps = (self.frames - self.frames_at_beat) / elapsed
        self.frames_at_beat, self.beat_capture = self.frames, self.last_capture
        return CameraHealth(
            camera_id=self.camera_id,
            producer_id=producer_id(),
            status=status,
            at=datetime.now(UTC),
            started_at=self.started_at,
            interval_s=HEALTH_INTERVAL_S,
            source=self.source,
            detector="none (played tracks)",
            frames_in=self.frames,
            frames_processed=self.frames,
            frames_published=self.frames,
            frames_skipped=0,
            frames_duplicate=0,
            frames_dropped=0,
            read_errors=0,
            publish_errors=0,
            reconnects=0,
            capture_fps=self.fps,
            processed_fps=self.fps,
            last_frame_at=self.last_capture,
        )


async def publish(
    frames: Iterator[FrameDetections],
    bootstrap: str,
    topic: str,
    realtime: bool,
    start: datetime,
    health_topic: str | None = None,
    source: str = "simulation",
    final_status: CameraStatus = "online",
) -> int:
    """Publish frames keyed by camera id; return how many were sent.

    ``health_topic``: also send heartbeats there (see the module's text), the
    last one per camera with ``final_status`` (``ended`` when nothing follows).
    """
    from aiokafka import AIOKafkaProducer  # I/O lives at the edge, not in the scene

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    sent = 0
    wall0 = time.monotonic()
    cameras: dict[str, PlayedCamera] = {}

    async def beat(camera: PlayedCamera, status: CameraStatus) -> None:
        assert health_topic is not None
        health = camera.beat(status)
        await producer.send(
            health_topic, key=camera.camera_id.encode(), value=health.model_dump_json().encode()
        )

    try:
        for frame in frames:
            if realtime:
                due = (frame.captured_at - start).total_seconds() - (time.monotonic() - wall0)
                if due > 0:
                    await asyncio.sleep(due)
            await producer.send(
                topic,
                key=frame.camera_id.encode(),
                value=frame.model_dump_json().encode(),
                # The record's timestamp is the capture time, so a recount can
                # find a period's offsets by event time.
                timestamp_ms=int(frame.captured_at.timestamp() * 1000),
            )
            sent += 1
            if health_topic is not None:
                camera = cameras.get(frame.camera_id)
                if camera is None:
                    camera = cameras[frame.camera_id] = PlayedCamera(
                        frame.camera_id, source, datetime.now(UTC)
                    )
                if camera.seen(frame):
                    await beat(camera, "online")
        for camera in cameras.values():
            await beat(camera, final_status)
        await producer.flush()
    finally:
        await producer.stop()
    return sent
