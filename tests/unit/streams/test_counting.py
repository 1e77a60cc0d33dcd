from datetime import UTC, datetime, timedelta

import pytest

from schemas.config import LineConfig
from schemas.events import FrameDetections, Track
from streams.counting import LineCounter

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def line(**kw) -> LineConfig:
    base = dict(
        id="door",
        camera_id="cam",
        points=((100.0, 300.0), (500.0, 300.0)),
        from_zone="outside",
        to_zone="hall",
        min_distance_px=6.0,
    )
    base.update(kw)
    return LineConfig(**base)


def frame(seq: int, *feet: tuple[int, float, float]) -> FrameDetections:
    """A frame whose tracks have their bottom-centre (feet) at the given points."""
    return FrameDetections(
        camera_id="cam",
        frame_seq=seq,
        captured_at=T0 + timedelta(seconds=seq / 10),
        frame_width=640,
        frame_height=480,
        tracks=tuple(Track(id=tid, box=(x - 20, y - 100, x + 20, y)) for tid, x, y in feet),
    )


def run(counter: LineCounter, ys: list[float], x: float = 300.0, tid: int = 1) -> list[str]:
    out = []
    for seq, y in enumerate(ys):
        out += [e.direction for e in counter.trigger(frame(seq, (tid, x, y)))]
    return out


def counter(*lines: LineConfig) -> LineCounter:
    return LineCounter("cam", lines or (line(),), config_version="test")


@pytest.mark.parametrize(
    ("ys", "expected"),
    [
        ([250, 280, 320, 350], ["in"]),  # walks down across: in
        ([350, 320, 280, 250], ["out"]),  # walks up across: out
        ([250, 350], ["in"]),  # one big step at a low frame rate
        ([250, 280, 299, 280, 250], []),  # comes close, turns back
        ([250, 300, 250], []),  # touches the line, turns back (U-turn)
        ([250, 303, 297, 302, 298, 250], []),  # jitters on the line, leaves the way it came
        ([250, 303, 297, 302, 298, 320], ["in"]),  # hovers, then crosses: once
        ([250, 320, 250, 320], ["in", "out", "in"]),  # re-entry counts again
        ([250, 320, 320, 320], ["in"]),  # standing on the far side counts nothing more
        ([301, 320, 340], []),  # first seen inside the jitter band: side unknown
    ],
)
def test_single_track(ys, expected):
    assert run(counter(), ys) == expected


def test_walking_round_the_end_of_the_line_counts_nothing():
    c = counter()
    path = [(50, 250), (40, 300), (50, 350), (60, 400)]  # left of x=100, the line's start
    out = []
    for seq, (x, y) in enumerate(path):
        out += c.trigger(frame(seq, (1, x, y)))
    assert out == []


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


@pytest.mark.parametrize(("allowed", "expected"), [("in", ["in"]), ("out", ["out"])])
def test_one_way_lines_ignore_the_other_direction(allowed, expected):
    c = counter(line(allowed=allowed))
    assert run(c, [250, 320, 250]) == expected


def test_min_frames_requires_consecutive_frames_beyond_the_band():
    c = counter(line(min_frames=3))
    assert run(c, [250, 320, 320, 250]) == []  # only two frames past the line
    c = counter(line(min_frames=3))
    assert run(c, [250, 320, 320, 320]) == ["in"]


def test_unconfirmed_track_ids_are_ignored():
    assert run(counter(), [250, 350], tid=-1) == []


def test_events_are_deterministic_and_carry_the_crossing_frame():
    a = counter()
    b = counter()
    ea = [e for s, y in enumerate([250, 320, 340]) for e in a.trigger(frame(s, (7, 300, y)))]
    eb = [e for s, y in enumerate([250, 320, 340]) for e in b.trigger(frame(s, (7, 300, y)))]
    assert ea == eb and len(ea) == 1
    assert ea[0].frame_seq == 1
    assert ea[0].occurred_at == T0 + timedelta(seconds=0.1)


def test_redelivered_frames_are_ignored():
    c = counter()
    f0, f1 = frame(0, (1, 300, 250)), frame(1, (1, 300, 350))
    assert len(c.trigger(f0) + c.trigger(f1)) == 1
    assert c.trigger(f0) == [] and c.trigger(f1) == []


def test_tracks_expire_after_the_ttl():
    c = LineCounter("cam", (line(),), config_version="test", track_ttl_s=2.0)
    c.trigger(frame(0, (1, 300, 250)))
    c.trigger(frame(5, (2, 300, 250)))
    assert set(c.tracks) == {1, 2}
    c.trigger(frame(40, (2, 300, 250)))  # 4 s later: track 1 unseen for 4 s
    assert set(c.tracks) == {2}


def test_state_round_trip_continues_counting():
    c = counter()
    c.trigger(frame(0, (1, 300, 250)))
    restored = counter()
    restored.load_state(c.state_dict())
    assert [e.direction for e in restored.trigger(frame(1, (1, 300, 350)))] == ["in"]


def test_state_from_another_config_version_drops_tracks():
    c = counter()
    c.trigger(frame(0, (1, 300, 250)))
    other = LineCounter("cam", (line(),), config_version="other")
    other.load_state(c.state_dict())
    assert other.tracks == {} and other.last_seq == 0
