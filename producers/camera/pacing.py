"""Pacing: which frames reach the detector.

:class:`FramePacer` decides from capture times alone (so the capture thread can
skip a frame before paying for its colour conversion): every ``frame_skip + 1``-th
frame, then at most ``max_fps`` per second of capture time.
:class:`DuplicateFilter` compares a small grey thumbnail of each frame with the
last frame the detector saw; near-identical frames (a camera repeating its last
picture, an MJPEG server polled faster than it encodes) are not detected again,
their tracks are re-sent instead, so tracks stay alive downstream and the
tracker's lost-track clock does not run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DuplicateFilter", "FramePacer", "resize_frame"]


class FramePacer:
    """Admits frames by count and by capture-time rate.

    Args:
        max_fps: Most frames per second of capture time; ``None``: no limit.
        frame_skip: After each admitted frame, this many frames are skipped
            outright (applied before ``max_fps``).
    """

    #: A frame up to this fraction of a period early is still due, so that a
    #: 30 fps stream limited to 10 fps gives 10, not 7.5, frames per second.
    TOLERANCE = 0.1

    def __init__(self, max_fps: float | None, frame_skip: int = 0) -> None:
        if max_fps is not None and max_fps <= 0:
            raise ValueError("max_fps must be positive")
        if frame_skip < 0:
            raise ValueError("frame_skip must be >= 0")
        self.period = 0.0 if max_fps is None else 1.0 / max_fps
        self.frame_skip = frame_skip
        self._to_skip = 0
        self._next_due: float | None = None

    def admit(self, t: float) -> bool:
        """Whether the frame captured at ``t`` (seconds, any epoch) goes to the detector."""
        if self._to_skip > 0:
            self._to_skip -= 1
            return False
        if self.period > 0:
            if self._next_due is not None and t < self._next_due - self.TOLERANCE * self.period:
                return False
            # Keep to the schedule (so jitter does not lower the rate), unless
            # we are more than a period behind it: then start afresh from
            # now rather than catch up with a burst.
            late = self._next_due is None or t > self._next_due + self.period
            base = t if late or self._next_due is None else self._next_due
            self._next_due = base + self.period
        self._to_skip = self.frame_skip
        return True


class DuplicateFilter:
    """Flags frames nearly identical to the last frame the detector saw.

    Args:
        threshold: Mean absolute difference of grey levels (0..255) on the
            thumbnail below which a frame is a duplicate; 0 disables.
        max_age_s: A frame is never a duplicate when the last detected one is
            older than this (capture time), so a frozen picture is still
            re-detected now and then.
        thumb_width: Thumbnail width in pixels; averaging over blocks this
            coarse removes sensor noise but keeps a walking person.
    """

    def __init__(self, threshold: float, max_age_s: float, thumb_width: int = 64) -> None:
        self.threshold = threshold
        self.max_age_s = max_age_s
        self.thumb_width = thumb_width
        self._last: np.ndarray[Any, np.dtype[np.float32]] | None = None
        self._last_t = 0.0
        self.last_difference: float | None = None

    def thumbnail(self, image: Any) -> np.ndarray[Any, np.dtype[np.float32]]:
        import cv2

        h, w = image.shape[:2]
        tw = min(self.thumb_width, w)
        th = max(1, round(h * tw / w))
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        small = cv2.resize(grey, (tw, th), interpolation=cv2.INTER_AREA)
        return np.asarray(small, dtype=np.float32)

    def is_duplicate(self, image: Any, t: float) -> bool:
        """Whether ``image`` (captured at ``t`` seconds) can reuse the last detection.

        A frame that is not a duplicate becomes the new reference: call this
        only for frames that then go to the detector when it returns False.
        """
        if self.threshold <= 0:
            return False
        thumb = self.thumbnail(image)
        last = self._last
        if last is not None and last.shape == thumb.shape and t - self._last_t < self.max_age_s:
            self.last_difference = float(np.mean(np.abs(thumb - last)))
            if self.last_difference < self.threshold:
                return True
        else:
            self.last_difference = None
        self._last = thumb
        self._last_t = t
        return False


def resize_frame(image: Any, size: tuple[int, int] | None) -> Any:
    """``image`` resized to ``size`` = (width, height) pixels; unchanged when it already is."""
    if size is None or (image.shape[1], image.shape[0]) == tuple(size):
        return image
    import cv2

    w, h = size
    shrink = w * h < image.shape[0] * image.shape[1]
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
