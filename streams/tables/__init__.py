"""Faust tables: the stream side's state, backed by changelog topics."""

from streams.tables.state import track_state, zone_state

__all__ = ["track_state", "zone_state"]
