"""Replay a MOTChallenge tracking file as ``FrameDetections``.

MOTChallenge text format, one box per line::

    frame, id, bb_left, bb_top, bb_width, bb_height, conf, [x, y, z]

Frames are 1-based; boxes are in pixels. Any tracker's output in this format
can be counted by the pipeline (or offline by the core).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.events import FrameDetections, Track
from streams import logs

__all__ = ["MotFormatError", "main", "read_mot"]

logger = logging.getLogger(__name__)


class MotFormatError(ValueError):
    """A line of the file is not MOTChallenge text."""


def _rows(
    lines: Iterable[str], source: str
) -> Iterator[tuple[int, int, float, float, float, float, float]]:
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(",")
        if len(parts) < 6:
            raise MotFormatError(f"{source}:{n}: expected at least 6 fields, got {len(parts)}")
        try:
            frame, tid = int(float(parts[0])), int(float(parts[1]))
            x, y, w, h = (float(v) for v in parts[2:6])
            conf = float(parts[6]) if len(parts) > 6 else 1.0
        except ValueError as e:
            raise MotFormatError(f"{source}:{n}: {e}") from e
        yield frame, tid, x, y, w, h, conf


def read_mot(
    path: str | Path,
    camera_id: str,
    width: int,
    height: int,
    fps: float = 10.0,
    start: datetime | None = None,
) -> Iterator[FrameDetections]:
    """Frames of a MOT file, every frame number from the first to the last.

    Frames with no boxes become empty frames (heartbeats), so time moves on
    evenly. MOT confidences of -1 ("not given") become 1.0.
    """
    start = start or datetime.now(UTC)
    by_frame: dict[int, list[Track]] = {}
    with open(path) as f:
        for frame, tid, x, y, w, h, conf in _rows(f, str(path)):
            c = 1.0 if conf < 0 else min(conf, 1.0)
            by_frame.setdefault(frame, []).append(
                Track(id=tid, box=(x, y, x + w, y + h), confidence=c)
            )
    if not by_frame:
        return
    first, last = min(by_frame), max(by_frame)
    for frame in range(first, last + 1):
        yield FrameDetections(
            camera_id=camera_id,
            frame_seq=frame,
            captured_at=start + timedelta(seconds=(frame - first) / fps),
            frame_width=width,
            frame_height=height,
            tracks=tuple(by_frame.get(frame, ())),
        )


def main(argv: list[str] | None = None) -> None:
    """Command line: publish a MOT file to ``detections.v1`` as one camera."""
    from producers.publish import publish
    from streams.settings import Settings

    settings = Settings()
    parser = argparse.ArgumentParser(description="Publish a MOTChallenge tracking file to Kafka.")
    parser.add_argument("path")
    parser.add_argument("--camera", required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--realtime", action="store_true")
    args = parser.parse_args(argv)
    logs.configure(logging.INFO)  # JSON lines unless stderr is a terminal (OCC_LOG_FORMAT)
    start = datetime.now(UTC)
    frames = read_mot(args.path, args.camera, args.width, args.height, args.fps, start)
    n = asyncio.run(
        publish(
            frames,
            settings.kafka_bootstrap_servers,
            settings.topic("detections"),
            args.realtime,
            start,
        )
    )
    logger.info("published %d frames from %s", n, args.path)


if __name__ == "__main__":
    main()
