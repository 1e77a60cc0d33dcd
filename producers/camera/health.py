"""Counters of one camera producer, turned into ``CameraHealth`` heartbeats.

The capture thread, the detector thread and the publishing coroutine each
record what happens to frames here; :meth:`HealthMonitor.snapshot` (called by
the heartbeat loop) reads everything under one lock and computes rates over the
interval since the previous snapshot.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from schemas.health import CameraHealth, CameraStatus

__all__ = ["HealthMonitor", "producer_id"]

logger = logging.getLogger(__name__)


def producer_id() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


class HealthMonitor:
    """Thread-safe counters and status of one camera.

    Args:
        camera_id: The camera.
        source: Its source, credentials already removed.
        detector: Detector label (``yolo:yolov8n.pt``, ``hog``).
        interval_s: Seconds between heartbeats (stamped on each).
        on_status: Called (from whichever thread changed it) with the new
            status, so a heartbeat can go out at once.
    """

    def __init__(
        self,
        camera_id: str,
        source: str,
        detector: str,
        interval_s: float,
        on_status: Callable[[CameraStatus], None] | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.source = source
        self.detector = detector
        self.interval_s = interval_s
        self.on_status = on_status
        self.producer_id = producer_id()
        self.started_at = datetime.now(UTC)
        self._lock = threading.Lock()
        self._status: CameraStatus = "starting"
        self.frames_in = 0
        self.frames_processed = 0
        self.frames_published = 0
        self.frames_skipped = 0
        self.frames_duplicate = 0
        self.frames_dropped = 0
        self.read_errors = 0
        self.publish_errors = 0
        self.reconnects = 0
        self.frame_size: tuple[int, int] | None = None
        self.last_frame_at: datetime | None = None
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self._processing_s = 0.0
        self._window_start = time.monotonic()
        self._window_in = 0
        self._window_processed = 0
        self._window_processing_s = 0.0

    @property
    def status(self) -> CameraStatus:
        return self._status

    def set_status(self, status: CameraStatus) -> None:
        with self._lock:
            if status == self._status:
                return
            # Terminal states stay: a late "online" must not hide a shutdown.
            if self._status in ("stopped", "failed") and status != "stopped":
                return
            old, self._status = self._status, status
        logger.info("camera %s: %s -> %s", self.camera_id, old, status)
        if self.on_status is not None:
            self.on_status(status)

    def error(self, message: str) -> None:
        """Record the latest error (kept until a newer one)."""
        with self._lock:
            self.last_error = message[:2000]
            self.last_error_at = datetime.now(UTC)

    def frame_in(self, captured_at: datetime, size: tuple[int, int] | None = None) -> None:
        with self._lock:
            self.frames_in += 1
            self.last_frame_at = captured_at
            if size is not None:
                self.frame_size = size
        if self._status != "online":
            self.set_status("online")

    def count(self, what: str, n: int = 1) -> None:
        """Add ``n`` to a counter: ``skipped``, ``duplicate``, ``dropped``,
        ``read_errors``, ``reconnects``, ``published``."""
        with self._lock:
            if what == "skipped":
                self.frames_skipped += n
            elif what == "duplicate":
                self.frames_duplicate += n
            elif what == "dropped":
                self.frames_dropped += n
            elif what == "read_errors":
                self.read_errors += n
            elif what == "reconnects":
                self.reconnects += n
            elif what == "published":
                self.frames_published += n
            else:
                raise ValueError(f"unknown counter {what!r}")

    def processed(self, seconds: float) -> None:
        """The detector and tracker took ``seconds`` on one frame."""
        with self._lock:
            self.frames_processed += 1
            self._processing_s += seconds

    def publish_failed(self, message: str) -> None:
        with self._lock:
            self.publish_errors += 1
        self.error(message)

    def snapshot(self, status: CameraStatus | None = None, *, advance: bool = True) -> CameraHealth:
        """A heartbeat with rates since the previous snapshot.

        Args:
            status: Status to report instead of the current one.
            advance: Start a new rate interval (the heartbeat loop does; a
                status page that only looks passes ``False``).
        """
        now = time.monotonic()
        with self._lock:
            elapsed = max(now - self._window_start, 1e-9)
            frames = self.frames_in - self._window_in
            processed = self.frames_processed - self._window_processed
            busy = self._processing_s - self._window_processing_s
            if advance:
                self._window_start = now
                self._window_in = self.frames_in
                self._window_processed = self.frames_processed
                self._window_processing_s = self._processing_s
            return CameraHealth(
                camera_id=self.camera_id,
                producer_id=self.producer_id,
                status=status or self._status,
                at=datetime.now(UTC),
                started_at=self.started_at,
                interval_s=self.interval_s,
                source=self.source,
                detector=self.detector,
                frames_in=self.frames_in,
                frames_processed=self.frames_processed,
                frames_published=self.frames_published,
                frames_skipped=self.frames_skipped,
                frames_duplicate=self.frames_duplicate,
                frames_dropped=self.frames_dropped,
                read_errors=self.read_errors,
                publish_errors=self.publish_errors,
                reconnects=self.reconnects,
                capture_fps=round(frames / elapsed, 3),
                processed_fps=round(processed / elapsed, 3),
                processing_ms=round(1000 * busy / processed, 3) if processed else None,
                frame_width=self.frame_size[0] if self.frame_size else None,
                frame_height=self.frame_size[1] if self.frame_size else None,
                last_frame_at=self.last_frame_at,
                last_error=self.last_error,
                last_error_at=self.last_error_at,
            )
