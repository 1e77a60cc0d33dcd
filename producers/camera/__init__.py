"""Camera producers: capture, detect and track people, publish ``FrameDetections``.

Install with the ``camera`` extra (OpenCV, ultralytics, torch). Nothing here
imports them at package import time: the modules that need them import them
inside the functions that use them, so the stream workers and the API never
load them.

Modules, in the order a frame meets them: :mod:`~producers.camera.sources`
(capture, reconnection), :mod:`~producers.camera.pacing` (max rate, frame
skipping, duplicates), :mod:`~producers.camera.buffer`,
:mod:`~producers.camera.detection` (YOLO, HOG), :mod:`~producers.camera.tracking`
(ByteTrack), :mod:`~producers.camera.publisher` (Kafka), with
:mod:`~producers.camera.health` (heartbeats) and
:mod:`~producers.camera.preview` (MJPEG preview) beside them;
:mod:`~producers.camera.producer` ties them together per camera and
:mod:`~producers.camera.cli` is the command.
"""

from producers.camera.errors import (
    CameraProducerError,
    ConfigurationError,
    DetectorError,
    SourceError,
)
from producers.camera.settings import CameraSettings, ProducerSettings, load_producer_settings

__all__ = [
    "CameraProducerError",
    "CameraSettings",
    "ConfigurationError",
    "DetectorError",
    "ProducerSettings",
    "SourceError",
    "load_producer_settings",
]
