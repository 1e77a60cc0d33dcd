"""The ``CrossingEvent`` of a confirmed crossing.

:func:`crossing_event` builds it the plain way (``crossing_id`` and pydantic
validation); :class:`CrossingEvents` builds the very same event for the
kernels, at a fifth of the cost: the line's part of the event (zones,
direction, the start of the id's hash) is prepared once, and the model is
assembled without validation, its values being valid by construction.
``tests/unit/streams/core/counting/test_events.py`` checks the two against
each other, down to the serialised bytes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from schemas.config import LineConfig
from schemas.events import EVENT_NAMESPACE, CrossingEvent, crossing_id

__all__ = ["CrossingEvents", "crossing_event"]


def crossing_event(
    line: LineConfig,
    track_id: int,
    inward: bool,
    seq: int,
    at: float,
    *,
    camera_id: str,
    run: str,
    config_version: str,
) -> CrossingEvent | None:
    """The event of a crossing of ``line``, or None where the line allows only the other way.

    Args:
        line: The line crossed.
        track_id: The tracker's id of the person.
        inward: True for a crossing towards the line's "in" (right-hand) side.
        seq: Frame number of the frame in which the path last met the line.
        at: Capture time of that frame (UTC seconds).
        camera_id: The line's camera.
        run: Recount run id (empty for live counting); part of the event id.
        config_version: ``PlantConfig.version`` stamped on the event.
    """
    direction = "in" if inward else "out"
    if line.allowed != "both" and line.allowed != direction:
        return None
    from_zone, to_zone = (
        (line.from_zone, line.to_zone) if inward else (line.to_zone, line.from_zone)
    )
    return CrossingEvent(
        id=crossing_id(camera_id, line.id, track_id, seq, at, run),
        camera_id=camera_id,
        line_id=line.id,
        track_id=track_id,
        frame_seq=seq,
        direction=direction,
        from_zone=from_zone,
        to_zone=to_zone,
        occurred_at=datetime.fromtimestamp(at, tz=UTC),
        config_version=config_version,
    )


# uuid5's version and variant bits, as ``uuid.UUID(bytes=..., version=5)`` sets them.
_UUID5_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID5_SET = (5 << 76) | (0x8000 << 48)
# The fields a validated CrossingEvent holds as set: those passed to it (the
# type tag and schema version are defaults). ``model_fields_set`` of the fast
# events must be the same, as ``exclude_unset`` dumps depend on it.
_FIELDS_SET = frozenset(CrossingEvent.model_fields) - {"type", "schema_version"}
_new = object.__new__
_set = object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown


class CrossingEvents:
    """Builds the ``CrossingEvent`` of a crossing of one camera's lines, fast.

    Equal to :func:`crossing_event` in every respect (value, id, field set,
    JSON), for the same arguments. Built once per counter.

    Args:
        lines: The camera's lines; events name them by index.
        camera_id: The lines' camera.
        run: Recount run id (empty for live counting); part of the event id.
        config_version: ``PlantConfig.version`` stamped on the event.
    """

    def __init__(
        self, lines: Sequence[LineConfig], *, camera_id: str, run: str, config_version: str
    ) -> None:
        # Per line and direction (index 2 * line + inward): the fixed fields,
        # or None where the line does not count that way.
        self._fixed: list[dict[str, Any] | None] = []
        # The fixed fields are valid by construction only if what the counter
        # was given is valid: the first event of each line and direction is
        # built the validated way, and fails as it always did if not.
        self._checked: set[int] = set()
        self._lines = tuple(lines)
        self._camera_id, self._run, self._config_version = camera_id, run, config_version
        # Per line: the SHA-1 state after the namespace and the id's fixed
        # start (see ``schemas.events.crossing_id``), copied for each event.
        self._hash_start: list[Any] = []
        for line in lines:
            start = f"crossing|{run}|{camera_id}|{line.id}|".encode()
            self._hash_start.append(hashlib.sha1(EVENT_NAMESPACE.bytes + start))
            for inward in (False, True):
                direction = "in" if inward else "out"
                allowed = line.allowed == "both" or line.allowed == direction
                from_zone, to_zone = (
                    (line.from_zone, line.to_zone) if inward else (line.to_zone, line.from_zone)
                )
                # The event's fields in declaration order; the four that
                # change from event to event are filled in per event.
                self._fixed.append(
                    {
                        "type": "CrossingEvent",
                        "schema_version": 1,
                        "id": None,
                        "camera_id": camera_id,
                        "line_id": line.id,
                        "track_id": None,
                        "frame_seq": None,
                        "direction": direction,
                        "from_zone": from_zone,
                        "to_zone": to_zone,
                        "occurred_at": None,
                        "config_version": config_version,
                    }
                    if allowed
                    else None
                )

    def event(
        self, line: int, track_id: int, inward: bool, seq: int, at: float
    ) -> CrossingEvent | None:
        """:func:`crossing_event` of the line of index ``line`` (same arguments otherwise)."""
        slot = 2 * line + inward
        fixed = self._fixed[slot]
        if fixed is None:
            return None
        if slot not in self._checked:
            self._checked.add(slot)
            return crossing_event(
                self._lines[line], track_id, inward, seq, at,
                camera_id=self._camera_id, run=self._run, config_version=self._config_version,
            )  # fmt: skip
        h = self._hash_start[line].copy()
        h.update(f"{track_id}|{seq}|{round(at * 1_000_000)}".encode())
        event_id = _new(uuid.UUID)
        _set(event_id, "int", int.from_bytes(h.digest()[:16]) & _UUID5_CLEAR | _UUID5_SET)
        _set(event_id, "is_safe", _UNKNOWN)
        # What ``BaseModel.model_construct`` does, minus its generic work
        # (defaults, aliases, per-field loops): the fields, in declaration
        # order as the template has them.
        fields = fixed.copy()
        fields["id"] = event_id
        fields["track_id"] = track_id
        fields["frame_seq"] = seq
        fields["occurred_at"] = datetime.fromtimestamp(at, tz=UTC)
        event = _new(CrossingEvent)
        _set(event, "__dict__", fields)
        _set(event, "__pydantic_fields_set__", set(_FIELDS_SET))
        _set(event, "__pydantic_extra__", None)
        _set(event, "__pydantic_private__", None)
        return event
