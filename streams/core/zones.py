"""Zones as a graph, and the per-zone occupancy reducer.

Every line moves people from one zone to another. With nested zones a single
crossing changes several: walking from the yard (outside) into the lobby of
the facility enters both the lobby and the facility; walking from the lobby
into the workshop enters the workshop and leaves the lobby, while the facility
does not change. :meth:`ZoneGraph.effects` computes exactly that, from the
zones' ``parent`` links.

:class:`ZoneOccupancy` folds a zone's inputs in *event-time* order, not in
arrival order: see its docstring for how the order is settled and what is
provisional.
"""

from __future__ import annotations

import math
import uuid
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from schemas.config import OUTSIDE, LineConfig, ZoneConfig
from schemas.events import (
    CrossingEvent,
    OccupancyChanged,
    SourceProgress,
    ZoneDelta,
    occupancy_change_id,
)
from schemas.operations import OccupancyCalibrated, OccupancyReset

__all__ = ["ZoneGraph", "ZoneInput", "ZoneOccupancy", "parse_zone_input"]

#: What a zone's partition carries: deltas and progress marks from the
#: crossings agent, corrections from operators and the schedule.
ZoneInput = ZoneDelta | SourceProgress | OccupancyCalibrated | OccupancyReset

_INPUT: TypeAdapter[ZoneInput] = TypeAdapter(ZoneInput)


def parse_zone_input(raw: bytes | str) -> ZoneInput:
    """Validate one record of a zone's inputs (raises ``pydantic.ValidationError``)."""
    return _INPUT.validate_json(raw)


class ZoneGraph:
    """Zone containment, from each zone's ``parent``."""

    def __init__(self, zones: Iterable[ZoneConfig], lines: Iterable[LineConfig] = ()) -> None:
        self._parent = {z.id: z.parent for z in zones}
        self._chains: dict[str, tuple[str, ...]] = {}
        for zone_id in self._parent:
            chain = []
            z: str | None = zone_id
            while z is not None:
                chain.append(z)
                z = self._parent[z]
            self._chains[zone_id] = tuple(chain)
        sources: dict[str, set[str]] = {z: set() for z in self._parent}
        fed: dict[str, set[str]] = {}
        for line in lines:
            for zone, _ in self.effects(line.from_zone, line.to_zone):
                sources[zone].add(line.camera_id)
                fed.setdefault(line.camera_id, set()).add(zone)
        self._sources = {z: frozenset(c) for z, c in sources.items()}
        self._fed = {c: tuple(sorted(z)) for c, z in fed.items()}

    def sources_of(self, zone_id: str) -> frozenset[str]:
        """The cameras whose lines change ``zone_id`` (from the lines given)."""
        return self._sources.get(zone_id, frozenset())

    def zones_fed_by(self, camera_id: str) -> tuple[str, ...]:
        """The zones whose occupancy ``camera_id``'s lines change, sorted."""
        return self._fed.get(camera_id, ())

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

    def deltas(
        self, crossing: CrossingEvent, source_time: datetime | None = None
    ) -> list[ZoneDelta]:
        """The per-zone deltas of one crossing, ready to publish keyed by zone.

        Args:
            crossing: The crossing.
            source_time: Capture time of the frame that confirmed it (UTC); by
                default the crossing's own time.
        """
        return [
            ZoneDelta(
                zone_id=zone,
                crossing_id=crossing.id,
                delta=d,
                camera_id=crossing.camera_id,
                line_id=crossing.line_id,
                occurred_at=crossing.occurred_at,
                source_time=source_time or crossing.occurred_at,
            )
            for zone, d in self.effects(crossing.from_zone, crossing.to_zone)
        ]


# Sort rank of an input among those at the same instant: crossings first, then
# corrections (a count "at 10:00" includes whoever crossed at 10:00).
_RANK_DELTA = 0
_RANK_COMMAND = 1

_Key = tuple[float, int, str]


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


class _RecentIds:
    """The newest ``size`` ids, for de-duplication with bounded memory."""

    def __init__(self, size: int) -> None:
        self._order: deque[str] = deque(maxlen=size)
        self._set: set[str] = set()

    def __contains__(self, key: str) -> bool:
        return key in self._set

    def add(self, key: str) -> bool:
        """Remember ``key``; False if it was remembered already."""
        if key in self._set:
            return False
        if len(self._order) == self._order.maxlen:
            self._set.discard(self._order[0])
        self._order.append(key)
        self._set.add(key)
        return True

    def ids(self) -> list[str]:
        return list(self._order)


class ZoneOccupancy:
    """Occupancy of one zone, folded from its inputs in event-time order.

    Why: occupancy is order-sensitive (an exit from an empty zone is clamped
    at zero; alerts have hysteresis), and a zone is fed by several cameras
    whose partitions interleave differently live, after a backlog or after a
    restart. So inputs are not folded as they arrive. Each waits in a pending
    set until the zone's *settle point* passes it, and is then folded in the
    order ``(event time, crossings before corrections, id)``; the result is the
    same whatever the arrival order.

    The settle point is the smallest progress of the cameras that feed the
    zone (``sources``). A camera's progress comes from its deltas and from
    :class:`SourceProgress` marks, and is exact: the crossings agent sends a
    camera's deltas and marks to the zone's partition in frame order, so once
    camera C has reached time t, no delta of C at or before t is still to
    come. A delta's time is its ``source_time``, the capture time of the
    frame that confirmed it, which never goes backwards per camera.

    Bounded waiting: a source whose progress has not moved for
    ``stall_after_s`` wall-clock seconds (a dead camera, a partition nobody
    consumes) stops holding the zone back; when every source has stalled,
    everything pending settles. An input that arrives after its time was
    settled is *late*: it is folded at once, on top (counted in
    ``late_total``). Only then can the result depend on arrival order.

    Exact de-duplication with bounded memory: per source, the newest
    ``(source_time, crossing id)`` received (the agent sends a frame's deltas
    sorted by crossing id, so this key only grows; a redelivered delta is at
    or below it). Commands are de-duplicated by id, the newest
    ``COMMAND_MEMORY`` remembered.

    Corrections (calibrations, resets) hold as of their instant ``T``: folded
    in order, deltas after ``T`` count on top. A late correction newer than
    the last one re-bases on the settled deltas after ``T`` (the last
    ``LOG_SIZE`` are kept); one older than the last correction is superseded
    and changes nothing. A delta from before the last correction changes
    entries and exits but not occupancy (the count already includes it).

    Args:
        zone_id: The zone.
        sources: Cameras whose lines change this zone. Empty: every input
            settles at once (arrival order), as in tests and tools that feed
            inputs already in order.
        stall_after_s: Wall-clock seconds without progress after which a
            source stops holding the zone back.
    """

    LOG_SIZE = 4096
    COMMAND_MEMORY = 1024

    def __init__(
        self, zone_id: str, sources: Iterable[str] = (), *, stall_after_s: float = 30.0
    ) -> None:
        self.zone_id = zone_id
        self.sources = frozenset(sources)
        self.stall_after_s = stall_after_s
        self.occupancy = 0
        self.entries = 0
        self.exits = 0
        self.version = 0
        self.clamped_total = 0
        self.late_total = 0
        self.last_reset_at = 0.0
        #: Event time (UTC seconds) of the newest calibration or reset folded.
        self.corrected_at = 0.0
        #: Everything at or before this event time (UTC seconds) is folded.
        self.settled_at = -math.inf
        #: Per source: how far its inputs are known to be complete (UTC seconds).
        self.progress: dict[str, float] = {}
        self._high_water: dict[str, tuple[float, str]] = {}
        self._pending: dict[str, tuple[_Key, ZoneInput]] = {}
        # (event time, delta) of the newest folded crossings, for late corrections.
        self._log: deque[tuple[float, int]] = deque(maxlen=self.LOG_SIZE)
        self._commands = _RecentIds(self.COMMAND_MEMORY)
        self._recent = _RecentIds(self.LOG_SIZE)  # delta ids, without sources only
        # Wall time at which each source's progress last moved (not persisted:
        # a restarted worker gives every source a fresh grace period).
        self._moved_at: dict[str, float] = {}

    # ------------------------------------------------------------------ verbs

    @property
    def pending(self) -> int:
        """Inputs received but not yet folded."""
        return len(self._pending)

    def apply(self, item: ZoneInput, wall_now: float | None = None) -> list[OccupancyChanged]:
        """Take one input; return the changes it settled, in event-time order.

        Called by the zone agent for every record of the zone's partition and
        by tools replaying inputs. ``wall_now`` (UTC seconds) enables stall
        detection; ``None`` disables it. The changes may belong to inputs that
        arrived earlier (a progress mark settles what waited for it); an empty
        list means nothing settled yet, or ``item`` was a duplicate.
        """
        if wall_now is not None:
            for s in self.sources:
                self._moved_at.setdefault(s, wall_now)
        if isinstance(item, SourceProgress):
            for camera_id, at in item.marks.items():
                if camera_id in self.sources or not self.sources:
                    self._advance(camera_id, at.timestamp(), wall_now)
            return self.settle(wall_now)
        if isinstance(item, ZoneDelta):
            t = item.position_time.timestamp()
            hw = (t, item.crossing_id.hex)
            if not self.sources:
                # Tools feeding their own order: no per-source order to rely on,
                # so de-duplicate by the ids of the newest LOG_SIZE deltas.
                if not self._recent.add(item.crossing_id.hex):
                    return []
            elif hw <= self._high_water.get(item.camera_id, (-math.inf, "")):
                return []  # redelivered
            self._high_water[item.camera_id] = max(
                hw, self._high_water.get(item.camera_id, (-math.inf, ""))
            )
            # Deltas of one frame come sorted by id; the frame's later ones
            # may still follow, so progress stops just short of t.
            self._advance(item.camera_id, math.nextafter(t, -math.inf), wall_now)
            key: _Key = (t, _RANK_DELTA, item.crossing_id.hex)
        else:
            cid = item.id.hex
            if cid in self._commands or cid in self._pending:
                return []
            key = (item.at.timestamp(), _RANK_COMMAND, cid)
        if not self.sources:
            return self._fold(item, key[0], late=True)  # arrival order, by request
        if key[0] <= self.settled_at:
            self.late_total += 1
            changed = self._fold(item, key[0], late=True)
            return [*changed, *self.settle(wall_now)]
        self._pending[key[2]] = (key, item)
        return self.settle(wall_now)

    def settle(self, wall_now: float | None = None) -> list[OccupancyChanged]:
        """Fold every pending input at or before the settle point, in order."""
        point = self.settle_point(wall_now)
        if point <= self.settled_at and not self._pending:
            return []
        ready = sorted((e for e in self._pending.values() if e[0][0] <= point), key=lambda e: e[0])
        out: list[OccupancyChanged] = []
        for key, item in ready:
            del self._pending[key[2]]
            out += self._fold(item, key[0], late=False)
        if point > self.settled_at:
            self.settled_at = point
        return out

    def settle_point(self, wall_now: float | None = None) -> float:
        """The event time (UTC seconds) up to which inputs can be folded now."""
        if not self.sources:
            return -math.inf  # nothing waits: every input is folded on arrival
        holding = [
            s
            for s in self.sources
            if wall_now is None or wall_now - self._moved_at.get(s, wall_now) <= self.stall_after_s
        ]
        if not holding:
            # Every source stalled: nothing is coming that could reorder what
            # waits, so all of it settles.
            known = [*self.progress.values(), *(k[0] for k, _ in self._pending.values())]
            return max(known, default=-math.inf)
        return min(self.progress.get(s, -math.inf) for s in holding)

    # ---------------------------------------------------------------- folding

    def _advance(self, source: str, t: float, wall_now: float | None) -> None:
        if t > self.progress.get(source, -math.inf):
            self.progress[source] = t
            if wall_now is not None:
                self._moved_at[source] = wall_now

    def _fold(self, item: ZoneInput, t: float, *, late: bool) -> list[OccupancyChanged]:
        if isinstance(item, ZoneDelta):
            return [self._fold_delta(item, t)]
        if isinstance(item, OccupancyCalibrated | OccupancyReset):
            change = self._fold_command(item, t, late=late)
            return [change] if change is not None else []
        return []

    def _fold_delta(self, delta: ZoneDelta, t: float) -> OccupancyChanged:
        clamped = False
        if delta.delta > 0:
            self.entries += 1
        else:
            self.exits += 1
        if t <= self.corrected_at:
            # Before a correction folded already: the corrected occupancy
            # includes it (only a late delta gets here).
            pass
        elif delta.delta > 0:
            self.occupancy += 1
        elif self.occupancy == 0:
            clamped = True
            self.clamped_total += 1
        else:
            self.occupancy -= 1
        self._log.append((t, delta.delta))
        return self._changed(t, "crossing", delta.crossing_id, clamped)

    def _fold_command(
        self, command: OccupancyCalibrated | OccupancyReset, t: float, *, late: bool
    ) -> OccupancyChanged | None:
        self._commands.add(command.id.hex)
        if isinstance(command, OccupancyReset):
            # A reset at or before the last one is a re-emission (a restarted
            # worker) and must not zero the counts gathered since.
            if t <= self.last_reset_at:
                return None
            self.last_reset_at = t
        if t <= self.corrected_at:
            return None  # superseded by a newer correction folded already
        since = sum(d for at, d in self._log if at > t) if late else 0
        self.occupancy = max(0, command.occupancy + since)
        self.corrected_at = t
        cause = "calibration" if isinstance(command, OccupancyCalibrated) else "reset"
        return self._changed(t, cause, command.id, False)

    def _changed(
        self, t: float, cause: str, cause_id: uuid.UUID, clamped: bool
    ) -> OccupancyChanged:
        self.version += 1
        return OccupancyChanged(
            id=occupancy_change_id(self.zone_id, cause_id),
            zone_id=self.zone_id,
            occupancy=self.occupancy,
            entries=self.entries,
            exits=self.exits,
            version=self.version,
            at=_ts(t),
            cause=cause,
            cause_id=cause_id,
            clamped=clamped,
        )

    # ------------------------------------------------------------ persistence

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state (for the ``zone-state`` table); see :meth:`from_state`."""
        return {
            "zone_id": self.zone_id,
            "occupancy": self.occupancy,
            "entries": self.entries,
            "exits": self.exits,
            "version": self.version,
            "clamped_total": self.clamped_total,
            "late_total": self.late_total,
            "last_reset_at": self.last_reset_at,
            "corrected_at": self.corrected_at,
            "settled_at": None if self.settled_at == -math.inf else self.settled_at,
            "progress": dict(self.progress),
            "high_water": {s: list(k) for s, k in self._high_water.items()},
            "pending": [item.model_dump(mode="json") for _, item in self._pending.values()],
            "log": [list(e) for e in self._log],
            "commands": self._commands.ids(),
            "recent": self._recent.ids(),
        }

    @classmethod
    def from_state(
        cls, data: dict[str, Any], sources: Iterable[str] = (), *, stall_after_s: float = 30.0
    ) -> ZoneOccupancy:
        """Rebuild from :meth:`state_dict` (sources come from the configuration)."""
        zone = cls(data["zone_id"], sources, stall_after_s=stall_after_s)
        zone.occupancy = int(data["occupancy"])
        zone.entries = int(data["entries"])
        zone.exits = int(data["exits"])
        zone.version = int(data["version"])
        zone.clamped_total = int(data.get("clamped_total", 0))
        zone.late_total = int(data.get("late_total", 0))
        zone.last_reset_at = float(data.get("last_reset_at", 0.0))
        zone.corrected_at = float(data.get("corrected_at", 0.0))
        settled = data.get("settled_at")
        zone.settled_at = -math.inf if settled is None else float(settled)
        zone.progress = {s: float(t) for s, t in data.get("progress", {}).items()}
        zone._high_water = {
            s: (float(k[0]), str(k[1])) for s, k in data.get("high_water", {}).items()
        }
        for raw in data.get("pending", []):
            item = _INPUT.validate_python(raw)
            if isinstance(item, ZoneDelta):
                key: _Key = (item.position_time.timestamp(), _RANK_DELTA, item.crossing_id.hex)
            elif isinstance(item, SourceProgress):
                continue
            else:
                key = (item.at.timestamp(), _RANK_COMMAND, item.id.hex)
            zone._pending[key[2]] = (key, item)
        zone._log.extend((float(t), int(d)) for t, d in data.get("log", []))
        for cid in data.get("commands", []):
            zone._commands.add(str(cid))
        for r in data.get("recent", []):
            if isinstance(r, str):
                zone._recent.add(r)
        return zone
