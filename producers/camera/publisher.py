"""Where a camera producer's messages go: Kafka, or a list in tests and benchmarks.

:class:`KafkaPublisher` sends ``FrameDetections`` to ``detections.v1`` and
``CameraHealth`` to ``camera-health.v1``, both keyed by camera id so that one
partition holds a camera's frames in order. Sends are not awaited one by one
(the detector would wait on the network); each delivery is checked when Kafka
answers, a failure is counted in the camera's health, and :meth:`flush` waits
for everything before shutdown. The producer is idempotent with ``acks=all``,
so broker retries neither lose nor duplicate or reorder frames.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

from producers.camera.sources import Backoff
from schemas.events import FrameDetections
from schemas.health import CameraHealth

__all__ = ["KafkaPublisher", "MemoryPublisher", "Publisher", "wait_or_stop"]

logger = logging.getLogger(__name__)

ErrorCallback = Callable[[str, str], None]  # (camera id, message)


async def wait_or_stop(stop: asyncio.Event | None, delay: float) -> bool:
    """Sleep ``delay`` seconds; return True early if ``stop`` is set."""
    if stop is None:
        await asyncio.sleep(delay)
        return False
    try:
        await asyncio.wait_for(stop.wait(), delay)
    except TimeoutError:
        return False
    return True


class Publisher(Protocol):
    """Sends the producer's events; every method is called from the event loop."""

    async def start(self, stop: asyncio.Event | None = None) -> None: ...
    async def send_frame(self, frame: FrameDetections) -> None: ...
    async def send_health(self, health: CameraHealth) -> None: ...
    async def flush(self) -> None: ...
    async def stop(self) -> None: ...


class MemoryPublisher:
    """Keeps every event in :attr:`frames` and :attr:`health` (tests, benchmarks)."""

    def __init__(self) -> None:
        self.frames: list[FrameDetections] = []
        self.health: list[CameraHealth] = []
        self.flushed = 0

    async def start(self, stop: asyncio.Event | None = None) -> None:
        return None

    async def send_frame(self, frame: FrameDetections) -> None:
        self.frames.append(frame)

    async def send_health(self, health: CameraHealth) -> None:
        self.health.append(health)

    async def flush(self) -> None:
        self.flushed += 1

    async def stop(self) -> None:
        return None


class KafkaPublisher:
    """aiokafka producer for both topics.

    Args:
        bootstrap: Kafka bootstrap servers.
        detections_topic: Usually ``Settings().topic("detections")``.
        health_topic: Usually ``Settings().topic("camera-health")``.
        on_error: Called with (camera id, message) when a send fails.
        client_id: Kafka client id.
    """

    def __init__(
        self,
        bootstrap: str,
        detections_topic: str,
        health_topic: str,
        on_error: ErrorCallback | None = None,
        client_id: str = "occupancy-camera",
    ) -> None:
        self.bootstrap = bootstrap
        self.detections_topic = detections_topic
        self.health_topic = health_topic
        self.on_error = on_error
        self.client_id = client_id
        self._producer: object | None = None
        self._pending: set[asyncio.Future[object]] = set()

    async def start(self, stop: asyncio.Event | None = None) -> None:
        """Connect, retrying with backoff while Kafka is unreachable.

        Returns without a connection when ``stop`` is set meanwhile.
        """
        from aiokafka import AIOKafkaProducer
        from aiokafka.errors import KafkaError

        backoff = Backoff(0.5, 15.0)
        while True:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                client_id=self.client_id,
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
            )
            try:
                await producer.start()
            except KafkaError as e:
                await producer.stop()
                delay = backoff.next_delay()
                logger.warning(
                    "Kafka %s unreachable (%s); retrying in %.1f s", self.bootstrap, e, delay
                )
                if await wait_or_stop(stop, delay):
                    return
                continue
            self._producer = producer
            return

    async def _send(
        self, topic: str, camera_id: str, event: BaseModel, captured_at: datetime
    ) -> None:
        from aiokafka import AIOKafkaProducer

        producer = self._producer
        if not isinstance(producer, AIOKafkaProducer):
            raise RuntimeError("KafkaPublisher.start() was not called")
        try:
            # The record's timestamp is the capture time: recounts find a
            # period's first offset by it (offsets_for_times).
            fut = await producer.send(
                topic,
                key=camera_id.encode(),
                value=event.model_dump_json().encode(),
                timestamp_ms=int(captured_at.timestamp() * 1000),
            )
        except Exception as e:
            self._failed(camera_id, topic, e)
            return
        self._pending.add(fut)
        fut.add_done_callback(lambda f: self._delivered(f, camera_id, topic))

    def _delivered(self, fut: asyncio.Future[object], camera_id: str, topic: str) -> None:
        self._pending.discard(fut)
        if fut.cancelled():
            self._failed(camera_id, topic, RuntimeError("send cancelled"))
        elif (e := fut.exception()) is not None:
            self._failed(camera_id, topic, e)

    def _failed(self, camera_id: str, topic: str, e: BaseException) -> None:
        message = f"publishing to {topic} failed: {type(e).__name__}: {e}"
        logger.warning("camera %s: %s", camera_id, message)
        if self.on_error is not None:
            self.on_error(camera_id, message)

    async def send_frame(self, frame: FrameDetections) -> None:
        await self._send(self.detections_topic, frame.camera_id, frame, frame.captured_at)

    async def send_health(self, health: CameraHealth) -> None:
        await self._send(self.health_topic, health.camera_id, health, health.at)

    async def flush(self) -> None:
        """Wait until Kafka has answered every send so far."""
        from aiokafka import AIOKafkaProducer

        if isinstance(self._producer, AIOKafkaProducer):
            await self._producer.flush()
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def stop(self) -> None:
        from aiokafka import AIOKafkaProducer

        if isinstance(self._producer, AIOKafkaProducer):
            await self._producer.stop()
        self._producer = None
