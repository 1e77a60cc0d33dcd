"""A camera's status as an operator reads it, from its newest heartbeat.

The producer says what it is doing (``schemas.health.CameraStatus``); whether a
camera is *online* also depends on whether its heartbeats still arrive. Pure:
the clock is an argument.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from schemas.health import CameraHealth

__all__ = ["MIN_STALE_S", "STALE_AFTER_INTERVALS", "OperatorStatus", "camera_status"]

#: ``online``: frames arrive; ``starting``: the producer has not connected yet;
#: ``reconnecting``: the source dropped and is being retried; ``offline``: no
#: heartbeat for a while, or the producer ended, failed or stopped; ``unknown``:
#: no heartbeat seen since this API started (and none in the last minutes).
OperatorStatus = Literal["online", "starting", "reconnecting", "offline", "unknown"]

#: A heartbeat older than this many of its own intervals means the producer is gone.
STALE_AFTER_INTERVALS = 3.0
#: ... and never sooner than this (a 1 s heartbeat interval with GC pauses).
MIN_STALE_S = 15.0


def camera_status(beat: CameraHealth | None, now: datetime) -> OperatorStatus:
    """``beat``: the camera's newest heartbeat, or None if none is known."""
    if beat is None:
        return "unknown"
    age = (now - beat.at).total_seconds()
    if age > max(STALE_AFTER_INTERVALS * beat.interval_s, MIN_STALE_S):
        return "offline"
    if beat.status == "online" or beat.status == "starting" or beat.status == "reconnecting":
        return beat.status
    return "offline"  # ended, failed, stopped
