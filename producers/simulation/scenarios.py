"""Named hard scenarios for line counters, each with exact ground truth.

Every scenario is a seeded, pure description of one camera: its counting
lines, the people walking through its view and what they really did. Where
the simple scene of :mod:`producers.simulation.scene` has everybody walk neatly across
one line, these reproduce the situations where counters drift: dense crowds,
groups side by side, detector jitter, people hovering on the line, U-turns,
5 fps, occlusions that make the tracker switch ids, people walking along the
line, and hours of sparse traffic.

How a person is rendered. A person follows a polyline of *waypoints* of their
feet (the bottom centre of their box) at given times; in every frame between
their first and last waypoint, unless an occlusion hides them, they appear as
a box of their own size around the interpolated feet, with Gaussian detector
noise on each box coordinate. Their tracker id may change after an occlusion
(an id switch), and a tracker that confirms tracks late reports ``-1`` for
their first frames.

Ground truth. It is computed from the noise-free waypoints, independently of
the counting core (nothing from ``streams`` is imported here). A person is on
one side of a line while their feet are at least :data:`TRUTH_MARGIN_PX` from
its infinite extension; a crossing is a move from one side to the other along
a path that meets the drawn segment. ``in`` is towards the right-hand side of
``points[0] -> points[1]`` as drawn (see ``schemas.config``). Standing on the
line, touching it and turning back, or walking round its end is no crossing.

Frames are produced lazily (:meth:`Scenario.frames`), so a six-hour scene
costs memory for one frame at a time, and every call yields the same frames.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from schemas.config import LineConfig
from schemas.events import FrameDetections, Track

__all__ = [
    "LINE_SETTINGS",
    "SCENARIOS",
    "TRUTH_MARGIN_PX",
    "Person",
    "Scenario",
    "along_line",
    "busy_floor",
    "dense_crowd",
    "ground_truth",
    "groups",
    "hovering",
    "jitter",
    "long_run",
    "low_fps",
    "occlusions",
    "scenario",
    "u_turns",
]

WIDTH, HEIGHT = 1280, 720
CAMERA = "cam-bench"
START = datetime(2026, 2, 2, 6, 0, tzinfo=UTC)

#: Feet closer than this to a line (pixels) are *on* it for the ground truth:
#: about a foot's length at this scale, several times the detector noise.
TRUTH_MARGIN_PX = 20.0

#: The hysteresis every scenario line is configured with, as an installer of a
#: camera with a few pixels of box jitter would set it (the same for all
#: scenarios: nothing is tuned per scenario).
LINE_SETTINGS: dict[str, float | int] = {"min_distance_px": 12.0, "min_frames": 2}

Waypoint = tuple[float, float, float]  # (t seconds from scene start, x px, y px)
Vec = tuple[float, float]


@dataclass(frozen=True)
class Person:
    """One person as the camera sees them.

    Attributes:
        waypoints: Feet positions ``(t, x, y)``: seconds from the scene's start
            and pixels; linear in between. Visible from the first to the last.
        width: Box width, pixels.
        height: Box height, pixels.
        ids: ``(from_t, track_id)``: the tracker id from that time on.
        hidden: ``[t0, t1)`` intervals (seconds) in which they are not detected.
        noise_px: Standard deviation of the detector noise on each box
            coordinate, pixels.
        unconfirmed_frames: Frames at the start of each id during which the
            tracker reports ``-1`` (not yet confirmed).
    """

    waypoints: tuple[Waypoint, ...]
    width: float
    height: float
    ids: tuple[tuple[float, int], ...]
    hidden: tuple[tuple[float, float], ...] = ()
    noise_px: float = 1.5
    unconfirmed_frames: int = 0

    @property
    def start(self) -> float:
        return self.waypoints[0][0]

    @property
    def end(self) -> float:
        return self.waypoints[-1][0]

    def feet(self, t: float) -> Vec:
        """Noise-free feet position at time ``t`` (clamped to the path)."""
        wp = self.waypoints
        times = [w[0] for w in wp]
        i = bisect_right(times, t)
        if i <= 0:
            return wp[0][1], wp[0][2]
        if i >= len(wp):
            return wp[-1][1], wp[-1][2]
        t0, x0, y0 = wp[i - 1]
        t1, x1, y1 = wp[i]
        f = (t - t0) / (t1 - t0) if t1 > t0 else 1.0
        return x0 + (x1 - x0) * f, y0 + (y1 - y0) * f

    def track_id(self, t: float) -> int:
        tid = self.ids[0][1]
        for since, i in self.ids:
            if t >= since:
                tid = i
        return tid

    def is_hidden(self, t: float) -> bool:
        return any(h0 <= t < h1 for h0, h1 in self.hidden)


@dataclass(frozen=True)
class Scenario:
    """A named scene: lines, people and what really happened.

    Attributes:
        name: Short name, as in :data:`SCENARIOS`.
        description: One sentence on what makes it hard.
        lines: The camera's counting lines.
        people: Everybody who walks through the view.
        truth: Per line id, the true ``{"in": n, "out": n}``.
        fps: Frames per second.
        duration_s: Length of the scene, seconds.
        seed: Seed of the scene (people) and of the detector noise.
    """

    name: str
    description: str
    lines: tuple[LineConfig, ...]
    people: tuple[Person, ...]
    truth: dict[str, dict[str, int]]
    fps: float
    duration_s: float
    seed: int
    camera_id: str = CAMERA
    width: int = WIDTH
    height: int = HEIGHT
    start: datetime = field(default=START)

    @property
    def n_frames(self) -> int:
        return int(self.duration_s * self.fps) + 1

    @property
    def crossings(self) -> int:
        return sum(v["in"] + v["out"] for v in self.truth.values())

    def frames(self) -> Iterator[FrameDetections]:
        """Every frame in order; the same frames on every call."""
        noise = random.Random(self.seed * 7919 + 1)
        order = sorted(range(len(self.people)), key=lambda k: self.people[k].start)
        nxt = 0
        active: list[int] = []
        shown: dict[int, int] = {}  # track id -> frames reported so far
        for k in range(self.n_frames):
            t = k / self.fps
            while nxt < len(order) and self.people[order[nxt]].start <= t:
                active.append(order[nxt])
                nxt += 1
            active = [p for p in active if self.people[p].end >= t]
            tracks = []
            for p in active:
                person = self.people[p]
                if person.is_hidden(t):
                    continue
                fx, fy = person.feet(t)
                s = person.noise_px
                hw = person.width / 2
                box = (
                    fx - hw + noise.gauss(0.0, s),
                    fy - person.height + noise.gauss(0.0, s),
                    fx + hw + noise.gauss(0.0, s),
                    fy + noise.gauss(0.0, s),
                )
                tid = person.track_id(t)
                seen = shown.get(tid, 0)
                shown[tid] = seen + 1
                if seen < person.unconfirmed_frames:
                    tid = -1
                tracks.append(Track(id=tid, box=box, confidence=0.9))
            yield FrameDetections(
                camera_id=self.camera_id,
                frame_seq=k,
                captured_at=self.start + timedelta(seconds=t),
                frame_width=self.width,
                frame_height=self.height,
                tracks=tuple(tracks),
            )


# --------------------------------------------------------------- ground truth


def _side_distance(line: LineConfig, x: float, y: float) -> float:
    (ax, ay), (bx, by) = line.points
    dx, dy = bx - ax, by - ay
    return (dx * (y - ay) - dy * (x - ax)) / math.hypot(dx, dy)


def _meets(p: Vec, q: Vec, a: Vec, b: Vec) -> bool:
    """Segment P-Q meets segment A-B (touching included); written apart from
    ``streams.core.geometry`` on purpose, so the truth does not share its bugs."""

    def cross(o: Vec, s: Vec, t: Vec) -> float:
        return (s[0] - o[0]) * (t[1] - o[1]) - (s[1] - o[1]) * (t[0] - o[0])

    def within(s: Vec, t: Vec, r: Vec) -> bool:
        return min(s[0], t[0]) <= r[0] <= max(s[0], t[0]) and min(s[1], t[1]) <= r[1] <= max(
            s[1], t[1]
        )

    c1, c2 = cross(a, b, p), cross(a, b, q)
    c3, c4 = cross(p, q, a), cross(p, q, b)
    if c1 * c2 < 0 and c3 * c4 < 0:
        return True
    return (
        (c1 == 0 and within(a, b, p))
        or (c2 == 0 and within(a, b, q))
        or (c3 == 0 and within(p, q, a))
        or (c4 == 0 and within(p, q, b))
    )


def _person_crossings(person: Person, line: LineConfig) -> list[str]:
    a, b = line.points
    pts = [(w[1], w[2]) for w in person.waypoints]
    out: list[str] = []
    side = 0
    since = 0  # index of the waypoint where the current side was last seen
    for k, (x, y) in enumerate(pts):
        d = _side_distance(line, x, y)
        s = 1 if d >= TRUTH_MARGIN_PX else -1 if d <= -TRUTH_MARGIN_PX else 0
        if s == 0:
            continue
        if (
            side != 0
            and s != side
            and any(_meets(pts[j], pts[j + 1], a, b) for j in range(since, k))
        ):
            out.append("in" if s > 0 else "out")
        side = s
        since = k
    return out


def ground_truth(
    people: tuple[Person, ...], lines: tuple[LineConfig, ...]
) -> dict[str, dict[str, int]]:
    """True per-line ``{"in": n, "out": n}`` of these people (rules in the module docstring)."""
    truth = {ln.id: {"in": 0, "out": 0} for ln in lines}
    for person in people:
        for ln in lines:
            for direction in _person_crossings(person, ln):
                truth[ln.id][direction] += 1
    return truth


# ------------------------------------------------------------------- builders


def _line(line_id: str, a: Vec, b: Vec, **kw: object) -> LineConfig:
    fields: dict[str, object] = {
        "id": line_id,
        "camera_id": CAMERA,
        "points": (a, b),
        "from_zone": "outside",
        "to_zone": "hall",
        **LINE_SETTINGS,
        **kw,
    }
    return LineConfig.model_validate(fields)


class _Frame:
    """Helpers in one line's coordinates: ``f`` along it (0..1), ``d`` across
    it (pixels, positive on the "in" side)."""

    def __init__(self, line: LineConfig) -> None:
        (ax, ay), (bx, by) = line.points
        self.a = (ax, ay)
        self.length = math.hypot(bx - ax, by - ay)
        self.u = ((bx - ax) / self.length, (by - ay) / self.length)
        self.n = (-self.u[1], self.u[0])

    def at(self, f: float, d: float) -> Vec:
        s = f * self.length
        return (
            self.a[0] + self.u[0] * s + self.n[0] * d,
            self.a[1] + self.u[1] * s + self.n[1] * d,
        )

    def heading(self, direction: int, angle_deg: float) -> Vec:
        """Unit walking direction: towards ``direction`` side, turned by an angle."""
        c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
        nx, ny = self.n[0] * direction, self.n[1] * direction
        return nx * c - ny * s, nx * s + ny * c


def _inside(p: Vec, margin: float = 8.0) -> bool:
    return margin <= p[0] <= WIDTH - margin and margin <= p[1] <= HEIGHT - margin


def _near_an_end(points: list[Vec], lines: tuple[LineConfig, ...], px: float = 15.0) -> bool:
    """Whether a path passes within ``px`` of a line's end point, where the
    detector noise alone could decide whether it met the line."""
    for p, q in pairwise(points):
        dx, dy = q[0] - p[0], q[1] - p[1]
        dd = dx * dx + dy * dy
        for ln in lines:
            for ex, ey in ln.points:
                t = (
                    0.0
                    if dd == 0
                    else max(0.0, min(1.0, ((ex - p[0]) * dx + (ey - p[1]) * dy) / dd))
                )
                if math.hypot(p[0] + t * dx - ex, p[1] + t * dy - ey) < px:
                    return True
    return False


def _clear_of(p: Vec, lines: tuple[LineConfig, ...]) -> bool:
    """Whether P is well off every line segment: nobody starts or stops on one."""
    for ln in lines:
        (ax, ay), (bx, by) = ln.points
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / (dx * dx + dy * dy)))
        if math.hypot(p[0] - ax - t * dx, p[1] - ay - t * dy) < 3 * TRUTH_MARGIN_PX:
            return False
    return True


def _reach(c: Vec, v: Vec, want: float) -> float:
    """How far (<= want) one can go from C along V and stay inside the frame."""
    lo, hi = 0.0, want
    if _inside((c[0] + v[0] * want, c[1] + v[1] * want)):
        return want
    for _ in range(30):
        mid = (lo + hi) / 2
        if _inside((c[0] + v[0] * mid, c[1] + v[1] * mid)):
            lo = mid
        else:
            hi = mid
    return lo


def _size(rng: random.Random) -> tuple[float, float]:
    h = rng.uniform(120.0, 170.0)
    return h * rng.uniform(0.33, 0.42), h


def _timed(t0: float, points: list[Vec], speed: float) -> tuple[Waypoint, ...]:
    """Waypoints walking through ``points`` at ``speed`` px/s from ``t0``."""
    out = [(t0, points[0][0], points[0][1])]
    t = t0
    for p, q in pairwise(points):
        t += max(math.hypot(q[0] - p[0], q[1] - p[1]), 1.0) / speed
        out.append((t, q[0], q[1]))
    return tuple(out)


class _Ids:
    def __init__(self, first: int = 1) -> None:
        self.next = first

    def __call__(self) -> int:
        self.next += 1
        return self.next - 1


def _crossing_path(
    rng: random.Random,
    frame: _Frame,
    direction: int,
    *,
    f_range: tuple[float, float] = (0.06, 0.94),
    angle: float = 30.0,
    before: tuple[float, float] = (200.0, 320.0),
    after: tuple[float, float] = (200.0, 320.0),
    min_leg: float = 150.0,
) -> tuple[Vec, Vec, Vec] | None:
    """Start, crossing point and end of a straight walk across a line."""
    c = frame.at(rng.uniform(*f_range), 0.0)
    v = frame.heading(direction, rng.uniform(-angle, angle))
    back = _reach(c, (-v[0], -v[1]), rng.uniform(*before))
    ahead = _reach(c, v, rng.uniform(*after))
    if back < min_leg or ahead < min_leg:
        return None
    return (c[0] - v[0] * back, c[1] - v[1] * back), c, (c[0] + v[0] * ahead, c[1] + v[1] * ahead)


def _walker(
    rng: random.Random,
    frame: _Frame,
    ids: _Ids,
    t0: float,
    direction: int,
    speed: float,
    noise: float,
    avoid: tuple[LineConfig, ...] = (),
    **path: object,
) -> Person:
    while True:
        found = _crossing_path(rng, frame, direction, **path)  # type: ignore[arg-type]
        if (
            found is not None
            and not _near_an_end([found[0], found[2]], avoid)
            and all(_clear_of(p, avoid) for p in (found[0], found[2]))
        ):
            break
    start, _, end = found
    w, h = _size(rng)
    return Person(_timed(t0, [start, end], speed), w, h, ((t0, ids()),), noise_px=noise)


def _finish(
    name: str,
    description: str,
    lines: tuple[LineConfig, ...],
    people: list[Person],
    fps: float,
    seed: int,
) -> Scenario:
    duration = max(p.end for p in people) + 1.0
    return Scenario(
        name=name,
        description=description,
        lines=lines,
        people=tuple(people),
        truth=ground_truth(tuple(people), lines),
        fps=fps,
        duration_s=duration,
        seed=seed,
    )


# ------------------------------------------------------------------ scenarios


def dense_crowd(seed: int = 11, people: int = 420) -> Scenario:
    """Hundreds of people through one door both ways, 25-45 in view at once.

    New tracks are reported with id ``-1`` for their first two frames, as
    trackers do before they confirm a track.
    """
    rng = random.Random(seed)
    door = _line("door", (240.0, 380.0), (1040.0, 380.0))
    fr = _Frame(door)
    ids = _Ids()
    crowd = []
    for _ in range(people):
        p = _walker(
            rng,
            fr,
            ids,
            rng.uniform(0, 80),
            1 if rng.random() < 0.55 else -1,
            rng.uniform(70, 150),
            1.5,
        )
        crowd.append(Person(p.waypoints, p.width, p.height, p.ids, unconfirmed_frames=2))
    return _finish(
        "dense_crowd",
        "420 people both ways through one door in 80 s; unconfirmed ids (-1) on new tracks",
        (door,),
        crowd,
        10.0,
        seed,
    )


def groups(seed: int = 12, n_groups: int = 70) -> Scenario:
    """Groups of 2-5 walking abreast across a tilted line, boxes touching or overlapping."""
    rng = random.Random(seed)
    line = _line("corridor", (180.0, 250.0), (1100.0, 480.0))
    fr = _Frame(line)
    ids = _Ids()
    people = []
    for _ in range(n_groups):
        k = rng.randint(2, 5)
        t0 = rng.uniform(0, 100)
        direction = rng.choice((1, -1))
        speed = rng.uniform(70, 130)
        while True:
            found = _crossing_path(rng, fr, direction, f_range=(0.25, 0.75), angle=25.0)
            if found is not None:
                break
        start, _, end = found
        vx, vy = end[0] - start[0], end[1] - start[1]
        norm = math.hypot(vx, vy)
        px, py = -vy / norm, vx / norm  # abreast: perpendicular to the walk
        w, h = _size(rng)
        spacing = w + rng.uniform(-8.0, 6.0)
        for j in range(k):
            off = (j - (k - 1) / 2) * spacing
            s = (start[0] + px * off, start[1] + py * off)
            e = (end[0] + px * off, end[1] + py * off)
            if not (_inside(s) and _inside(e)):
                continue
            tj = t0 + rng.uniform(0.0, 0.15)
            people.append(
                Person(_timed(tj, [s, e], speed), w * rng.uniform(0.9, 1.1), h, ((tj, ids()),))
            )
    return _finish(
        "groups", "groups of 2-5 side by side crossing a tilted line", (line,), people, 10.0, seed
    )


def jitter(seed: int = 13) -> Scenario:
    """Slow walkers and people standing next to a vertical line, 4 px box noise."""
    rng = random.Random(seed)
    line = _line("gate", (640.0, 60.0), (640.0, 660.0))
    fr = _Frame(line)
    ids = _Ids()
    people = [
        _walker(
            rng,
            fr,
            ids,
            rng.uniform(0, 100),
            rng.choice((1, -1)),
            rng.uniform(25, 60),
            4.0,
            before=(150.0, 260.0),
            after=(150.0, 260.0),
        )
        for _ in range(80)
    ]
    for _ in range(25):  # walk up to the line, wait beside it, go back
        side = rng.choice((1, -1))
        f = rng.uniform(0.1, 0.9)
        start = fr.at(f, side * rng.uniform(150, 250))
        stop = rng.uniform(8.0, 30.0)
        t0 = rng.uniform(0, 100)
        speed = rng.uniform(40, 80)
        wp = list(_timed(t0, [start, fr.at(f, side * stop)], speed))
        t = wp[-1][0]
        for _ in range(rng.randint(10, 30)):  # 3-10 s of standing, shifting weight
            t += 0.35
            x, y = fr.at(f + rng.uniform(-0.004, 0.004), side * (stop + rng.uniform(-2, 2)))
            wp.append((t, x, y))
        back = _timed(t, [(wp[-1][1], wp[-1][2]), fr.at(f, side * rng.uniform(150, 250))], speed)
        w, h = _size(rng)
        people.append(Person(tuple(wp) + back[1:], w, h, ((t0, ids()),), noise_px=4.0))
    return _finish(
        "jitter",
        "slow walkers and people waiting 8-30 px from a line, 4 px box noise",
        (line,),
        people,
        10.0,
        seed,
    )


def hovering(seed: int = 14, n_people: int = 70) -> Scenario:
    """People stopping *on* the line for 2-8 s, then going on or back."""
    rng = random.Random(seed)
    # Drawn right to left, so "in" is walking up the image.
    line = _line("turnstile", (1040.0, 400.0), (240.0, 400.0))
    fr = _Frame(line)
    ids = _Ids()
    people = []
    for _ in range(n_people):
        side = rng.choice((1, -1))
        f = rng.uniform(0.1, 0.9)
        t0 = rng.uniform(0, 110)
        speed = rng.uniform(60, 120)
        wp = list(_timed(t0, [fr.at(f, side * rng.uniform(200, 300)), fr.at(f, 0.0)], speed))
        t = wp[-1][0]
        for _ in range(rng.randint(7, 27)):  # 2-8 s on the line
            t += 0.3
            f += rng.uniform(-0.004, 0.004)
            x, y = fr.at(f, rng.uniform(-4.0, 4.0))
            wp.append((t, x, y))
        leave = -side if rng.random() < 0.5 else side
        end = fr.at(f + rng.uniform(-0.05, 0.05), leave * rng.uniform(200, 300))
        wp += _timed(t, [(wp[-1][1], wp[-1][2]), end], speed)[1:]
        w, h = _size(rng)
        people.append(Person(tuple(wp), w, h, ((t0, ids()),), noise_px=3.0))
    return _finish(
        "hovering",
        "people standing on the line 2-8 s (3 px noise), half then cross, half go back",
        (line,),
        people,
        10.0,
        seed,
    )


def u_turns(seed: int = 15, per_kind: int = 30) -> Scenario:
    """Turning back before, at, or after the line; some cross three times."""
    rng = random.Random(seed)
    line = _line("door", (240.0, 380.0), (1040.0, 380.0))
    fr = _Frame(line)
    ids = _Ids()
    people = []
    for kind in ("shallow", "deep", "double") * per_kind:
        s = rng.choice((1, -1))  # the side they come from
        f = rng.uniform(0.15, 0.85)
        t0 = rng.uniform(0, 120)
        speed = rng.uniform(60, 130)

        def near(d: float, f: float = f) -> Vec:
            return fr.at(f + rng.uniform(-0.05, 0.05), d)

        start = near(s * rng.uniform(200, 300))
        if kind == "shallow":  # touch the line at most, then back
            turn = 0.0 if rng.random() < 0.35 else s * rng.uniform(0.5, 25.0)
            pts = [start, near(turn), near(s * rng.uniform(200, 300))]
        elif kind == "deep":  # cross, change their mind, come back
            pts = [start, near(-s * rng.uniform(40, 160)), near(s * rng.uniform(200, 300))]
        else:  # in, out, and in again
            pts = [
                start,
                near(-s * rng.uniform(60, 150)),
                near(s * rng.uniform(60, 150)),
                near(-s * rng.uniform(200, 300)),
            ]
        w, h = _size(rng)
        people.append(Person(_timed(t0, pts, speed), w, h, ((t0, ids()),)))
    return _finish(
        "u_turns",
        "U-turns at or before the line (no count), after it (in + out), and in-out-in with one id",
        (line,),
        people,
        10.0,
        seed,
    )


def low_fps(seed: int = 16, n_people: int = 110) -> Scenario:
    """5 fps, fast walkers and runners at oblique angles, near the ends of short lines."""
    rng = random.Random(seed)
    lines = (
        _line("gate", (420.0, 300.0), (760.0, 400.0)),
        _line("side", (1000.0, 120.0), (1060.0, 620.0)),
    )
    frames = [_Frame(ln) for ln in lines]
    ids = _Ids()
    people = [
        _walker(
            rng,
            rng.choice(frames),
            ids,
            rng.uniform(0, 60),
            rng.choice((1, -1)),
            rng.uniform(150, 350),
            1.5,
            lines,
            f_range=(0.04, 0.96),
            angle=55.0,
            before=(180.0, 300.0),
            after=(180.0, 300.0),
        )
        for _ in range(n_people)
    ]
    return _finish(
        "low_fps",
        "5 fps, 150-350 px/s at up to 55 degrees, crossing anywhere along two short lines",
        lines,
        people,
        5.0,
        seed,
    )


def occlusions(seed: int = 17, n_people: int = 150) -> Scenario:
    """People hidden for 0.2-1 s just before the line; most come back with a new id."""
    rng = random.Random(seed)
    line = _line("door", (240.0, 380.0), (1040.0, 380.0))
    fr = _Frame(line)
    ids = _Ids()
    people = []
    for _ in range(n_people):
        p = _walker(
            rng, fr, ids, rng.uniform(0, 110), rng.choice((1, -1)), rng.uniform(70, 140), 1.5
        )
        if rng.random() < 0.6:
            (t0, x0, y0), (t1, x1, y1) = p.waypoints
            d0 = abs(_side_distance(line, x0, y0))
            d1 = abs(_side_distance(line, x1, y1))
            # When the feet are `gap` px before the line, on a straight walk.
            gap = rng.uniform(5.0, 60.0)
            th = t0 + (t1 - t0) * (d0 - gap) / (d0 + d1)
            hide = (th, th + rng.uniform(0.2, 1.0))
            new = (*p.ids, (hide[1], ids())) if rng.random() < 0.7 else p.ids
            p = Person(p.waypoints, p.width, p.height, new, (hide,), p.noise_px)
        people.append(p)
    for _ in range(25):  # hidden while turning back just before the line
        s = rng.choice((1, -1))
        f = rng.uniform(0.15, 0.85)
        t0 = rng.uniform(0, 110)
        speed = rng.uniform(70, 140)
        turn = fr.at(f, s * rng.uniform(25.0, 60.0))
        wp = _timed(
            t0,
            [
                fr.at(f, s * rng.uniform(200, 300)),
                turn,
                fr.at(f + rng.uniform(-0.1, 0.1), s * rng.uniform(200, 300)),
            ],
            speed,
        )
        tt = wp[1][0]
        hide = (tt - rng.uniform(0.1, 0.4), tt + rng.uniform(0.2, 0.5))
        pid = ((t0, ids()),) + (((hide[1], ids()),) if rng.random() < 0.7 else ())
        w, h = _size(rng)
        people.append(Person(wp, w, h, pid, (hide,)))
    return _finish(
        "occlusions",
        "60% hidden 0.2-1 s just before the line (70% of them "
        "then get a new id); some turn back while hidden",
        (line,),
        people,
        10.0,
        seed,
    )


def along_line(seed: int = 18) -> Scenario:
    """Walking along the line, on it or just beside it, and crossing it at a shallow angle."""
    rng = random.Random(seed)
    line = _line("door", (240.0, 380.0), (1040.0, 380.0))
    ids = _Ids()
    people = []
    kinds = ["on"] * 45 + ["beside"] * 15 + ["slanted"] * 25
    for kind in kinds:
        t0 = rng.uniform(0, 120)
        xa, xb = rng.uniform(60, 200), rng.uniform(1080, 1220)
        if rng.random() < 0.5:
            xa, xb = xb, xa
        if kind == "on":  # 3-15 px from the line the whole way
            da = rng.choice((1, -1)) * rng.uniform(3, 15)
            db = da + rng.uniform(-2.0, 2.0)
        elif kind == "beside":
            da = rng.choice((1, -1)) * rng.uniform(25, 45)
            db = da + rng.uniform(-3.0, 3.0)
        else:  # drifts across over the whole width of the door
            da = rng.choice((1, -1)) * rng.uniform(40, 70)
            db = -math.copysign(rng.uniform(40, 70), da)
        # Positive d is the "in" side: below this left-to-right line.
        pts = [(xa, 380.0 + da), (xb, 380.0 + db)]
        w, h = _size(rng)
        people.append(
            Person(_timed(t0, pts, rng.uniform(60, 120)), w, h, ((t0, ids()),), noise_px=2.0)
        )
    return _finish(
        "along_line",
        "walking along the line 3-15 px off it, beside it, and across it at a shallow angle",
        (line,),
        people,
        10.0,
        seed,
    )


def long_run(seed: int = 19, hours: float = 6.0, mean_gap_s: float = 50.0) -> Scenario:
    """Hours of sparse traffic through two doors, with a few U-turns among it."""
    rng = random.Random(seed)
    lines = (
        _line("door", (240.0, 380.0), (1040.0, 380.0)),
        _line("side", (1150.0, 80.0), (1150.0, 680.0), to_zone="store"),
    )
    frames = [_Frame(ln) for ln in lines]
    ids = _Ids()
    people = []
    t = 0.0
    end = hours * 3600.0 - 60.0
    while True:
        t += rng.expovariate(1.0 / mean_gap_s)
        if t >= end:
            break
        fr = frames[0] if rng.random() < 0.7 else frames[1]
        r = rng.random()
        if r < 0.8 or fr is frames[1]:
            people.append(
                _walker(
                    rng,
                    fr,
                    ids,
                    t,
                    rng.choice((1, -1)),
                    rng.uniform(70, 140),
                    1.5,
                    lines,
                    before=(150.0, 250.0),
                    after=(150.0, 250.0),
                    min_leg=120.0,
                )
            )
            continue
        s = rng.choice((1, -1))
        f = rng.uniform(0.15, 0.85)
        turn = s * rng.uniform(0, 20) if r < 0.9 else -s * rng.uniform(60, 150)
        pts = [
            fr.at(f, s * rng.uniform(200, 300)),
            fr.at(f, turn),
            fr.at(f + rng.uniform(-0.05, 0.05), s * rng.uniform(200, 300)),
        ]
        w, h = _size(rng)
        people.append(Person(_timed(t, pts, rng.uniform(70, 140)), w, h, ((t, ids()),)))
    return _finish(
        "long_run",
        f"{hours:g} h of sparse traffic through two doors (one "
        f"person every {mean_gap_s:g} s on average)",
        lines,
        people,
        10.0,
        seed,
    )


def busy_floor(seed: int = 20, in_view: int = 50, duration_s: float = 300.0) -> Scenario:
    """Always ``in_view`` people crossing a floor with four lines in every direction.

    Also the workload of the kernel timing (50 people, 4 lines).
    """
    rng = random.Random(seed)
    lines = (
        _line("north", (150.0, 220.0), (1130.0, 220.0)),
        _line("south", (1130.0, 520.0), (150.0, 520.0)),
        _line("west", (420.0, 60.0), (420.0, 700.0), to_zone="west-wing"),
        _line("east", (860.0, 700.0), (860.0, 60.0), to_zone="east-wing"),
    )

    def clear(p: Vec) -> bool:  # nobody starts or stops on a line
        return _inside(p, 30.0) and all(
            abs(_side_distance(ln, *p)) > 3 * TRUTH_MARGIN_PX for ln in lines
        )

    def point() -> Vec:
        while True:
            p = (rng.uniform(30, WIDTH - 30), rng.uniform(30, HEIGHT - 30))
            if clear(p):
                return p

    ids = _Ids()
    people = []
    for _ in range(in_view):
        t = 0.0
        while t < duration_s:
            a, b = point(), point()
            if math.hypot(b[0] - a[0], b[1] - a[1]) < 300 or _near_an_end([a, b], lines):
                continue
            wp = _timed(t, [a, b], rng.uniform(60, 140))
            w, h = _size(rng)
            people.append(Person(wp, w, h, ((t, ids()),)))
            t = wp[-1][0] + 0.1
    return _finish(
        "busy_floor",
        f"{in_view} people always in view, walking anywhere across four lines",
        lines,
        people,
        10.0,
        seed,
    )


#: Every named scenario, in the order the benchmark prints them.
SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "dense_crowd": dense_crowd,
    "groups": groups,
    "jitter": jitter,
    "hovering": hovering,
    "u_turns": u_turns,
    "low_fps": low_fps,
    "occlusions": occlusions,
    "along_line": along_line,
    "busy_floor": busy_floor,
    "long_run": long_run,
}


def scenario(name: str) -> Scenario:
    """Build a scenario by name (see :data:`SCENARIOS`)."""
    try:
        return SCENARIOS[name]()
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None
