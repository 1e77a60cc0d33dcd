"""Scene simulator: people walking through a plant's doors, with exact ground truth.

Each simulated person arrives through a gate, wanders between zones through
the configured lines and (mostly) leaves again. Every walk across a line is
rendered as a track on that line's camera: a box whose bottom-centre moves
from one side of the line to the other at walking speed. The simulator knows
where everybody is, so it knows the true entries, exits and occupancy of
every zone and the true in/out count of every line.

The scene generation is pure (seeded, no I/O); ``python -m
producers.simulation`` (:mod:`producers.simulation.cli`) publishes it to Kafka
at real-time pace or as fast as possible.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from schemas.config import OUTSIDE, LineConfig, PlantConfig
from schemas.events import FrameDetections, Track

__all__ = ["GroundTruth", "Scene", "Walk"]

logger = logging.getLogger(__name__)

BOX_W = 60.0  # pixels
BOX_H = 150.0


@dataclass(frozen=True)
class Walk:
    """One person crossing one line, as a camera sees it."""

    line: LineConfig
    direction: str  # "in" or "out"
    start: float  # seconds from scene start
    duration: float  # seconds
    cross_at: float  # 0..1 along the line
    track_id: int
    approach_px: float
    drift_px: float  # sideways drift along the line over the walk


@dataclass
class GroundTruth:
    """What really happened: per zone entries/exits/occupancy, per line in/out."""

    zones: dict[str, dict[str, int]] = field(default_factory=dict)
    lines: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def crossings(self) -> int:
        return sum(v["in"] + v["out"] for v in self.lines.values())


class Scene:
    """A seeded scene over a plant configuration.

    Args:
        plant: The plant (zones, cameras, lines).
        people: How many people arrive.
        seed: Random seed; the same seed gives the same scene.
        fps: Frames per second of every camera.
        arrival_window_s: People arrive spread over this many seconds.
        stay_fraction: Share of people still inside when the scene ends.
        start: Capture time of the first frame (UTC).
    """

    def __init__(
        self,
        plant: PlantConfig,
        people: int = 200,
        seed: int = 7,
        fps: float = 10.0,
        arrival_window_s: float = 60.0,
        stay_fraction: float = 0.2,
        start: datetime | None = None,
    ) -> None:
        self.plant = plant
        self.fps = fps
        self.start = start or datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
        self.rng = random.Random(seed)
        self.walks: list[Walk] = []
        self.truth = GroundTruth(
            zones={z.id: {"entries": 0, "exits": 0, "occupancy": 0} for z in plant.zones},
            lines={ln.id: {"in": 0, "out": 0} for ln in plant.lines},
        )
        self._parents = {z.id: z.parent for z in plant.zones}
        # Distinct track ids per seed, so consecutive scenes on one camera
        # never reuse an id a counter may still remember.
        first_id = (seed % 1000) * 100_000 + 1
        self._next_track: dict[str, int] = {c.id: first_id for c in plant.cameras}
        for _ in range(people):
            self._person(self.rng.uniform(0.0, arrival_window_s), stay_fraction)
        self.walks.sort(key=lambda w: w.start)
        self.duration = max((w.start + w.duration for w in self.walks), default=0.0) + 2.0

    def _containing(self, zone: str) -> set[str]:
        out = set()
        z: str | None = None if zone == OUTSIDE else zone
        while z is not None:
            out.add(z)
            z = self._parents[z]
        return out

    def _move(self, line: LineConfig, direction: str, t: float) -> float:
        src, dst = (
            (line.from_zone, line.to_zone) if direction == "in" else (line.to_zone, line.from_zone)
        )
        before, after = self._containing(src), self._containing(dst)
        for z in before - after:
            self.truth.zones[z]["exits"] += 1
            self.truth.zones[z]["occupancy"] -= 1
        for z in after - before:
            self.truth.zones[z]["entries"] += 1
            self.truth.zones[z]["occupancy"] += 1
        self.truth.lines[line.id][direction] += 1
        duration = self.rng.uniform(1.2, 2.4)
        track_id = self._next_track[line.camera_id]
        self._next_track[line.camera_id] += 1
        self.walks.append(
            Walk(
                line=line,
                direction=direction,
                start=t,
                duration=duration,
                cross_at=self.rng.uniform(0.1, 0.9),
                track_id=track_id,
                approach_px=self.rng.uniform(60.0, 110.0),
                drift_px=self.rng.uniform(-30.0, 30.0),
            )
        )
        return t + duration

    def _person(self, t: float, stay_fraction: float) -> None:
        where = OUTSIDE
        gates = [ln for ln in self.plant.lines if OUTSIDE in (ln.from_zone, ln.to_zone)]
        leave = self.rng.random() >= stay_fraction
        trips = self.rng.randint(0, 3)
        while True:
            if where == OUTSIDE:
                if not gates:
                    return
                line = self.rng.choice(gates)
            else:
                options = [ln for ln in self.plant.lines if where in (ln.from_zone, ln.to_zone)]
                inner = [ln for ln in options if OUTSIDE not in (ln.from_zone, ln.to_zone)]
                if trips > 0 and inner:
                    line = self.rng.choice(inner)
                    trips -= 1
                elif leave:
                    # Head for the exit: take a line towards outside, or back
                    # towards the zone that leads there.
                    out = [ln for ln in options if OUTSIDE in (ln.from_zone, ln.to_zone)]
                    line = self.rng.choice(out or options)
                else:
                    return
            direction = "in" if where == line.from_zone else "out"
            t = self._move(line, direction, t)
            where = line.to_zone if direction == "in" else line.from_zone
            if where == OUTSIDE:
                return
            t += self.rng.uniform(2.0, 20.0)

    def _box(self, w: Walk, t: float) -> tuple[float, float, float, float]:
        (ax, ay), (bx, by) = w.line.points
        dx, dy = bx - ax, by - ay
        length = (dx * dx + dy * dy) ** 0.5
        ux, uy = dx / length, dy / length
        nx, ny = -uy, ux  # towards the right-hand ("in") side
        sign = 1.0 if w.direction == "in" else -1.0
        f = (t - w.start) / w.duration  # 0..1 along the walk
        cx = ax + dx * w.cross_at
        cy = ay + dy * w.cross_at
        along = w.drift_px * (f - 0.5)
        across = sign * w.approach_px * (2.0 * f - 1.0)
        fx = cx + ux * along + nx * across
        fy = cy + uy * along + ny * across
        return (fx - BOX_W / 2, fy - BOX_H, fx + BOX_W / 2, fy)

    def truth_for(self, line: LineConfig) -> dict[str, int]:
        """True in/out counts of any line on a camera, e.g. one moved for a recount.

        Each walk's feet move in a straight line, so a walk crosses ``line``
        exactly when that straight path meets the line segment; the direction
        is the side it ends on. Computed from the walk geometry, not frames.
        """
        (ax, ay), (bx, by) = line.points
        counts = {"in": 0, "out": 0}
        for w in self.walks:
            if w.line.camera_id != line.camera_id:
                continue
            x0, y0 = _feet(self._box(w, w.start))
            x1, y1 = _feet(self._box(w, w.start + w.duration))
            if not _proper_cross(x0, y0, x1, y1, ax, ay, bx, by):
                continue
            side_end = (bx - ax) * (y1 - ay) - (by - ay) * (x1 - ax)
            counts["in" if side_end > 0 else "out"] += 1
        return counts

    def frames(self) -> Iterator[FrameDetections]:
        """Every camera's frames in capture-time order (cameras interleaved)."""
        cameras = self.plant.cameras
        per_camera: dict[str, list[Walk]] = {c.id: [] for c in cameras}
        for w in self.walks:
            per_camera[w.line.camera_id].append(w)
        n_frames = int(self.duration * self.fps) + 1
        cursor = dict.fromkeys(per_camera, 0)
        active: dict[str, list[Walk]] = {c.id: [] for c in cameras}
        for k in range(n_frames):
            t = k / self.fps
            captured = self.start + timedelta(seconds=t)
            for cam in cameras:
                walks = per_camera[cam.id]
                i = cursor[cam.id]
                while i < len(walks) and walks[i].start <= t:
                    active[cam.id].append(walks[i])
                    i += 1
                cursor[cam.id] = i
                live = [w for w in active[cam.id] if t <= w.start + w.duration]
                active[cam.id] = live
                yield FrameDetections(
                    camera_id=cam.id,
                    frame_seq=k,
                    captured_at=captured,
                    frame_width=cam.width,
                    frame_height=cam.height,
                    tracks=tuple(
                        Track(id=w.track_id, box=self._box(w, t), confidence=0.9) for w in live
                    ),
                )


def _feet(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, box[3]


def _proper_cross(
    px: float, py: float, qx: float, qy: float, ax: float, ay: float, bx: float, by: float
) -> bool:
    def orient(x1: float, y1: float, x2: float, y2: float, x3: float, y3: float) -> float:
        return (x2 - x1) * (y3 - y1) - (y2 - y1) * (x3 - x1)

    d1, d2 = orient(ax, ay, bx, by, px, py), orient(ax, ay, bx, by, qx, qy)
    d3, d4 = orient(px, py, qx, qy, ax, ay), orient(px, py, qx, qy, bx, by)
    return d1 * d2 < 0 and d3 * d4 < 0
