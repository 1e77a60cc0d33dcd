"""Per-track state of a :class:`~streams.core.counting.LineCounter`, and its persistence.

Each live track owns one *row* of a preallocated float64 array of shape
``(rows, planes, lines)``; the planes are listed below. Rows are allocated
when a track appears, freed when it expires (``track_ttl_s`` of event time),
and may be held for a while as flat Python lists by the scalar kernel
(``_py_rows``). :meth:`TrackRows.state_dict` and :meth:`TrackRows.load_state`
turn all of it into plain JSON-ready data and back, so a Faust table, a
replay or a benchmark can hold it.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from schemas.config import LineConfig

__all__ = ["STATE_FORMAT", "BoolArray", "FloatArray", "IntArray", "TrackRows"]

#: Version of :meth:`TrackRows.state_dict`'s layout. State in another layout
#: is dropped on load: only tracks in flight are lost, never counted events.
STATE_FORMAT: Final = 2

# Planes of the per-track state, an array of shape (rows, planes, lines). All
# float64, so one gather and one scatter move a frame's state; the integer
# planes hold small integers and frame numbers, exact below 2**53.
_SIDE, _CROSSED, _FAR, _HIT_SEQ, _HIT_AT, _X, _Y, _ORIENT = range(8)
# What the id-switch tolerance needs: the anchor before the last one, when it
# was seen, and the box height (its unit of distance). Same in every line.
_PREV_X, _PREV_Y, _PREV_SEEN, _HEIGHT = range(8, 12)
_PLANES = 12
# The scalar path moves the planes X, Y and PREV_X .. HEIGHT as slices.
assert (_X, _Y, _ORIENT, _PREV_X, _PREV_Y, _PREV_SEEN, _HEIGHT) == (5, 6, 7, 8, 9, 10, 11)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class TrackRows:
    """The rows of per-track state: allocation, expiry, persistence.

    A base of :class:`~streams.core.counting.LineCounter`, whose constructor
    sets the attributes declared here and then calls :meth:`_reset_tracks`.
    """

    lines: tuple[LineConfig, ...]
    config_version: str
    track_ttl_s: float
    last_seq: int
    last_time: float
    _last_sweep: float

    def _reset_tracks(self, capacity: int) -> None:
        self._rows: dict[int, int] = {}
        # Rows seen in the last frame with tracks, and rows that vanished near
        # a line since (row -> when last seen): the id-switch candidates.
        self._present: set[int] = set()
        self._lost: dict[int, tuple[float, ...]] = {}
        self._free: list[int] = list(range(capacity - 1, -1, -1))
        self._state: FloatArray = np.zeros((capacity, _PLANES, len(self.lines)))
        # When each row was last seen: a list, as the scalar path reads and
        # writes single entries (an array's cost a tenth of a microsecond each).
        self._seen: list[float] = [0.0] * capacity
        self._track_of_row: IntArray = np.full(capacity, -1, dtype=np.int64)
        # Rows last stepped by the scalar path, held as flat Python lists
        # (planes after planes) and newer than their row of ``_state``.
        self._py_rows: dict[int, list[float]] = {}

    def _grow(self) -> None:
        old = len(self._seen)
        new = old * 2

        def bigger(a: Any, fill: float = 0.0) -> Any:
            out = np.full((new, *a.shape[1:]), fill, dtype=a.dtype)
            out[:old] = a
            return out

        self._state = bigger(self._state)
        self._seen.extend([0.0] * old)
        self._track_of_row = bigger(self._track_of_row, -1)
        self._free.extend(range(new - 1, old - 1, -1))

    def _allocate(self, track_id: int) -> int:
        if not self._free:
            self._grow()
        row = self._free.pop()
        self._rows[track_id] = row
        self._track_of_row[row] = track_id
        return row

    def _release(self, row: int) -> None:
        self._present.discard(row)
        self._lost.pop(row, None)
        self._py_rows.pop(row, None)
        del self._rows[int(self._track_of_row[row])]
        self._track_of_row[row] = -1
        self._free.append(row)

    @property
    def track_ids(self) -> frozenset[int]:
        """Ids of the tracks whose state is currently held."""
        return frozenset(self._rows)

    def _flush(self) -> None:
        """Write the rows held as Python lists (by :meth:`_step_scalar`) back
        into the state array, before numpy reads it."""
        cache = self._py_rows
        if cache:
            rows = list(cache)
            self._state[rows] = np.array(list(cache.values()), dtype=np.float64).reshape(
                len(rows), _PLANES, len(self.lines)
            )
            cache.clear()

    def _row_state(self, row: int) -> list[float]:
        """One row's state, planes after planes, wherever it is held."""
        held = self._py_rows.get(row)
        return self._state[row].ravel().tolist() if held is None else held

    def _expire(self, now: float) -> None:
        self._last_sweep = now
        if not self._rows:
            return
        stale = np.flatnonzero(
            (self._track_of_row >= 0) & (np.array(self._seen) < now - self.track_ttl_s)
        )
        for row in stale.tolist():
            self._release(row)

    # ------------------------------------------------------------ persistence

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state, for a Faust table or a checkpoint.

        Called by the crossings agent after every frame; tracks are listed in
        id order so equal states serialise equally.
        """
        ids = sorted(self._rows)
        rows = [self._rows[t] for t in ids]
        return {
            "format": STATE_FORMAT,
            "config_version": self.config_version,
            "last_seq": self.last_seq,
            "last_time": self.last_time,
            "last_sweep": self._last_sweep,
            "tracks": {
                "ids": ids,
                "seen": [self._seen[r] for r in rows],
                "state": self._state_lists(rows),
                "present": sorted(int(self._track_of_row[r]) for r in self._present),
                "lost": {str(self._track_of_row[r]): list(v) for r, v in self._lost.items()},
            },
        }

    def _state_lists(self, rows: list[int]) -> list[list[list[float]]]:
        """``self._state[rows].tolist()``, with the rows held as Python lists."""
        cache = self._py_rows
        if not cache:
            return self._state[rows].tolist()
        n = len(self.lines)
        planes = [slice(p, p + n) for p in range(0, _PLANES * n, n)]
        out = []
        for row in rows:
            held = cache.get(row)
            if held is None:
                out.append(self._state[row].tolist())
            else:
                out.append([held[p] for p in planes])
        return out

    def load_state(self, data: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output.

        State saved under another configuration version or layout is dropped
        except for the frame position: line indices would not line up.
        """
        self.last_seq = int(data.get("last_seq", -1))
        self.last_time = float(data.get("last_time", 0.0))
        self._last_sweep = float(data.get("last_sweep", 0.0))
        tracks = data.get("tracks")
        ids = tracks.get("ids", []) if isinstance(tracks, dict) else []
        usable = (
            data.get("format") == STATE_FORMAT
            and data.get("config_version") == self.config_version
            and bool(ids)
        )
        capacity = 64
        while usable and capacity < len(ids):
            capacity *= 2
        self._reset_tracks(capacity)
        if not usable or not isinstance(tracks, dict):
            return
        rows = [self._allocate(int(t)) for t in ids]
        n = len(ids)
        for row, when in zip(rows, tracks["seen"], strict=True):
            self._seen[row] = float(when)
        self._state[rows] = np.asarray(tracks["state"], dtype=np.float64).reshape(
            n, _PLANES, len(self.lines)
        )
        self._present = {
            self._rows[int(t)] for t in tracks.get("present", []) if int(t) in self._rows
        }
        self._lost = {
            self._rows[int(t)]: tuple(float(v) for v in lost)
            for t, lost in tracks.get("lost", {}).items()
            if int(t) in self._rows
        }
