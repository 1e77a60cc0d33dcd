"""Property tests: the vectorised ``LineCounter`` against a plain reference.

The reference below restates the counting rules of ``streams.core.counting`` in the
most direct way: it first collects each track's sightings, cuts them into
lives (a gap longer than the ttl, or a producer restart, starts a new one),
and then, for each life and line, walks the anchors and *looks back* to decide
each confirmation, using only the scalar functions of ``streams.core.geometry``. It
shares no code and no state layout with the kernel. Hypothesis draws random
lines, settings and trajectories on a quarter-pixel grid (so that the
orientation tests are exact), and both must produce the very same events.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.config import LineConfig
from schemas.events import FrameDetections, Track
from streams.core.counting import LineCounter
from streams.core.geometry import anchor_point, orient, segments_intersect, signed_distance

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TTL = 2.0
Event = tuple[int, int, str, str, int]  # (confirming frame, track, line, direction, hit frame)


# ------------------------------------------------------------------ reference


def reference(
    frames: list[FrameDetections], lines: list[LineConfig], extended: set[str]
) -> list[Event]:
    """Every crossing by the rules, computed track by track, life by life."""
    # Which frames count, and the sightings of each life of each track.
    lives: list[tuple[int, list[tuple[int, FrameDetections, Track]]]] = []
    open_lives: dict[int, list[tuple[int, FrameDetections, Track]]] = {}
    last_seen: dict[int, float] = {}
    last = (0.0, -1)
    for k, frame in enumerate(frames):
        now = frame.captured_at.timestamp()
        if (now, frame.frame_seq) <= last:
            continue  # redelivered or late: ignored
        if frame.frame_seq < last[1]:
            open_lives.clear()  # a restarted producer: every id is somebody new
        last = (now, frame.frame_seq)
        seen_here: set[int] = set()
        for track in frame.tracks:
            if track.id < 0 or track.id in seen_here:
                continue
            seen_here.add(track.id)
            if track.id in open_lives and last_seen[track.id] < now - TTL:
                del open_lives[track.id]  # unseen too long: a new life
            if track.id not in open_lives:
                open_lives[track.id] = []
                lives.append((track.id, open_lives[track.id]))
            open_lives[track.id].append((k, frame, track))
            last_seen[track.id] = now
    events: list[Event] = []
    for tid, sightings in lives:
        for line in lines:
            events += _life_on_line(tid, sightings, line, line.id in extended)
    return sorted(events)


def _life_on_line(
    tid: int, sightings: list[tuple[int, FrameDetections, Track]], line: LineConfig, ext: bool
) -> list[Event]:
    (ax, ay), (bx, by) = line.points
    pts = [anchor_point(t.box, line.anchor) for _, _, t in sightings]
    zones = []
    for x, y in pts:
        d = signed_distance(ax, ay, bx, by, x, y)
        if d >= line.min_distance_px and d > 0:
            zones.append(1)
        elif d <= -line.min_distance_px and d < 0:
            zones.append(-1)
        else:
            zones.append(0)

    def hit(j: int) -> bool:
        if j == 0:
            return False
        (px, py), (qx, qy) = pts[j - 1], pts[j]
        if ext:
            o1, o2 = orient(ax, ay, bx, by, px, py), orient(ax, ay, bx, by, qx, qy)
            return not ((o1 > 0 and o2 > 0) or (o1 < 0 and o2 < 0))
        return segments_intersect(px, py, qx, qy, ax, ay, bx, by)

    n = line.min_frames
    out: list[Event] = []
    side = 0
    resolved = 0  # last sighting that set the side or stood on it
    for j, z in enumerate(zones):
        if side == 0:
            if z != 0:
                side, resolved = z, j
            continue
        if z == side:
            resolved = j
            continue
        window = zones[j - n + 1 : j + 1] if j - n + 1 >= 0 else []
        if len(window) == n and all(w == -side for w in window):
            hits = [i for i in range(resolved + 1, j + 1) if hit(i)]
            direction = "in" if -side > 0 else "out"
            if hits and line.allowed in ("both", direction):
                hit_frame = sightings[hits[-1]][1].frame_seq
                out.append((sightings[j][0], tid, line.id, direction, hit_frame))
            side, resolved = -side, j
    return out


# ------------------------------------------------------------------ the core


def run_core(
    frames: list[FrameDetections],
    lines: list[LineConfig],
    extended: set[str],
    *,
    numpy_paths: bool = False,
    restore_at: int | None = None,
    id_switch_s: float = 0.0,
    path: str = "scalar",
) -> list[Event]:
    def make() -> LineCounter:
        c = make_counter(lines, extended, id_switch_s, path)
        if numpy_paths:
            c._scalar_paths_up_to = 0  # every path through the vectorised test
        return c

    counter = make()
    out: list[Event] = []
    for k, frame in enumerate(frames):
        if k == restore_at:
            blob = json.loads(json.dumps(counter.state_dict()))
            counter = make()
            counter.load_state(blob)
        for e in counter.trigger(frame):
            out.append((k, e.track_id, e.line_id, e.direction, e.frame_seq))
    return sorted(out)


def make_counter(
    lines: list[LineConfig], extended: set[str], id_switch_s: float, path: str
) -> LineCounter:
    """A counter whose frames all take the scalar path, or all the numpy kernel
    (``dense``: with every pair of every frame resolved by numpy)."""
    c = LineCounter(
        "cam", lines, "prop", track_ttl_s=TTL, extend_lines=extended, id_switch_s=id_switch_s
    )
    c._scalar_cells_up_to = {"scalar": 10**9, "numpy": -1, "dense": -1}[path]
    if path == "dense":
        c._busy_cells_up_to = -1
    return c


PATHS = pytest.mark.parametrize("path", ["scalar", "numpy", "dense"])


# ------------------------------------------------------------------ strategies

quarter = st.integers(min_value=0, max_value=1600).map(lambda v: v / 4)  # 0..400 px
anchors = st.sampled_from(["bottom_center", "center", "top_center", "bottom_left", "bottom_right"])


@st.composite
def line_configs(draw: st.DrawFn, index: int) -> LineConfig:
    a = (draw(quarter), draw(quarter))
    # Short lines too, so that walking round their ends is common.
    reach = draw(st.sampled_from([40, 160, 480]))
    offset = st.integers(-reach, reach).map(lambda v: v / 4)
    b = draw(
        st.tuples(offset, offset)
        .map(lambda o: (min(400.0, max(0.0, a[0] + o[0])), min(400.0, max(0.0, a[1] + o[1]))))
        .filter(lambda p: p != a)
    )
    return LineConfig(
        id=f"l{index}",
        camera_id="cam",
        points=(a, b),
        from_zone="outside",
        to_zone="hall",
        allowed=draw(st.sampled_from(["both", "both", "in", "out"])),
        anchor=draw(anchors),
        min_distance_px=draw(st.sampled_from([0.0, 0.5, 2.0, 6.0, 12.0])),
        min_frames=draw(st.integers(1, 3)),
    )


@st.composite
def scenes(draw: st.DrawFn) -> tuple[list[FrameDetections], list[LineConfig], set[str]]:
    n_lines = draw(st.integers(1, 3))
    lines = [draw(line_configs(i)) for i in range(n_lines)]
    extended = {ln.id for ln in lines if draw(st.booleans())}
    n_tracks = draw(st.integers(1, 4))
    ids = draw(st.lists(st.integers(-1, 6), min_size=n_tracks, max_size=n_tracks))
    pos = {k: [draw(quarter), draw(quarter)] for k in range(n_tracks)}
    size = {k: (draw(st.integers(4, 160)) / 4, draw(st.integers(4, 400)) / 4) for k in pos}
    step = st.integers(-160, 160).map(lambda v: v / 4)
    # Either random walks, or hops to random points around the first line.
    hop = draw(st.booleans())
    hop_step = st.integers(-80, 80).map(lambda v: v / 4)
    frames = []
    t = 0.0
    seq = 0
    for _ in range(draw(st.integers(1, 60))):
        kind = draw(st.sampled_from(["next"] * 12 + ["gap", "restart", "replay"]))
        if kind == "replay" and frames:
            frames.append(frames[draw(st.integers(0, len(frames) - 1))])
            continue
        t += 3.0 if kind == "gap" else 0.1
        seq = 0 if kind == "restart" else seq + 1
        tracks = []
        for k in pos:
            if hop:  # anywhere near the first line, beyond its ends included
                (ax, ay), (bx, by) = lines[0].points
                f = draw(st.integers(-4, 12)) / 8
                dx, dy = draw(hop_step), draw(hop_step)
                pos[k][0] = min(400.0, max(0.0, round(4 * (ax + (bx - ax) * f + dx)) / 4))
                pos[k][1] = min(400.0, max(0.0, round(4 * (ay + (by - ay) * f + dy)) / 4))
            else:
                pos[k][0] = min(400.0, max(0.0, pos[k][0] + draw(step)))
                pos[k][1] = min(400.0, max(0.0, pos[k][1] + draw(step)))
            if draw(st.integers(0, 4)) == 0:
                continue  # not detected in this frame
            (x, y), (w, h) = pos[k], size[k]
            tracks.append(Track(id=ids[k], box=(x - w / 2, y - h, x + w / 2, y)))
        frames.append(
            FrameDetections(
                camera_id="cam",
                frame_seq=seq,
                captured_at=T0 + timedelta(seconds=t),
                frame_width=400,
                frame_height=400,
                tracks=tuple(tracks),
            )
        )
    return frames, lines, extended


@PATHS
@settings(max_examples=400, deadline=None)
@given(scenes())
def test_core_equals_reference(path, scene):
    frames, lines, extended = scene
    assert run_core(frames, lines, extended, path=path) == reference(frames, lines, extended)


@settings(max_examples=200, deadline=None)
@given(scenes())
def test_vectorised_path_test_equals_reference(scene):
    frames, lines, extended = scene
    expected = reference(frames, lines, extended)
    assert run_core(frames, lines, extended, numpy_paths=True, path="dense") == expected


@PATHS
@settings(max_examples=200, deadline=None)
@given(scenes(), st.integers(0, 40))
def test_state_round_trip_changes_nothing(path, scene, at):
    frames, lines, extended = scene
    expected = run_core(frames, lines, extended, path=path)
    assert run_core(frames, lines, extended, restore_at=at, path=path) == expected


@PATHS
@settings(max_examples=200, deadline=None)
@given(scenes(), st.integers(0, 40))
def test_state_round_trip_changes_nothing_with_id_switches(path, scene, at):
    frames, lines, extended = scene
    expected = run_core(frames, lines, extended, id_switch_s=1.0, path=path)
    assert run_core(frames, lines, extended, restore_at=at, id_switch_s=1.0, path=path) == expected


@settings(max_examples=300, deadline=None)
@given(scenes(), st.sampled_from([0.0, 1.0]), st.lists(st.booleans(), min_size=60, max_size=60))
def test_scalar_and_numpy_paths_agree_to_the_bit(scene, id_switch_s, scalar_frames):
    """The same frames through the scalar path, the numpy kernel (its pairs
    resolved one by one, or all at once), and a counter that switches between
    them frame by frame: the same events and the same state (its JSON, so to
    the bit) after every frame."""
    frames, lines, extended = scene
    counters = [
        make_counter(lines, extended, id_switch_s, path)
        for path in ("scalar", "numpy", "dense", "numpy")
    ]
    mixed = counters[-1]
    for k, (frame, use_scalar) in enumerate(zip(frames, scalar_frames, strict=False)):
        mixed._scalar_cells_up_to = 10**9 if use_scalar else -1
        mixed._busy_cells_up_to = -1 if k % 3 == 0 else 24
        outs = [c.trigger(frame) for c in counters]
        assert all(out == outs[0] for out in outs)
        states = [json.dumps(c.state_dict()) for c in counters]
        assert all(state == states[0] for state in states)
        assert all(c.track_ids == counters[0].track_ids for c in counters)


@st.composite
def straight_walks(draw: st.DrawFn) -> tuple[list[FrameDetections], int]:
    """One person straight across a horizontal line from far off to far off."""
    y0 = draw(st.integers(0, 140))
    y1 = draw(st.integers(260, 400))
    if draw(st.booleans()):
        y0, y1 = y1, y0
    steps = draw(st.integers(2, 30))  # 2 frames: one giant step, as at low fps
    x0, x1 = draw(st.integers(120, 280)), draw(st.integers(120, 280))
    frames = [
        FrameDetections(
            camera_id="cam",
            frame_seq=k,
            captured_at=T0 + timedelta(seconds=k / 5),
            frame_width=400,
            frame_height=400,
            tracks=(
                Track(
                    id=1,
                    box=(
                        x0 + (x1 - x0) * k / (steps - 1) - 10,
                        y0 + (y1 - y0) * k / (steps - 1) - 30,
                        x0 + (x1 - x0) * k / (steps - 1) + 10,
                        y0 + (y1 - y0) * k / (steps - 1),
                    ),
                ),
            ),
        )
        for k in range(steps)
    ]
    return frames, 1 if y1 > y0 else -1


@settings(max_examples=200, deadline=None)
@given(straight_walks())
def test_a_straight_walk_across_counts_exactly_once(walk):
    frames, sign = walk
    line = LineConfig(
        id="door",
        camera_id="cam",
        points=((100.0, 200.0), (300.0, 200.0)),
        from_zone="outside",
        to_zone="hall",
        min_distance_px=6.0,
        min_frames=1,
    )
    counter = LineCounter("cam", [line], "prop")
    events = [e.direction for f in frames for e in counter.trigger(f)]
    assert events == ["in" if sign > 0 else "out"]
