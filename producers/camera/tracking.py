"""ByteTrack (ultralytics' implementation) over any detector's boxes.

:class:`PersonTracker` is what ``model.track(..., tracker="bytetrack.yaml")``
does after detection, without the predictor around it, so YOLO and the HOG
detector share one tracker. :func:`to_tracks` maps tracked boxes from the
detected frame's pixels to the camera's configured frame size (the pixel space
its counting lines are drawn in) and makes them ``Track`` events.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from producers.camera.detection import Detections
from schemas.events import Track

__all__ = ["PersonTracker", "to_tracks"]


class PersonTracker:
    """ByteTrack with ultralytics' defaults, thresholds from the camera's settings.

    Args:
        confidence: Score a detection needs to start a track or match in the
            first pass (``track_high_thresh`` and ``new_track_thresh``).
        low_confidence: Floor of the second pass (``track_low_thresh``).
        track_buffer: Processed frames a lost track is kept for.
        match_thresh: IoU-cost threshold of the association (ultralytics' 0.8).
    """

    def __init__(
        self,
        confidence: float = 0.25,
        low_confidence: float = 0.1,
        track_buffer: int = 30,
        match_thresh: float = 0.8,
    ) -> None:
        from producers.camera.detection import prepare_ultralytics_env

        prepare_ultralytics_env()
        from ultralytics.trackers.byte_tracker import BYTETracker
        from ultralytics.utils import IterableSimpleNamespace

        self.args = IterableSimpleNamespace(
            tracker_type="bytetrack",
            track_high_thresh=confidence,
            track_low_thresh=low_confidence,
            new_track_thresh=confidence,
            track_buffer=track_buffer,
            match_thresh=match_thresh,
            fuse_score=True,
        )
        self._tracker = BYTETracker(args=self.args)

    def update(self, detections: Detections, image: Any) -> npt.NDArray[np.float64]:
        """Feed one processed frame's detections; return the confirmed tracks.

        Returns:
            Array ``(M, 7)``: ``x1, y1, x2, y2`` (pixels of ``image``), track
            id (>= 1), score, class.
        """
        from ultralytics.engine.results import Boxes

        boxes = Boxes(detections.data, image.shape[:2])
        out = self._tracker.update(boxes, image)
        if len(out) == 0:
            return np.zeros((0, 7), dtype=np.float64)
        return np.asarray(out[:, :7], dtype=np.float64)

    def reset(self) -> None:
        """Forget every track and number new ones from 1 again."""
        self._tracker.reset()


def to_tracks(
    tracked: npt.NDArray[np.float64],
    source_size: tuple[int, int],
    target_size: tuple[int, int],
) -> tuple[Track, ...]:
    """Tracked boxes as ``Track`` events in the camera's configured pixels.

    Args:
        tracked: Rows of :meth:`PersonTracker.update`.
        source_size: ``(width, height)`` of the frame the boxes are in.
        target_size: ``(width, height)`` of the camera in the plant configuration.

    Boxes are scaled, clipped to the frame (ByteTrack's Kalman filter may
    carry a box a little past the border) and dropped if nothing is left.
    """
    if len(tracked) == 0:
        return ()
    sx = target_size[0] / source_size[0]
    sy = target_size[1] / source_size[1]
    w, h = float(target_size[0]), float(target_size[1])
    out = []
    for x1, y1, x2, y2, tid, score, cls in tracked.tolist():
        bx1 = round(min(max(x1 * sx, 0.0), w), 2)
        by1 = round(min(max(y1 * sy, 0.0), h), 2)
        bx2 = round(min(max(x2 * sx, 0.0), w), 2)
        by2 = round(min(max(y2 * sy, 0.0), h), 2)
        if not (bx1 < bx2 and by1 < by2):
            continue
        out.append(
            Track(
                id=int(tid),
                box=(bx1, by1, bx2, by2),
                confidence=min(max(float(score), 0.0), 1.0),
                class_id=max(int(cls), 0),
            )
        )
    return tuple(out)
