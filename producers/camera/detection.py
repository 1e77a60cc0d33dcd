"""People detectors: ultralytics YOLO, or OpenCV's HOG people detector offline.

Both return :class:`Detections` in the pixels of the frame they were given,
and both feed the same ByteTrack (:mod:`producers.camera.tracking`). Neither
downloads anything: YOLO loads the weights file it is given (or builds an
untrained model from a ``.yaml``, for speed checks), and the HOG detector's
linear SVM ships inside OpenCV.

torch, ultralytics and cv2 are imported here lazily, inside the functions that
need them, so that the rest of the project imports without them.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from producers.camera.errors import ConfigurationError, DetectorError
from producers.camera.settings import CameraSettings

__all__ = [
    "PERSON",
    "Detections",
    "Detector",
    "HogDetector",
    "YoloDetector",
    "make_detector",
    "prepare_ultralytics_env",
]

logger = logging.getLogger(__name__)

#: COCO class id of "person".
PERSON = 0


@dataclass(frozen=True)
class Detections:
    """People found in one frame.

    Attributes:
        data: ``float32`` array of shape ``(N, 6)``: ``x1, y1, x2, y2`` in
            pixels of the detected frame, confidence 0..1, class id — the
            layout of ultralytics' ``Boxes.data``.
    """

    data: npt.NDArray[np.float32]

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 6), dtype=np.float32))

    def __len__(self) -> int:
        return int(self.data.shape[0])


class Detector(Protocol):
    """Finds people in a BGR frame; called from the camera's detector thread."""

    label: str

    def detect(self, image: Any) -> Detections: ...


def prepare_ultralytics_env() -> None:
    """Point ultralytics at offline mode and a settings folder outside the home folder.

    Must run before ``ultralytics`` is first imported. ``YOLO_OFFLINE=1``
    stops it from checking for updates or fetching fonts and weights;
    ``YOLO_CONFIG_DIR`` (default: ``$OCC_RUN_DIR/ultralytics`` or a folder in
    the system temp directory) keeps its settings file out of ``~/.config``,
    which a service account may not have. Values a user set are kept.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
    if "YOLO_CONFIG_DIR" not in os.environ:
        run_dir = os.environ.get("OCC_RUN_DIR")
        base = Path(run_dir) if run_dir else Path(tempfile.gettempdir()) / "occupancy"
        path = base / "ultralytics"
        path.mkdir(parents=True, exist_ok=True)
        os.environ["YOLO_CONFIG_DIR"] = str(path)
    # ultralytics checks the terminal for emoji support and the like on import.
    os.environ.setdefault("YOLO_VERBOSE", "False")


class YoloDetector:
    """ultralytics YOLO, people only.

    Args:
        weights: Weights file (``.pt``, ``.onnx``, ...) or model YAML. Never downloaded.
        confidence: Lowest score returned (ByteTrack's second-pass floor).
        imgsz: Inference size, pixels.
        device: ultralytics device string.

    Raises:
        ConfigurationError: No such weights file, or ultralytics is not installed.
        DetectorError: The model cannot be loaded.
    """

    def __init__(self, weights: str, confidence: float, imgsz: int, device: str) -> None:
        is_yaml = weights.endswith((".yaml", ".yml"))
        if not is_yaml and not Path(weights).is_file():
            raise ConfigurationError(
                f"YOLO weights {weights!r} not found: give the path of a weights file "
                "(nothing is downloaded at run time), or use detector = 'hog'"
            )
        prepare_ultralytics_env()
        try:
            from ultralytics import YOLO
        except ImportError as e:
            raise ConfigurationError(
                "detector 'yolo' needs ultralytics: pip install 'occupancy[camera]'"
            ) from e
        try:
            self._model = YOLO(weights, task="detect")
        except Exception as e:
            raise DetectorError(f"cannot load YOLO model {weights!r}: {e}") from e
        self.confidence = confidence
        self.imgsz = imgsz
        self.device = device
        self.label = f"yolo:{Path(weights).name}"

    def detect(self, image: Any) -> Detections:
        results: Any = self._model.predict(
            image,
            classes=[PERSON],
            conf=self.confidence,
            imgsz=self.imgsz,
            device=self.device,
            verbose=False,
        )
        data = results[0].boxes.data
        if hasattr(data, "cpu"):
            data = data.cpu().numpy()
        return Detections(np.asarray(data, dtype=np.float32).reshape(-1, 6))


class HogDetector:
    """OpenCV's HOG + linear SVM people detector (Dalal-Triggs), no weights needed.

    Its windows are 64x128 pixels around a ~96-pixel person, so people
    smaller than about 100 pixels are missed (resize the frame up, or use
    YOLO), and boxes are trimmed by the window's margins to approximate a
    detector box around the person. SVM margins become scores by
    ``1 - exp(-margin / 2)``: a margin of 0.3 (typical of HOG's false
    positives) scores 0.14, below the default ``confidence`` of 0.25, so it can
    only continue a track; 1.0 scores 0.39 and 2.0 scores 0.63.

    Args:
        confidence: Lowest score returned.
        scale: Image pyramid step.
        win_stride: Window stride, pixels.
        nms_iou: Overlap above which the weaker of two boxes is dropped.
    """

    label = "hog"
    #: Fraction of the box width/height trimmed from each side.
    TRIM_X = 0.15
    TRIM_Y = 0.06

    def __init__(
        self,
        confidence: float,
        scale: float = 1.05,
        win_stride: int = 8,
        nms_iou: float = 0.45,
    ) -> None:
        import cv2

        if not hasattr(cv2, "HOGDescriptor_getDefaultPeopleDetector"):
            raise ConfigurationError(
                "this OpenCV has no HOG people detector (OpenCV 5 removed it): "
                "install opencv-python-headless<5"
            )
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.confidence = confidence
        self.scale = scale
        self.win_stride = win_stride
        self.nms_iou = nms_iou

    def detect(self, image: Any) -> Detections:
        import cv2

        found, weights = self._hog.detectMultiScale(
            image,
            winStride=(self.win_stride, self.win_stride),
            padding=(8, 8),
            scale=self.scale,
        )
        if len(found) == 0:
            return Detections.empty()
        rects = np.asarray(found, dtype=np.float32).reshape(-1, 4)
        margins = np.asarray(weights, dtype=np.float32).reshape(-1)
        scores = 1.0 - np.exp(-np.maximum(margins, 0.0) / 2.0)
        keep = scores >= self.confidence
        rects, scores = rects[keep], scores[keep]
        if len(rects) == 0:
            return Detections.empty()
        kept = cv2.dnn.NMSBoxes(rects.tolist(), scores.tolist(), self.confidence, self.nms_iou)
        idx = np.asarray(kept, dtype=np.int64).reshape(-1)
        rects, scores = rects[idx], scores[idx]
        x, y, w, h = rects[:, 0], rects[:, 1], rects[:, 2], rects[:, 3]
        data = np.stack(
            [
                x + self.TRIM_X * w,
                y + self.TRIM_Y * h,
                x + (1 - self.TRIM_X) * w,
                y + (1 - self.TRIM_Y) * h,
                scores,
                np.full_like(scores, PERSON),
            ],
            axis=1,
        ).astype(np.float32)
        return Detections(data)


def make_detector(settings: CameraSettings) -> Detector:
    """The detector a camera's settings ask for.

    Raises:
        ConfigurationError: ``yolo`` without weights, or a missing package.
        DetectorError: The model cannot be loaded.
    """
    if settings.detector == "hog":
        return HogDetector(
            confidence=settings.track_low_confidence,
            scale=settings.hog_scale,
            win_stride=settings.hog_win_stride,
        )
    if not settings.weights:
        raise ConfigurationError(
            "detector 'yolo' needs weights: set weights = '/path/to/yolov8n.pt' "
            "(nothing is downloaded at run time), or detector = 'hog'"
        )
    return YoloDetector(
        settings.weights,
        confidence=settings.track_low_confidence,
        imgsz=settings.imgsz,
        device=settings.device,
    )
