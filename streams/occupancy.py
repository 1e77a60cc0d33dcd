"""Zones as a graph, and the per-zone occupancy reducer.

Every line moves people from one zone to another. With nested zones a single
crossing changes several: walking from the yard (outside) into the lobby of
the facility enters both the lobby and the facility; walking from the lobby
into the workshop enters the workshop and leaves the lobby, while the facility
does not change. :meth:`ZoneGraph.effects` computes exactly that, from the
zones' ``parent`` links.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from schemas.config import OUTSIDE, ZoneConfig
from schemas.events import CrossingEvent, OccupancyChanged, ZoneDelta, occupancy_change_id
from schemas.operations import OccupancyCalibrated, OccupancyReset

__all__ = ["ZoneGraph", "ZoneOccupancy"]


class ZoneGraph:
    """Zone containment, from each zone's ``parent``."""

    def __init__(self, zones: Iterable[ZoneConfig]) -> None:
        self._parent = {z.id: z.parent for z in zones}
        self._chains: dict[str, tuple[str, ...]] = {}
        for zone_id in self._parent:
            chain = []
            z: str | None = zone_id
            while z is not None:
                chain.append(z)
                z = self._parent[z]
            self._chains[zone_id] = tuple(chain)

    def containing(self, zone_id: str) -> tuple[str, ...]:
        """The zone and every zone around it, innermost first; empty for outside."""
        if zone_id == OUTSIDE:
            return ()
        return self._chains[zone_id]

    def effects(self, from_zone: str, to_zone: str) -> list[tuple[str, int]]:
        """``(zone, +1 | -1)`` for every zone a move from ``from_zone`` to ``to_zone`` changes."""
        left = self.containing(from_zone)
        entered = self.containing(to_zone)
        out = [(z, -1) for z in left if z not in entered]
        out += [(z, 1) for z in entered if z not in left]
        return out

    def deltas(self, crossing: CrossingEvent) -> list[ZoneDelta]:
        """The per-zone deltas of one crossing, ready to publish keyed by zone."""
        return [
            ZoneDelta(
                zone_id=zone,
                crossing_id=crossing.id,
                delta=d,
                camera_id=crossing.camera_id,
                line_id=crossing.line_id,
                occurred_at=crossing.occurred_at,
            )
            for zone, d in self.effects(crossing.from_zone, crossing.to_zone)
        ]


class ZoneOccupancy:
    """Occupancy of one zone, folded from its deltas.

    ``apply`` ignores a delta whose crossing it has applied recently, so a
    redelivered delta (at-least-once delivery) changes nothing. Occupancy never
    goes negative: an exit from an empty zone is clamped and flagged, because
    it means a missed entry somewhere (drift), not a negative number of people.

    Corrections (calibrations, resets) hold "as of" their time T, whatever the
    order of arrival: deltas after T that were applied before the correction
    arrived are re-applied on top of it (from the recent-event memory), and
    deltas before T that arrive after it change entries and exits but not
    occupancy (the correction already accounts for them).
    """

    #: How many recent events are remembered for de-duplication and for
    #: re-applying deltas newer than a correction.
    DEDUPE_WINDOW = 512

    def __init__(self, zone_id: str) -> None:
        self.zone_id = zone_id
        self.occupancy = 0
        self.entries = 0
        self.exits = 0
        self.version = 0
        self.clamped_total = 0
        self.last_reset_at = 0.0
        #: Event time (UTC seconds) of the newest calibration or reset applied.
        self.corrected_at = 0.0
        # (event id hex, event time in UTC seconds, delta: +1, -1, or 0 for commands)
        self._recent: deque[tuple[str, float, int]] = deque(maxlen=self.DEDUPE_WINDOW)
        self._recent_set: set[str] = set()

    def _first_time(self, event_id: uuid.UUID, at: float, delta: int) -> bool:
        key = event_id.hex
        if key in self._recent_set:
            return False
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0][0])
        self._recent.append((key, at, delta))
        self._recent_set.add(key)
        return True

    def apply(self, delta: ZoneDelta) -> OccupancyChanged | None:
        """Fold one delta; return the resulting change, or None for a duplicate."""
        if not self._first_time(delta.crossing_id, delta.occurred_at.timestamp(), delta.delta):
            return None
        clamped = False
        if delta.occurred_at.timestamp() <= self.corrected_at:
            # It happened before a calibration or reset that was applied already:
            # the corrected occupancy includes it. Entries and exits still count.
            if delta.delta > 0:
                self.entries += 1
            else:
                self.exits += 1
        elif delta.delta > 0:
            self.entries += 1
            self.occupancy += 1
        else:
            self.exits += 1
            if self.occupancy == 0:
                clamped = True
                self.clamped_total += 1
            else:
                self.occupancy -= 1
        return self._changed(delta.occurred_at, "crossing", delta.crossing_id, clamped)

    def apply_command(
        self, command: OccupancyCalibrated | OccupancyReset
    ) -> OccupancyChanged | None:
        """Set occupancy from a calibration or a scheduled reset; None for a duplicate.

        Entries and exits are facts and stay as they are; only the occupancy,
        which drifts with every missed crossing, is corrected.
        """
        if isinstance(command, OccupancyReset):
            # A reset older than the last one applied is a re-emission (a restarted
            # worker) and must not zero the counts gathered since.
            if command.at.timestamp() <= self.last_reset_at:
                return None
            self.last_reset_at = command.at.timestamp()
        at = command.at.timestamp()
        if not self._first_time(command.id, at, 0):
            return None
        # Deltas that happened after the correction's instant but were applied
        # before it arrived still count, on top of the corrected value.
        since = sum(d for _, t, d in list(self._recent)[:-1] if t > at)
        self.occupancy = max(0, command.occupancy + since)
        self.corrected_at = max(self.corrected_at, at)
        cause = "calibration" if isinstance(command, OccupancyCalibrated) else "reset"
        return self._changed(command.at, cause, command.id, False)

    def _changed(
        self, at: datetime, cause: str, cause_id: uuid.UUID, clamped: bool
    ) -> OccupancyChanged:
        self.version += 1
        return OccupancyChanged(
            id=occupancy_change_id(self.zone_id, cause_id),
            zone_id=self.zone_id,
            occupancy=self.occupancy,
            entries=self.entries,
            exits=self.exits,
            version=self.version,
            at=at,
            cause=cause,
            cause_id=cause_id,
            clamped=clamped,
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            "zone_id": self.zone_id,
            "occupancy": self.occupancy,
            "entries": self.entries,
            "exits": self.exits,
            "version": self.version,
            "clamped_total": self.clamped_total,
            "last_reset_at": self.last_reset_at,
            "corrected_at": self.corrected_at,
            "recent": [list(r) for r in self._recent],
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> ZoneOccupancy:
        zone = cls(data["zone_id"])
        zone.occupancy = int(data["occupancy"])
        zone.entries = int(data["entries"])
        zone.exits = int(data["exits"])
        zone.version = int(data["version"])
        zone.clamped_total = int(data.get("clamped_total", 0))
        zone.last_reset_at = float(data.get("last_reset_at", 0.0))
        zone.corrected_at = float(data.get("corrected_at", 0.0))
        for r in data.get("recent", []):
            # Older states stored bare ids.
            zone._recent.append(
                (r, 0.0, 0) if isinstance(r, str) else (r[0], float(r[1]), int(r[2]))
            )
        zone._recent_set = {r[0] for r in zone._recent}
        return zone
