"""One camera's producer, and the runner for every camera of a plant.

Per camera, three things run side by side:

- a capture thread (:class:`~producers.camera.sources.CaptureWorker`) that
  grabs, stamps, paces and buffers frames and reconnects when the source drops;
- a detector thread (one per camera, so cameras never wait on each other)
  that takes the newest buffered frame, resizes it, filters duplicates,
  detects and tracks people, and returns a ``FrameDetections``;
- coroutines on the event loop that publish each frame as soon as it is
  ready and a ``CameraHealth`` heartbeat every ``health_interval_s`` and on
  every status change.

Shutdown (SIGTERM/SIGINT, or the ``stop`` event): capture stops, the frame in
the detector is finished and published, a last heartbeat says ``stopped``,
and the Kafka producer is flushed before the process exits.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from producers.camera.buffer import CapturedFrame, FrameBuffer
from producers.camera.detection import Detector, make_detector
from producers.camera.errors import ConfigurationError
from producers.camera.health import HealthMonitor
from producers.camera.pacing import DuplicateFilter, FramePacer, resize_frame
from producers.camera.publisher import Publisher
from producers.camera.settings import CameraSettings, ProducerSettings
from producers.camera.sources import (
    CaptureOpener,
    CaptureWorker,
    open_capture,
    redact_source,
)
from producers.camera.tracking import PersonTracker, to_tracks
from schemas.config import CameraConfig, LineConfig, PlantConfig
from schemas.events import FrameDetections, Track
from schemas.health import CameraStatus

if TYPE_CHECKING:
    from producers.camera.preview import PreviewHub

__all__ = ["CameraProducer", "build_producers", "run_producers"]

logger = logging.getLogger(__name__)

#: Detector failures in a row after which a camera is marked failed.
MAX_CONSECUTIVE_DETECTOR_ERRORS = 50


class CameraProducer:
    """Capture, detect, track and publish for one camera.

    Args:
        camera: The camera as configured (id, frame size the lines are in, source).
        settings: How to capture and analyse it.
        health_interval_s: Seconds between heartbeats.
        lines: The camera's counting lines (drawn by the preview only).
        detector: The detector; built from ``settings`` when ``None``.
        preview: Where to show annotated frames, if anywhere.
        opener: Opens the source (tests fake it).
        clock: UTC "now" for capture stamps (tests fake it).

    Raises:
        ConfigurationError: No source, or the detector cannot be built.
    """

    def __init__(
        self,
        camera: CameraConfig,
        settings: CameraSettings,
        *,
        health_interval_s: float = 5.0,
        lines: Sequence[LineConfig] = (),
        detector: Detector | None = None,
        preview: PreviewHub | None = None,
        opener: CaptureOpener = open_capture,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        source = settings.source or camera.source
        if not source:
            raise ConfigurationError(
                f"camera {camera.id} has no source: set it in the plant configuration "
                "or the producer settings"
            )
        self.camera = camera
        self.settings = settings
        self.lines = tuple(lines)
        self.source = source
        self.detector = detector if detector is not None else make_detector(settings)
        self.health = HealthMonitor(
            camera.id,
            redact_source(source),
            self.detector.label,
            health_interval_s,
            on_status=self._status_changed,
        )
        realtime = settings.realtime
        self.buffer = FrameBuffer(
            settings.buffer_size,
            block=not realtime,
            max_age_s=settings.max_frame_age_s if realtime else None,
            on_drop=lambda n: self.health.count("dropped", n),
        )
        self.pacer = FramePacer(settings.max_fps, settings.frame_skip)
        self.duplicates = DuplicateFilter(
            settings.duplicate_threshold, settings.duplicate_max_age_s
        )
        self.tracker = PersonTracker(
            confidence=settings.confidence,
            low_confidence=settings.track_low_confidence,
            track_buffer=settings.track_buffer,
        )
        self.capture = CaptureWorker(
            camera.id,
            source,
            settings,
            self.buffer,
            self.pacer,
            self.health,
            opener=opener,
            clock=clock,
        )
        self.preview = preview
        if preview is not None:
            preview.register(camera, self.lines)
        self._last_tracks: tuple[Track, ...] = ()
        #: The newest frame the detector took (a reference, for snapshots).
        self.latest_frame: CapturedFrame | None = None
        self._detector_errors = 0
        self._status_event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"detect-{camera.id}")

    # ------------------------------------------------------------ detector thread

    def process(self, frame: CapturedFrame) -> FrameDetections:
        """Resize, filter duplicates, detect and track one frame (detector thread).

        Raises:
            Exception: Whatever the detector raised; the caller records it.
        """
        started = time.perf_counter()
        self.latest_frame = frame
        image = resize_frame(frame.image, self.settings.resize)
        if self.duplicates.is_duplicate(image, frame.captured_at.timestamp()):
            # Same picture: same people. Re-sending the last tracks keeps them
            # alive downstream; not calling the tracker keeps ByteTrack's
            # lost-track clock still.
            self.health.count("duplicate")
            tracks = self._last_tracks
        else:
            detections = self.detector.detect(image)
            tracked = self.tracker.update(detections, image)
            tracks = to_tracks(
                tracked, (image.shape[1], image.shape[0]), (self.camera.width, self.camera.height)
            )
            self._last_tracks = tracks
            self.health.processed(time.perf_counter() - started)
        result = FrameDetections(
            camera_id=self.camera.id,
            frame_seq=frame.seq,
            captured_at=frame.captured_at,
            frame_width=self.camera.width,
            frame_height=self.camera.height,
            tracks=tracks,
        )
        if self.preview is not None:
            self.preview.update(self.camera.id, frame.image, result)
        return result

    def _step(self, timeout: float) -> FrameDetections | None:
        frame = self.buffer.get(timeout)
        if frame is None:
            return None
        try:
            result = self.process(frame)
        except Exception as e:
            self._detector_errors += 1
            message = f"detection failed on frame {frame.seq}: {type(e).__name__}: {e}"
            self.health.error(message)
            if self._detector_errors in (1, 10) or self._detector_errors % 100 == 0:
                logger.exception("camera %s: %s", self.camera.id, message)
            if self._detector_errors >= MAX_CONSECUTIVE_DETECTOR_ERRORS:
                logger.error("camera %s: the detector keeps failing; giving up", self.camera.id)
                self.health.set_status("failed")
                self.capture.stop()
            return None
        self._detector_errors = 0
        return result

    # ------------------------------------------------------------ event loop

    def _status_changed(self, status: CameraStatus) -> None:
        # Called from any thread: wake the heartbeat loop on the event loop.
        loop, event = self._loop, self._status_event
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    async def _heartbeats(self, publisher: Publisher, done: asyncio.Event) -> None:
        assert self._status_event is not None
        while not done.is_set():
            self._status_event.clear()
            await publisher.send_health(self.health.snapshot())
            wake = asyncio.ensure_future(self._status_event.wait())
            finish = asyncio.ensure_future(done.wait())
            _, pending = await asyncio.wait(
                {wake, finish},
                timeout=self.health.interval_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for p in pending:
                p.cancel()

    async def run(self, publisher: Publisher, stop: asyncio.Event) -> CameraStatus:
        """Run until ``stop`` is set or the source ends or fails; return the final status."""
        self._loop = asyncio.get_running_loop()
        self._status_event = asyncio.Event()
        done = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeats(publisher, done))
        self.capture.start()
        loop = self._loop
        try:
            while not stop.is_set():
                result = await loop.run_in_executor(self._executor, self._step, 0.25)
                if result is not None:
                    await publisher.send_frame(result)
                    self.health.count("published")
                elif self.buffer.closed and len(self.buffer) == 0:
                    break
        finally:
            self.capture.stop()
            self.buffer.close()
            await loop.run_in_executor(None, self.capture.join, self.settings.read_timeout_s + 1)
            if self.capture.is_alive():
                logger.warning("camera %s: capture thread still blocked in a read", self.camera.id)
            if stop.is_set():
                self.health.set_status("stopped")
            done.set()
            await heartbeat
            final = self.health.status
            await publisher.send_health(self.health.snapshot(final))
            self._executor.shutdown(wait=False)
        logger.info("camera %s: finished (%s)", self.camera.id, final)
        return final


def build_producers(
    plant: PlantConfig,
    camera_ids: Sequence[str] | None,
    settings: ProducerSettings,
    *,
    overrides: dict[str, object] | None = None,
    preview: PreviewHub | None = None,
) -> list[CameraProducer]:
    """A producer for each camera asked for (all of the plant's when ``None``).

    Detectors are loaded here, before anything connects, so a configuration
    mistake (unknown camera, missing weights) stops the command at once with
    a message instead of going into a heartbeat.

    Raises:
        ConfigurationError: What is wrong, naming the camera.
    """
    known = {c.id: c for c in plant.cameras}
    ids = list(camera_ids) if camera_ids else list(known)
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ConfigurationError(f"unknown camera(s) {unknown}; the plant has {sorted(known)}")
    for camera_id in settings.cameras:
        if camera_id not in known:
            logger.warning("producer settings name camera %s, which the plant lacks", camera_id)
    producers = []
    for camera_id in ids:
        cam_settings = settings.for_camera(camera_id, **(overrides or {}))
        try:
            producers.append(
                CameraProducer(
                    known[camera_id],
                    cam_settings,
                    health_interval_s=settings.health_interval_s,
                    lines=plant.lines_for(camera_id),
                    preview=preview,
                )
            )
        except ConfigurationError as e:
            raise ConfigurationError(f"camera {camera_id}: {e}") from e
    return producers


async def run_producers(
    producers: Sequence[CameraProducer],
    publisher: Publisher,
    *,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
) -> dict[str, CameraStatus]:
    """Run cameras until each ends or ``stop`` is set (SIGTERM/SIGINT set it too).

    Returns:
        Final status per camera id.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, stop.set)
                handled.append(sig)
            except (NotImplementedError, RuntimeError):  # not the main thread
                pass
    try:
        await publisher.start(stop)
        if stop.is_set():
            return {p.camera.id: "stopped" for p in producers}
        statuses = await asyncio.gather(*(p.run(publisher, stop) for p in producers))
        await publisher.flush()
        return {p.camera.id: s for p, s in zip(producers, statuses, strict=True)}
    finally:
        await publisher.stop()
        for sig in handled:
            loop.remove_signal_handler(sig)
