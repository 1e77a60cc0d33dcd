"""The bounded hand-over between a capture thread and the detector.

A live camera does not wait for us: when the detector is slower than the
stream, the buffer drops the *oldest* frames so the detector always works on
the newest picture, and frames that waited longer than ``max_age_s`` are
dropped as stale when taken. A file source can wait, so it blocks instead and
every frame is analysed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["CapturedFrame", "FrameBuffer"]


@dataclass(frozen=True, eq=False)
class CapturedFrame:
    """One decoded frame and when it was taken.

    Attributes:
        image: BGR ``uint8`` array, shape ``(height, width, 3)``.
        seq: Frame number since the producer started (grabbed frames, across
            reconnects); gaps are frames skipped by pacing.
        captured_at: Capture time, UTC (grab time for live sources).
        grabbed_monotonic: ``time.monotonic()`` at grab, for staleness.
    """

    image: Any
    seq: int
    captured_at: datetime
    grabbed_monotonic: float

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


class FrameBuffer:
    """A bounded, thread-safe frame queue with a drop-oldest or blocking policy.

    Args:
        maxsize: Frames held at most.
        block: ``True``: :meth:`put` waits for room (files); ``False``: it
            drops the oldest frame (live streams).
        max_age_s: :meth:`get` drops frames older than this (seconds since
            grab); ``None`` never does.
        on_drop: Called with the number of frames just dropped (under the
            buffer's lock, from the thread that dropped them).
    """

    def __init__(
        self,
        maxsize: int,
        *,
        block: bool,
        max_age_s: float | None = None,
        on_drop: Callable[[int], None] | None = None,
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.block = block
        self.max_age_s = max_age_s
        self.on_drop = on_drop
        self.dropped = 0
        self._frames: deque[CapturedFrame] = deque()
        self._cond = threading.Condition()
        self._closed = False

    def __len__(self) -> int:
        with self._cond:
            return len(self._frames)

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, frame: CapturedFrame, timeout: float | None = None) -> bool:
        """Add a frame (called by the capture thread).

        Returns:
            ``False`` when the buffer is closed, or (blocking mode) still full
            after ``timeout`` seconds; the frame is then not added.
        """
        with self._cond:
            if self.block:
                deadline = None if timeout is None else time.monotonic() + timeout
                while len(self._frames) >= self.maxsize and not self._closed:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._cond.wait(remaining)
            if self._closed:
                return False
            while len(self._frames) >= self.maxsize:
                self._frames.popleft()
                self._dropped(1)
            self._frames.append(frame)
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> CapturedFrame | None:
        """Take the oldest fresh frame (called by the detector side).

        Returns:
            The frame, or ``None`` when none came within ``timeout`` seconds
            or the buffer is closed and empty.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                while self._frames:
                    frame = self._frames.popleft()
                    self._cond.notify_all()
                    if (
                        self.max_age_s is not None
                        and time.monotonic() - frame.grabbed_monotonic > self.max_age_s
                    ):
                        self._dropped(1)
                        continue
                    return frame
                if self._closed:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def _dropped(self, n: int) -> None:
        self.dropped += n
        if self.on_drop is not None:
            self.on_drop(n)

    def close(self) -> None:
        """No more frames will come; :meth:`get` drains what is left, then returns ``None``."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
