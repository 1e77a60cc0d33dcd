import json
from datetime import UTC, datetime, timedelta

import pytest

from schemas.config import LineConfig
from schemas.events import FrameDetections, Track
from streams.core.counting import STATE_FORMAT, LineCounter

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def line(**kw) -> LineConfig:
    base = dict(
        id="door",
        camera_id="cam",
        points=((100.0, 300.0), (500.0, 300.0)),  # horizontal: "in" is walking down
        from_zone="outside",
        to_zone="hall",
        min_distance_px=6.0,
    )
    base.update(kw)
    return LineConfig(**base)


def frame(seq: int, *feet: tuple[int, float, float], t: float | None = None) -> FrameDetections:
    """A frame whose tracks have their bottom-centre (feet) at the given points."""
    return FrameDetections(
        camera_id="cam",
        frame_seq=seq,
        captured_at=T0 + timedelta(seconds=seq / 10 if t is None else t),
        frame_width=640,
        frame_height=480,
        tracks=tuple(Track(id=tid, box=(x - 20, y - 100, x + 20, y)) for tid, x, y in feet),
    )


def walk(counter: LineCounter, path: list[tuple[float, float]], tid: int = 1) -> list[str]:
    out = []
    for seq, (x, y) in enumerate(path):
        out += [e.direction for e in counter.trigger(frame(seq, (tid, x, y)))]
    return out


def run(counter: LineCounter, ys: list[float], x: float = 300.0, tid: int = 1) -> list[str]:
    return walk(counter, [(x, y) for y in ys], tid)


def counter(*lines: LineConfig, **kw) -> LineCounter:
    return LineCounter("cam", lines or (line(),), config_version="test", **kw)


@pytest.mark.parametrize(
    ("ys", "expected"),
    [
        ([250, 280, 320, 350], ["in"]),  # walks down across: in
        ([350, 320, 280, 250], ["out"]),  # walks up across: out
        ([250, 350], ["in"]),  # one big step at a low frame rate
        ([100, 470], ["in"]),  # a giant step: the path, not the positions, crosses
        ([250, 280, 299, 280, 250], []),  # comes close, turns back
        ([250, 300, 250], []),  # touches the line, turns back (U-turn)
        ([250, 304, 250], []),  # steps a little over, within the band, turns back
        ([250, 320, 250], ["in", "out"]),  # crosses, then crosses back: both count
        ([250, 303, 297, 302, 298, 250], []),  # jitters on the line, leaves the way it came
        ([250, 303, 297, 302, 298, 320], ["in"]),  # hovers, then crosses: once
        ([250, 320, 250, 320], ["in", "out", "in"]),  # re-entry counts again
        ([250, 320, 320, 320], ["in"]),  # standing on the far side counts nothing more
        ([301, 320, 340], []),  # first seen inside the jitter band: side unknown
        ([310, 350, 250], ["out"]),  # first seen on the far side: that is its side
        ([294, 306], ["in"]),  # exactly the band's width on both sides
        ([295, 305], []),  # never outside the band
        ([250, 300, 300, 300, 350], ["in"]),  # stops on the line, goes on
    ],
)
def test_single_track(ys, expected):
    assert run(counter(), ys) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ([(50, 250), (40, 300), (50, 350), (60, 400)], []),  # round the start of the line
        ([(550, 250), (560, 350)], []),  # past its end
        ([(80, 250), (120, 350)], ["in"]),  # diagonal, across near the start
        ([(90, 250), (110, 350)], ["in"]),  # through the end point itself
        ([(300, 250), (300, 300), (300, 250), (50, 250), (50, 350)], []),  # touch, back, round
        ([(150, 290), (450, 290)], []),  # along the line, beside it
        ([(150, 300), (450, 300)], []),  # along the line, on it
        ([(150, 280), (450, 320)], ["in"]),  # across it at a shallow angle
    ],
)
def test_paths(path, expected):
    assert walk(counter(), path) == expected


def test_extended_line_counts_paths_beyond_the_drawn_ends():
    assert walk(counter(extend_lines=True), [(550, 250), (560, 350)]) == ["in"]
    assert walk(counter(extend_lines=["door"]), [(50, 350), (40, 250)]) == ["out"]
    assert walk(counter(extend_lines=["other"]), [(550, 250), (560, 350)]) == []


@pytest.mark.parametrize(
    ("points", "path", "expected"),
    [
        # Direction follows the line's point order, not the screen axes.
        (((500.0, 300.0), (100.0, 300.0)), [(300, 250), (300, 350)], ["out"]),
        (((300.0, 100.0), (300.0, 400.0)), [(350, 250), (250, 250)], ["in"]),  # vertical
        (((300.0, 400.0), (300.0, 100.0)), [(350, 250), (250, 250)], ["out"]),
        (((100.0, 100.0), (400.0, 400.0)), [(300, 150), (150, 300)], ["in"]),  # diagonal
    ],
)
def test_direction_is_defined_by_the_lines_point_order(points, path, expected):
    assert walk(counter(line(points=points)), path) == expected


def test_several_people_in_one_frame_each_counted():
    c = counter()
    frames = [
        frame(0, (1, 150, 250), (2, 250, 350), (3, 400, 250)),
        frame(1, (1, 150, 350), (2, 250, 250), (3, 400, 290)),
        frame(2, (1, 150, 360), (2, 250, 240), (3, 400, 320)),
    ]
    events = [e for f in frames for e in c.trigger(f)]
    assert sorted((e.track_id, e.direction) for e in events) == [(1, "in"), (2, "out"), (3, "in")]
    assert {e.from_zone for e in events if e.direction == "in"} == {"outside"}
    assert {e.to_zone for e in events if e.direction == "out"} == {"outside"}


@pytest.mark.parametrize(
    ("allowed", "ys", "expected"),
    [
        ("in", [250, 320, 250], ["in"]),
        ("out", [250, 320, 250], ["out"]),
        ("in", [350, 250, 350, 250], ["in"]),
        ("out", [250, 350, 250, 350], ["out"]),
    ],
)
def test_one_way_lines_ignore_the_other_direction(allowed, ys, expected):
    assert run(counter(line(allowed=allowed)), ys) == expected


@pytest.mark.parametrize(
    ("min_frames", "ys", "expected"),
    [
        (3, [250, 320, 320, 250], []),  # only two frames past the line
        (3, [250, 320, 320, 320], ["in"]),
        (3, [250, 320, 302, 320, 320], []),  # back in the band: the run starts again
        (3, [250, 320, 302, 320, 320, 320], ["in"]),
        (2, [250, 320, 250, 320, 320], ["in"]),  # the excursion did not count
    ],
)
def test_min_frames_requires_consecutive_frames_beyond_the_band(min_frames, ys, expected):
    assert run(counter(line(min_frames=min_frames)), ys) == expected


def test_min_distance_zero_still_needs_a_strict_side():
    c = counter(line(min_distance_px=0.0))
    assert run(c, [290, 300, 300, 310]) == ["in"]


def test_the_event_is_dated_by_the_frame_where_the_path_met_the_line():
    c = counter(line(min_frames=3))
    events = [
        e for s, y in enumerate([250, 320, 330, 340]) for e in c.trigger(frame(s, (7, 300, y)))
    ]
    assert [(e.frame_seq, e.occurred_at) for e in events] == [(1, T0 + timedelta(seconds=0.1))]


@pytest.mark.parametrize(
    ("anchor", "ys", "expected"),
    [
        ("bottom_center", [290, 320], ["in"]),  # feet cross at 300
        ("center", [290, 320], []),  # the box centre is 50 px higher: still above
        ("center", [320, 400], ["in"]),
        ("top_center", [320, 400], []),
        ("top_center", [320, 420], ["in"]),
    ],
)
def test_anchor_point_per_line(anchor, ys, expected):
    assert run(counter(line(anchor=anchor)), ys) == expected


def test_lines_with_different_anchors_on_one_camera():
    c = counter(line(id="feet"), line(id="head", anchor="top_center"))
    events = [
        (e.line_id, e.direction)
        for s, y in enumerate([250, 350, 450])
        for e in c.trigger(frame(s, (1, 300, y)))
    ]
    assert events == [("feet", "in"), ("head", "in")]


def test_unconfirmed_track_ids_are_ignored():
    assert run(counter(), [250, 350], tid=-1) == []
    c = counter()
    c.trigger(frame(0, (-1, 300, 250), (2, 300, 250)))
    assert c.track_ids == {2}


def test_a_repeated_id_in_one_frame_keeps_its_first_box():
    c = counter()
    c.trigger(frame(0, (1, 300, 250)))
    events = c.trigger(frame(1, (1, 300, 350), (1, 300, 250)))
    assert [e.direction for e in events] == ["in"]


def test_events_are_deterministic_and_carry_the_crossing_frame():
    a = counter()
    b = counter()
    ea = [e for s, y in enumerate([250, 320, 340]) for e in a.trigger(frame(s, (7, 300, y)))]
    eb = [e for s, y in enumerate([250, 320, 340]) for e in b.trigger(frame(s, (7, 300, y)))]
    assert ea == eb and len(ea) == 1
    assert ea[0].frame_seq == 1
    assert ea[0].occurred_at == T0 + timedelta(seconds=0.1)
    assert json.loads(ea[0].model_dump_json())["direction"] == "in"


def test_redelivered_frames_are_ignored():
    c = counter()
    f0, f1 = frame(0, (1, 300, 250)), frame(1, (1, 300, 350))
    assert len(c.trigger(f0) + c.trigger(f1)) == 1
    assert c.trigger(f0) == [] and c.trigger(f1) == []


def test_tracks_expire_after_the_ttl():
    c = counter(track_ttl_s=2.0)
    c.trigger(frame(0, (1, 300, 250)))
    c.trigger(frame(5, (2, 450, 250)))
    assert c.track_ids == {1, 2}
    c.trigger(frame(40, (2, 450, 250)))  # 4 s later: track 1 unseen for 4 s
    assert c.track_ids == {2}


def test_an_id_back_after_the_ttl_is_a_new_track():
    c = counter(track_ttl_s=2.0, id_switch_s=0.0)
    c.trigger(frame(0, (1, 300, 250)))
    # 2.5 s later, with no sweep in between: still a fresh start, no crossing.
    assert c.trigger(frame(1, (1, 300, 350), t=2.5)) == []
    c2 = counter(track_ttl_s=2.0)
    c2.trigger(frame(0, (1, 300, 250)))
    assert [e.direction for e in c2.trigger(frame(1, (1, 300, 350), t=1.9))] == ["in"]


def test_memory_stays_bounded_on_a_long_stream():
    c = counter(track_ttl_s=2.0)
    for k in range(3000):  # 5 minutes, a new person every 0.5 s
        c.trigger(frame(k, (k // 5, 300, 250 + (k % 5) * 25)))
    assert len(c.track_ids) <= 2.0 / 0.5 + 2
    assert len(c.state_dict()["tracks"]["ids"]) == len(c.track_ids)


def test_a_restarted_producer_forgets_every_track():
    c = counter()
    c.trigger(frame(500, (1, 300, 250), t=50.0))
    # The producer restarts: frame numbers and track ids begin again.
    assert c.trigger(frame(0, (1, 300, 350), t=53.0)) == []
    assert run_from(c, 1, [(1, 300, 250)], t=53.1) == ["out"]


def run_from(c: LineCounter, seq: int, feet: list, t: float) -> list[str]:
    return [e.direction for e in c.trigger(frame(seq, *feet, t=t))]


def test_state_round_trip_continues_counting():
    c = counter()
    c.trigger(frame(0, (1, 300, 250)))
    restored = counter()
    restored.load_state(json.loads(json.dumps(c.state_dict())))
    assert [e.direction for e in restored.trigger(frame(1, (1, 300, 350)))] == ["in"]


def test_state_from_another_config_version_drops_tracks():
    c = counter()
    c.trigger(frame(0, (1, 300, 250)))
    other = LineCounter("cam", (line(),), config_version="other")
    other.load_state(c.state_dict())
    assert other.track_ids == frozenset() and other.last_seq == 0


def test_state_in_an_older_layout_drops_tracks_but_keeps_the_position():
    old = {"config_version": "test", "last_seq": 7, "last_time": 1.0, "tracks": {"1": []}}
    c = counter()
    c.load_state(old)
    assert c.track_ids == frozenset() and c.last_seq == 7
    assert c.state_dict()["format"] == STATE_FORMAT


def test_many_tracks_grow_the_state():
    c = counter()
    c.trigger(frame(0, *[(i, 100 + i, 250) for i in range(300)]))
    events = c.trigger(frame(1, *[(i, 100 + i, 350) for i in range(300)]))
    assert len(events) == 300 - 0  # x from 100 to 399: all within the line's span
    assert len(c.track_ids) == 300


# ------------------------------------------------------------------ id switches


def switch(path_a: list, path_b: list, gap_frames: int = 3, **kw) -> list[tuple[int, str]]:
    """Track 1 walks path_a, vanishes for gap_frames, track 2 walks path_b."""
    c = counter(**kw)
    out = []
    seq = 0
    for x, y in path_a:
        out += [(e.track_id, e.direction) for e in c.trigger(frame(seq, (1, x, y)))]
        seq += 1
    seq += gap_frames
    for x, y in path_b:
        out += [(e.track_id, e.direction) for e in c.trigger(frame(seq, (2, x, y)))]
        seq += 1
    return out


DOWN_A = [(300, 200), (300, 220), (300, 240), (300, 260)]  # 20 px a frame towards the line


@pytest.mark.parametrize(
    ("path_b", "gap", "expected"),
    [
        ([(300, 340), (300, 360), (300, 380)], 3, [(2, "in")]),  # where it was heading
        ([(300, 280), (300, 300), (300, 320)], 0, [(2, "in")]),  # a switch without a gap
        ([(300, 255), (300, 240), (300, 220)], 3, []),  # turned back while hidden
        ([(300, 340), (300, 360), (300, 380)], 20, []),  # 2.3 s later: somebody else
        ([(450, 340), (450, 360), (450, 380)], 3, []),  # far from where it was heading
    ],
)
def test_a_new_id_continues_a_track_lost_near_the_line(path_b, gap, expected):
    assert switch(DOWN_A, path_b, gap) == expected


def test_id_switch_tolerance_can_be_turned_off():
    assert switch(DOWN_A, [(300, 340), (300, 360), (300, 380)], 3, id_switch_s=0.0) == []


def test_a_track_lost_far_from_every_line_is_not_continued():
    fast = [(300, 30), (300, 90), (300, 150)]  # 60 px a frame, lost 150 px off the line
    assert switch(fast, [(300, 450), (300, 460)], 4) == []
    assert switch(fast, [(300, 450), (300, 460)], 4, id_switch_near=2.0) == [(2, "in")]


def test_the_old_id_coming_back_after_a_switch_is_a_new_track():
    c = counter()
    for seq, (x, y) in enumerate(DOWN_A):
        c.trigger(frame(seq, (1, x, y)))
    assert [e.track_id for e in c.trigger(frame(6, (2, 300, 340)))] == [2]
    assert c.track_ids == {2}
    assert c.trigger(frame(7, (1, 300, 345), (2, 300, 360))) == []  # no second count


def test_a_switch_survives_a_state_round_trip():
    c = counter()
    for seq, (x, y) in enumerate(DOWN_A):
        c.trigger(frame(seq, (1, x, y)))
    restored = counter()
    restored.load_state(json.loads(json.dumps(c.state_dict())))
    assert [e.track_id for e in restored.trigger(frame(6, (2, 300, 340)))] == [2]
