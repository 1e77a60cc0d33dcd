"""Tables holding the core's serialisable state.

* ``track_state``: camera id -> :meth:`LineCounter.state_dict`, co-partitioned
  with ``detections.v1`` (keyed by camera id).
* ``zone_state``: zone id -> :meth:`ZoneOccupancy.state_dict`, co-partitioned
  with ``zone-deltas.v1`` (keyed by zone id).

Their names, and so their changelog topics, are listed in
:data:`streams.topics.TABLES`, which the admin step creates. Both are plain
key/value tables: event-time windows and watermarks belong to
the pure core, not to Faust's wall-clock windowed tables.
"""

from __future__ import annotations

from streams.app import app, settings
from streams.topics import TRACK_STATE, ZONE_STATE

__all__ = ["track_state", "zone_state"]

track_state = app.Table(
    TRACK_STATE,
    default=None,
    key_type=str,
    partitions=settings.partitions,
    help="LineCounter state per camera.",
)

zone_state = app.Table(
    ZONE_STATE,
    default=None,
    key_type=str,
    partitions=settings.partitions,
    help="ZoneOccupancy state per zone.",
)
