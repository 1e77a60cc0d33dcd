"""The crossing state machine: tracked boxes in, ``CrossingEvent`` facts out.

One :class:`LineCounter` per camera holds a small state per track and per line:

* ``side``: the side of the line the track was last *confirmed* on (-1 left,
  +1 right, 0 not yet known). Confirmed means at least ``min_distance_px``
  away from the line for ``min_frames`` consecutive frames, so jitter around
  the line never flips it.
* ``crossed``: whether the track's *path* (the segment between consecutive
  anchor positions) has met the line segment since the last confirmation.
  Testing the path rather than the position is what keeps fast walkers at a
  low frame rate counted.

A crossing is emitted when the confirmed side flips and the path met the line
on the way. A U-turn after touching the line returns to the old side and
clears ``crossed``; going round the end of the line flips the side without
``crossed`` and counts nothing. Re-entries count again: state is per track
and per line, never "counted once per id".

The state is plain data (:meth:`LineCounter.state_dict`) so a Faust table,
a replay or a benchmark can hold it; the counter is pure and deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from schemas.config import LineConfig
from schemas.events import CrossingEvent, FrameDetections, crossing_id
from streams.geometry import ANCHORS, segments_intersect

__all__ = ["LineCounter", "TrackState"]


class TrackState:
    """Per-track memory: last anchor per line, last seen time, per-line state."""

    __slots__ = ("crossed", "crossed_at", "crossed_seq", "far", "last_seen", "pos", "side")

    def __init__(self, n_lines: int) -> None:
        self.pos: list[tuple[float, float] | None] = [None] * n_lines
        self.last_seen = 0.0
        self.side = [0] * n_lines
        self.crossed = [False] * n_lines
        self.far = [0] * n_lines
        self.crossed_seq = [0] * n_lines
        self.crossed_at = [0.0] * n_lines

    def to_list(self) -> list[Any]:
        return [
            [list(p) if p is not None else None for p in self.pos],
            self.last_seen,
            self.side,
            self.crossed,
            self.far,
            self.crossed_seq,
            self.crossed_at,
        ]

    @classmethod
    def from_list(cls, data: list[Any]) -> TrackState:
        pos, last_seen, side, crossed, far, crossed_seq, crossed_at = data
        state = cls(len(side))
        state.pos = [tuple(p) if p is not None else None for p in pos]
        state.last_seen = float(last_seen)
        state.side = list(side)
        state.crossed = list(crossed)
        state.far = list(far)
        state.crossed_seq = list(crossed_seq)
        state.crossed_at = list(crossed_at)
        return state


class LineCounter:
    """Counts crossings of one camera's lines.

    Args:
        camera_id: The camera whose frames are fed to :meth:`trigger`.
        lines: That camera's counting lines.
        config_version: Stamped on every event (see ``PlantConfig.version``).
        track_ttl_s: A track unseen for this long (event time, seconds) is
            forgotten, so memory stays bounded on streams that run for months.
        run: Recount run id; empty for live counting. Part of every event id.
    """

    def __init__(
        self,
        camera_id: str,
        lines: Iterable[LineConfig],
        config_version: str,
        track_ttl_s: float = 10.0,
        run: str = "",
    ) -> None:
        self.camera_id = camera_id
        self.lines = tuple(lines)
        self.config_version = config_version
        self.track_ttl_s = track_ttl_s
        self.run = run
        self.tracks: dict[int, TrackState] = {}
        self.last_seq = -1
        self.last_time = 0.0
        self._last_sweep = 0.0
        # Flattened per-line constants for the hot loop.
        self._geo = []
        for ln in self.lines:
            (ax, ay), (bx, by) = ln.points
            dx, dy = bx - ax, by - ay
            inv_len = 1.0 / (dx * dx + dy * dy) ** 0.5
            self._geo.append((ax, ay, bx, by, dx, dy, inv_len, ANCHORS[ln.anchor]))

    def trigger(self, frame: FrameDetections) -> list[CrossingEvent]:
        """Feed one frame; return the crossings it confirmed (usually none).

        Frames at or before the last one seen (capture time, then
        ``frame_seq``) are ignored: a frame redelivered after a restart must
        not move tracks backwards.
        """
        now = frame.captured_at.timestamp()
        # Time first: a restarted producer starts its frame numbers again at 0
        # but its clock goes on.
        if (now, frame.frame_seq) <= (self.last_time, self.last_seq):
            return []
        self.last_seq = frame.frame_seq
        self.last_time = now
        events: list[CrossingEvent] = []
        n_lines = len(self.lines)
        for track in frame.tracks:
            if track.id < 0:
                continue  # unconfirmed track: the tracker itself is unsure
            state = self.tracks.get(track.id)
            if state is None:
                state = self.tracks[track.id] = TrackState(n_lines)
            state.last_seen = now
            for i in range(n_lines):
                ax, ay, bx, by, dx, dy, inv_len, anchor = self._geo[i]
                px, py = anchor(track.box)
                prev = state.pos[i]
                state.pos[i] = (px, py)
                if prev is not None and segments_intersect(
                    prev[0], prev[1], px, py, ax, ay, bx, by
                ):
                    state.crossed[i] = True
                    state.crossed_seq[i] = frame.frame_seq
                    state.crossed_at[i] = now
                line = self.lines[i]
                dist = (dx * (py - ay) - dy * (px - ax)) * inv_len
                if abs(dist) < line.min_distance_px or dist == 0.0:
                    state.far[i] = 0  # inside the jitter band: confirms nothing
                    continue
                s = 1 if dist > 0 else -1
                side = state.side[i]
                if side == 0:
                    state.side[i] = s  # first sighting: learn the side, count nothing
                    state.crossed[i] = False
                elif s == side:
                    state.far[i] = 0
                    state.crossed[i] = False  # back where it was: U-turn or jitter
                else:
                    state.far[i] += 1
                    if state.far[i] < line.min_frames:
                        continue
                    if state.crossed[i]:
                        event = self._event(line, track.id, s, state, i)
                        if event is not None:
                            events.append(event)
                    state.side[i] = s
                    state.crossed[i] = False
                    state.far[i] = 0
        if now - self._last_sweep >= 1.0:
            self._expire(now)
        return events

    def _event(
        self, line: LineConfig, track_id: int, new_side: int, state: TrackState, i: int
    ) -> CrossingEvent | None:
        direction = "in" if new_side > 0 else "out"
        if line.allowed != "both" and line.allowed != direction:
            return None
        seq = state.crossed_seq[i]
        from_zone, to_zone = (
            (line.from_zone, line.to_zone) if direction == "in" else (line.to_zone, line.from_zone)
        )
        return CrossingEvent(
            id=crossing_id(self.camera_id, line.id, track_id, seq, state.crossed_at[i], self.run),
            camera_id=self.camera_id,
            line_id=line.id,
            track_id=track_id,
            frame_seq=seq,
            direction=direction,
            from_zone=from_zone,
            to_zone=to_zone,
            occurred_at=datetime.fromtimestamp(state.crossed_at[i], tz=UTC),
            config_version=self.config_version,
        )

    def _expire(self, now: float) -> None:
        self._last_sweep = now
        horizon = now - self.track_ttl_s
        stale = [tid for tid, st in self.tracks.items() if st.last_seen < horizon]
        for tid in stale:
            del self.tracks[tid]

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state, for a Faust table or a checkpoint."""
        return {
            "config_version": self.config_version,
            "last_seq": self.last_seq,
            "last_time": self.last_time,
            "tracks": {str(tid): st.to_list() for tid, st in self.tracks.items()},
        }

    def load_state(self, data: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output.

        State saved under another configuration version is dropped except for
        the frame position: line indices would not line up.
        """
        self.last_seq = int(data.get("last_seq", -1))
        self.last_time = float(data.get("last_time", 0.0))
        self.tracks = {}
        if data.get("config_version") == self.config_version:
            for tid, st in data.get("tracks", {}).items():
                self.tracks[int(tid)] = TrackState.from_list(st)
