"""Producer-side settings: how each camera is captured, paced and analysed.

The plant configuration (``schemas.config``) says *what* a camera is: its id,
its frame size (the pixel space its counting lines are drawn in) and its source
URL. These settings say *how* the producer on the edge box handles it, and live
in their own TOML file so that an installer can tune one camera without
touching the plant's contract::

    # producer.toml
    [defaults]
    detector = "yolo"
    weights = "/opt/models/yolov8n.pt"
    max_fps = 10

    [cameras.cam-north]
    source = "rtsp://user:secret@10.0.0.21/stream1"
    resize = [960, 540]

    [cameras.cam-south]
    detector = "hog"

Per-camera tables override ``[defaults]`` field by field.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from producers.camera.errors import ConfigurationError

__all__ = ["CameraSettings", "ProducerSettings", "load_producer_settings"]


class CameraSettings(BaseModel):
    """How one camera is captured, paced, detected and tracked.

    Attributes:
        source: Capture source; overrides the plant configuration's
            ``source``. A file path, ``rtsp://``/``rtsps://``/``rtmp://``,
            ``http(s)://`` (MJPEG or anything FFmpeg reads), a device index
            (``"0"``) or ``/dev/videoN``.
        detector: ``yolo`` (ultralytics, needs ``weights``) or ``hog``
            (OpenCV's HOG people detector: no weights, slower, less accurate).
        weights: Path of the YOLO weights (``yolov8n.pt``), or a model YAML
            (``yolov8n.yaml``: an untrained model, for speed checks only).
            Never downloaded.
        confidence: Detector score (0..1) a detection needs to start or
            continue a track in ByteTrack's first pass; weaker detections down
            to ``track_low_confidence`` can only continue existing tracks.
        track_low_confidence: ByteTrack's second-pass floor (0..1).
        imgsz: YOLO inference size in pixels (longest side).
        device: ultralytics device string: ``cpu``, ``0`` (first GPU), ``mps``.
        track_buffer: Frames (processed ones) a lost track is kept for.
        max_fps: Most frames per second given to the detector, in capture
            time; ``None`` processes every frame.
        frame_skip: Process one frame, then skip this many (before ``max_fps``).
        resize: ``(width, height)`` in pixels frames are resized to before
            detection; boxes are scaled back to the camera's configured size.
        duplicate_threshold: A frame whose mean absolute grey-level difference
            (0..255, on a 64-pixel-wide thumbnail) to the last processed frame
            is below this is a duplicate: not detected, its tracks re-sent so
            they stay alive. 0 disables the filter.
        duplicate_max_age_s: The detector runs at least this often (seconds of
            capture time) even on an unchanging picture.
        buffer_size: Frames held between capture and detection. Live sources
            drop the oldest when it is full; files wait.
        max_frame_age_s: Live frames older than this (seconds since grab) when
            the detector gets to them are dropped as stale.
        realtime: ``True``: behave like a live camera: drop frames rather than
            fall behind, stamp frames with the wall clock at grab, and play
            files at their own frame rate. ``False``: analyse every frame as
            fast as the detector goes, the capture waiting for it (tests,
            benchmarks, offline recounts); a file's frames are then stamped
            with the time it was opened plus their position in the video,
            which runs ahead of the wall clock when the detector is faster
            than the video, so do not mix such a run with live cameras.
        loop: Play a file source again from the start when it ends.
        reconnect_initial_s: First wait before reopening a dropped source.
        reconnect_max_s: Longest wait between reopen attempts (the wait
            doubles from ``reconnect_initial_s``, with jitter).
        open_timeout_s: How long opening a stream may take.
        read_timeout_s: How long a stream may go without a frame before it
            counts as dropped.
        hog_scale: HOG image pyramid step (> 1; larger is faster, misses more).
        hog_win_stride: HOG window stride in pixels (8 or 16).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str | None = None
    detector: Literal["yolo", "hog"] = "yolo"
    weights: str | None = None
    confidence: float = Field(default=0.25, gt=0.0, le=1.0)
    track_low_confidence: float = Field(default=0.1, gt=0.0, le=1.0)
    imgsz: int = Field(default=640, ge=32, le=4096)
    device: str = "cpu"
    track_buffer: int = Field(default=30, ge=1)
    max_fps: float | None = Field(default=10.0, gt=0)
    frame_skip: int = Field(default=0, ge=0)
    resize: tuple[int, int] | None = None
    duplicate_threshold: float = Field(default=0.75, ge=0.0, le=255.0)
    duplicate_max_age_s: float = Field(default=2.0, gt=0)
    buffer_size: int = Field(default=2, ge=1, le=1024)
    max_frame_age_s: float = Field(default=2.0, gt=0)
    realtime: bool = True
    loop: bool = False
    reconnect_initial_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    open_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=10.0, gt=0)
    hog_scale: float = Field(default=1.05, gt=1.0, le=2.0)
    hog_win_stride: int = Field(default=8, ge=4, le=64)

    @model_validator(mode="after")
    def _check(self) -> CameraSettings:
        if self.resize is not None and min(self.resize) <= 0:
            raise ValueError(f"resize {self.resize} must be a positive (width, height)")
        if self.track_low_confidence > self.confidence:
            raise ValueError("track_low_confidence must not exceed confidence")
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError("reconnect_max_s must be at least reconnect_initial_s")
        return self

    def detector_label(self) -> str:
        """Short description for health events and logs, e.g. ``yolo:yolov8n.pt``."""
        if self.detector == "yolo":
            return f"yolo:{Path(self.weights).name if self.weights else '?'}"
        return "hog"


class ProducerSettings(BaseModel):
    """Everything the camera producer command reads from its settings file.

    Attributes:
        defaults: Settings of every camera.
        cameras: Per-camera overrides of ``defaults`` (camera id -> fields).
        health_interval_s: Seconds between health heartbeats.
        preview_port: Port of the MJPEG preview (boxes, ids, lines drawn);
            ``None`` serves none.
        preview_host: Address the preview binds to; keep it on loopback
            unless the network is trusted (the preview has no authentication).
        preview_fps: Most frames per second the preview sends per viewer.
        snapshots: Answer snapshot requests (``schemas.snapshots``) with the
            newest frame of a camera. Off by default: a picture of the floor
            leaves the producer only when this is on and somebody asks.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    defaults: CameraSettings = CameraSettings()
    cameras: dict[str, dict[str, Any]] = Field(default_factory=dict)
    health_interval_s: float = Field(default=5.0, gt=0)
    preview_port: int | None = Field(default=None, ge=0, le=65535)
    preview_host: str = "127.0.0.1"
    preview_fps: float = Field(default=5.0, gt=0)
    snapshots: bool = False

    @model_validator(mode="after")
    def _overrides_are_valid(self) -> ProducerSettings:
        for camera_id in self.cameras:
            try:
                self.for_camera(camera_id)
            except ValidationError as e:
                raise ValueError(f"cameras.{camera_id}: {e}") from e
        return self

    def for_camera(self, camera_id: str, **overrides: Any) -> CameraSettings:
        """The settings of one camera: defaults, its table, then ``overrides``.

        Raises:
            pydantic.ValidationError: A field is invalid; the message names the camera.
        """
        merged = {
            **self.defaults.model_dump(exclude_unset=True),
            **self.cameras.get(camera_id, {}),
            **{k: v for k, v in overrides.items() if v is not None},
        }
        return CameraSettings.model_validate(merged)


def load_producer_settings(path: str | Path | None) -> ProducerSettings:
    """Read producer settings from TOML; ``None`` gives the defaults.

    Raises:
        ConfigurationError: The file is missing, not TOML, or invalid.
    """
    if path is None:
        return ProducerSettings()
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
        return ProducerSettings.model_validate(raw)
    except OSError as e:
        raise ConfigurationError(f"cannot read producer settings {path}: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigurationError(f"producer settings {path} are not valid TOML: {e}") from e
    except ValidationError as e:
        raise ConfigurationError(f"invalid producer settings {path}:\n{e}") from e
