"""Publishing ``FrameDetections`` to Kafka, for the simulator and the MOT replayer.

Each record is keyed by camera id and stamped with the frame's capture time,
so a recount finds a period's offsets by event time. aiokafka is imported
inside :func:`publish`: the scene generators stay free of I/O.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime

from schemas.events import FrameDetections

__all__ = ["publish"]


async def publish(
    frames: Iterator[FrameDetections],
    bootstrap: str,
    topic: str,
    realtime: bool,
    start: datetime,
) -> int:
    """Publish frames keyed by camera id; return how many were sent."""
    from aiokafka import AIOKafkaProducer  # I/O lives at the edge, not in the scene

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    sent = 0
    wall0 = time.monotonic()
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
        await producer.flush()
    finally:
        await producer.stop()
    return sent
