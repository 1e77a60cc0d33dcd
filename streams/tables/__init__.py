"""Faust tables: the worker's state, backed by changelog topics.

Defined on the worker's app (``streams.app``); their names are listed in
:data:`streams.topics.TABLES`, so the admin step creates their changelogs.
"""

from streams.tables.state import track_state, zone_state

__all__ = ["track_state", "zone_state"]
