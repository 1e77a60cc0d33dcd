"""Capture: open a source with OpenCV, read frames in a thread, reconnect.

One :class:`CaptureWorker` thread per camera grabs frames, stamps them at grab
time (UTC), asks the :class:`~producers.camera.pacing.FramePacer` whether the
detector wants them (frames it does not want are never converted to BGR), and
hands the rest to a :class:`~producers.camera.buffer.FrameBuffer`.

Streams (RTSP, HTTP/MJPEG, RTMP) go through OpenCV's FFmpeg backend with open
and read timeouts, so a camera that stops sending is noticed instead of
blocking for ever; local devices through OpenCV's default backend (V4L2 on
Linux). A stream or device that drops or cannot be opened is retried for ever
with exponential backoff and jitter, and the health heartbeat says
``reconnecting`` with the last error meanwhile. A file that is missing or
undecodable is a configuration mistake: the camera fails at once with a
message saying which file and why.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from producers.camera.buffer import CapturedFrame, FrameBuffer
from producers.camera.errors import SourceError
from producers.camera.health import HealthMonitor
from producers.camera.pacing import FramePacer
from producers.camera.settings import CameraSettings

__all__ = [
    "Backoff",
    "Capture",
    "CaptureWorker",
    "SourceKind",
    "classify_source",
    "open_capture",
    "redact_source",
]

logger = logging.getLogger(__name__)

SourceKind = Literal["file", "stream", "device"]

_STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "rtmps://", "http://", "https://", "udp://")
_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_SECRET_PARAMS = re.compile(r"(?i)([?&](?:password|passwd|pwd|token|key|auth)=)[^&]*")

#: Consecutive failed reads after which a stream counts as dropped (or a file as ended).
MAX_CONSECUTIVE_READ_ERRORS = 10


def classify_source(source: str) -> SourceKind:
    """``stream`` for network URLs, ``device`` for ``"0"``/``/dev/videoN``, else ``file``."""
    s = source.strip()
    if s.lower().startswith(_STREAM_SCHEMES):
        return "stream"
    if s.isdigit() or s.startswith("/dev/video"):
        return "device"
    return "file"


def redact_source(source: str) -> str:
    """``source`` with user and password (and secret query parameters) removed."""
    s = _CREDENTIALS.sub(r"\g<scheme>***@", source)
    return _SECRET_PARAMS.sub(r"\1***", s)


class Capture(Protocol):
    """What the worker needs from a ``cv2.VideoCapture`` (tests pass fakes)."""

    def grab(self) -> bool: ...
    def retrieve(self) -> tuple[bool, Any]: ...
    def get(self, prop: int) -> float: ...
    def release(self) -> None: ...


CaptureOpener = Callable[[str, SourceKind, CameraSettings], Capture]


def open_capture(source: str, kind: SourceKind, settings: CameraSettings) -> Capture:
    """Open ``source`` with OpenCV.

    Raises:
        SourceError: It cannot be opened; the message names the source
            (credentials removed) and the likely reason.
    """
    import cv2

    shown = redact_source(source)
    if kind == "file":
        path = source[len("file://") :] if source.startswith("file://") else source
        if not Path(path).is_file():
            raise SourceError(f"video file {shown} does not exist or is not a file")
        cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"video file {shown} cannot be decoded (not a video, truncated, "
                "or a codec this OpenCV build lacks)"
            )
        return cap
    if kind == "device":
        target: int | str = int(source) if source.isdigit() else source
        cap = cv2.VideoCapture(target, cv2.CAP_ANY)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"camera device {shown} cannot be opened (absent or busy?)")
        return cap
    if source.lower().startswith(("rtsp://", "rtsps://")):
        # UDP loses packets on busy plant networks and FFmpeg then decodes
        # smeared frames; TCP is the robust default. A user's setting wins.
        os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        int(settings.open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(settings.read_timeout_s * 1000),
    ]
    cap = cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)
    if not cap.isOpened():
        cap.release()
        raise SourceError(f"stream {shown} cannot be opened (unreachable, refused or timed out)")
    return cap


class Backoff:
    """Exponential backoff with jitter: ``initial``, ``2 * initial``, ... up to ``maximum``.

    Each delay is drawn uniformly from ``[d / 2, d]`` so that many cameras
    behind one failed switch do not reconnect in lockstep.
    """

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        self.initial = initial
        self.maximum = maximum
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        d = min(self.maximum, self.initial * (2.0**self.attempt))
        self.attempt += 1
        return self._rng.uniform(d / 2, d)

    def reset(self) -> None:
        self.attempt = 0


def _as_bgr(image: Any) -> Any:
    """A 3-channel BGR uint8 frame, or ``None`` when ``image`` is not a usable frame."""
    import numpy as np

    if image is None or not isinstance(image, np.ndarray) or image.size == 0:
        return None
    if image.dtype != np.uint8:
        return None
    if image.ndim == 2:
        import cv2

        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        import cv2

        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 1:
        import cv2

        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return None


class CaptureWorker(threading.Thread):
    """Reads one camera's source into a frame buffer until stopped or the file ends.

    Args:
        camera_id: Camera, for logs.
        source: Capture source (URL, path or device).
        settings: The camera's settings (timeouts, backoff, realtime, loop).
        buffer: Where admitted frames go; closed when the worker ends.
        pacer: Decides which frames the detector gets.
        health: Records frames, errors, reconnects and status.
        opener: Opens a source; :func:`open_capture` unless a test fakes it.
        clock: UTC "now"; tests fake it.

    After the thread ends, :attr:`failure` holds the error that made a file
    source fail (``None`` otherwise).
    """

    def __init__(
        self,
        camera_id: str,
        source: str,
        settings: CameraSettings,
        buffer: FrameBuffer,
        pacer: FramePacer,
        health: HealthMonitor,
        *,
        opener: CaptureOpener = open_capture,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(name=f"capture-{camera_id}", daemon=True)
        self.camera_id = camera_id
        self.source = source
        self.kind = classify_source(source)
        self.settings = settings
        self.realtime = settings.realtime
        self.buffer = buffer
        self.pacer = pacer
        self.health = health
        self.opener = opener
        self.clock = clock
        self.backoff = Backoff(settings.reconnect_initial_s, settings.reconnect_max_s)
        self.failure: SourceError | None = None
        self._halt = threading.Event()
        self._seq = 0
        self._last_ts: datetime | None = None
        self._file_origin: datetime | None = None

    def stop(self) -> None:
        """Ask the thread to end; it releases the source within a read timeout."""
        self._halt.set()

    @property
    def stopping(self) -> bool:
        return self._halt.is_set()

    def run(self) -> None:
        try:
            self._run()
        except Exception as e:  # a bug must not kill the camera silently
            logger.exception("camera %s: capture thread crashed", self.camera_id)
            self.failure = SourceError(f"capture crashed: {type(e).__name__}: {e}")
            self.health.error(str(self.failure))
            self.health.set_status("failed")
        finally:
            self.buffer.close()

    def _run(self) -> None:
        shown = redact_source(self.source)
        lost = False  # the source dropped: its next successful open is a reconnect
        while not self._halt.is_set():
            try:
                cap = self.opener(self.source, self.kind, self.settings)
            except SourceError as e:
                self.health.error(str(e))
                if self.kind == "file":
                    logger.error("camera %s: %s", self.camera_id, e)
                    self.failure = e
                    self.health.set_status("failed")
                    return
                self.health.set_status("reconnecting")
                delay = self.backoff.next_delay()
                logger.warning("camera %s: %s; retrying in %.1f s", self.camera_id, e, delay)
                self._halt.wait(delay)
                continue
            if lost:
                self.health.count("reconnects")
                lost = False
            logger.info("camera %s: opened %s", self.camera_id, shown)
            try:
                outcome, frames, lasted = self._read(cap)
            finally:
                cap.release()
            if outcome == "stopped":
                return
            if outcome == "failed":
                self.health.set_status("failed")
                return
            if outcome == "ended":
                if self.settings.loop and frames > 0:
                    continue
                self.health.set_status("ended")
                return
            # Dropped: a stream that ran for a while starts its backoff afresh.
            if frames > 0 and lasted >= self.settings.reconnect_max_s:
                self.backoff.reset()
            self.health.set_status("reconnecting")
            lost = True
            delay = self.backoff.next_delay()
            logger.warning(
                "camera %s: %s dropped after %d frames; reconnecting in %.1f s",
                self.camera_id,
                shown,
                frames,
                delay,
            )
            self._halt.wait(delay)

    def _stamp(self, index: int, fps: float) -> datetime:
        if self.kind == "file" and not self.realtime:
            if self._file_origin is None:
                self._file_origin = self.clock()
            ts = self._file_origin + timedelta(seconds=index / fps)
        else:
            ts = self.clock()
        # Strictly increasing per camera, whatever the wall clock does: the
        # stream side drops frames at or before the last one it saw.
        if self._last_ts is not None and ts <= self._last_ts:
            ts = self._last_ts + timedelta(microseconds=1)
        self._last_ts = ts
        return ts

    def _read(self, cap: Capture) -> tuple[str, int, float]:
        """Read until the source ends, drops or we stop: (outcome, frames read, seconds)."""
        import cv2

        shown = redact_source(self.source)
        opened = time.monotonic()
        fps = cap.get(cv2.CAP_PROP_FPS)
        if not (fps and 0 < fps < 1000):
            fps = 25.0
        if self.kind == "file" and self._last_ts is not None and not self.realtime:
            # A looped file goes on after its previous pass.
            self._file_origin = self._last_ts + timedelta(seconds=1 / fps)
        index = 0
        frames = 0
        errors = 0
        unreported = 0
        total = cap.get(cv2.CAP_PROP_FRAME_COUNT) if self.kind == "file" else 0.0
        while not self._halt.is_set():
            asked = time.monotonic()
            if not cap.grab():
                now = time.monotonic()
                errors += 1
                if self.kind == "file":
                    # A damaged packet fails one grab; the end of the file fails all.
                    position = cap.get(cv2.CAP_PROP_POS_FRAMES)
                    if total > 0 and position < total - 1 and errors < MAX_CONSECUTIVE_READ_ERRORS:
                        unreported += 1
                        self.health.error(f"undecodable frame after {position:.0f} in {shown}")
                        continue
                    if frames == 0:
                        self.failure = SourceError(f"video file {shown} has no decodable frame")
                        self.health.error(str(self.failure))
                        logger.error("camera %s: %s", self.camera_id, self.failure)
                        return "failed", frames, now - opened
                    return "ended", frames, now - opened
                # A corrupt frame fails one grab and the stream goes on; a
                # closed connection fails every grab at once; a silent camera
                # fails after the read timeout.
                timed_out = now - asked >= 0.5 * self.settings.read_timeout_s
                if not timed_out and errors < MAX_CONSECUTIVE_READ_ERRORS:
                    # Counted as read errors once a frame follows: if none
                    # does, the stream was closed, which is no frame's fault.
                    unreported += 1
                    self.health.error(f"undecodable frame from {shown}")
                    continue
                self.health.error(
                    f"stream {shown} closed, or sent nothing for {self.settings.read_timeout_s:g} s"
                    if timed_out
                    else f"stream {shown} closed or keeps sending undecodable frames"
                )
                return "dropped", frames, now - opened
            grabbed = time.monotonic()
            if unreported:
                self.health.count("read_errors", unreported)
                unreported = 0
            if self.realtime and self.kind == "file":
                delay = opened + index / fps - grabbed
                if delay > 0 and self._halt.wait(delay):
                    break
                grabbed = time.monotonic()
            captured_at = self._stamp(index, fps)
            index += 1
            seq = self._seq
            self._seq += 1
            if not self.pacer.admit(captured_at.timestamp()):
                self.health.frame_in(captured_at)
                self.health.count("skipped")
                frames += 1
                errors = 0
                continue
            ok, raw = cap.retrieve()
            image = _as_bgr(raw) if ok else None
            if image is None:
                errors += 1
                self.health.count("read_errors")
                self.health.error(f"undecodable frame {seq} from {shown}")
                if errors >= MAX_CONSECUTIVE_READ_ERRORS and self.kind != "file":
                    return "dropped", frames, time.monotonic() - opened
                continue
            errors = 0
            frames += 1
            self.health.frame_in(captured_at, (image.shape[1], image.shape[0]))
            frame = CapturedFrame(image, seq, captured_at, grabbed)
            if self.buffer.block:
                while not self.buffer.put(frame, timeout=0.2):
                    if self._halt.is_set() or self.buffer.closed:
                        return "stopped", frames, time.monotonic() - opened
            elif not self.buffer.put(frame):
                return "stopped", frames, time.monotonic() - opened
        return "stopped", frames, time.monotonic() - opened
