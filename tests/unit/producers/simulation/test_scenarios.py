import itertools

import pytest

from producers.simulation.scenarios import (
    SCENARIOS,
    TRUTH_MARGIN_PX,
    Person,
    ground_truth,
    long_run,
    scenario,
)
from schemas.config import LineConfig

DOOR = LineConfig(
    id="door",
    camera_id="cam-bench",
    points=((100.0, 300.0), (500.0, 300.0)),
    from_zone="outside",
    to_zone="hall",
)


def person(*points: tuple[float, float]) -> Person:
    wp = tuple((float(k), float(x), float(y)) for k, (x, y) in enumerate(points))
    return Person(waypoints=wp, width=50.0, height=150.0, ids=((0.0, 1),))


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ([(300, 200), (300, 400)], {"in": 1, "out": 0}),
        ([(300, 400), (300, 200)], {"in": 0, "out": 1}),
        ([(300, 200), (300, 300), (300, 200)], {"in": 0, "out": 0}),  # touches, turns back
        ([(300, 200), (300, 315), (300, 200)], {"in": 0, "out": 0}),  # within the margin
        ([(300, 200), (300, 350), (300, 200)], {"in": 1, "out": 1}),  # well over, and back
        ([(300, 200), (300, 296), (300, 304), (300, 298), (300, 400)], {"in": 1, "out": 0}),
        ([(50, 200), (40, 300), (50, 400)], {"in": 0, "out": 0}),  # round the end
        ([(50, 310), (600, 290)], {"in": 0, "out": 0}),  # along the line, on it
        ([(50, 250), (600, 350)], {"in": 1, "out": 0}),  # across at a shallow angle
    ],
)
def test_ground_truth_rules(points, expected):
    assert ground_truth((person(*points),), (DOOR,)) == {"door": expected}


def test_margin_is_larger_than_any_scenario_noise():
    for name, build in SCENARIOS.items():
        if name == "long_run":
            continue
        assert all(4 * p.noise_px < TRUTH_MARGIN_PX for p in build().people), name


@pytest.mark.parametrize(
    ("name", "crossings"),
    [
        ("dense_crowd", 420),  # everybody crosses once
        ("groups", None),
        ("jitter", 80),  # the 80 walkers; the 25 who wait beside the line do not cross
        ("u_turns", 150),  # 30 shallow (0) + 30 deep (2) + 30 in-out-in (3)
        ("low_fps", 110),
        ("occlusions", 150),  # the 25 who turn back while hidden do not cross
        ("along_line", 25),  # only the 25 who drift across
    ],
)
def test_scenarios_have_their_designed_ground_truth(name, crossings):
    sc = scenario(name)
    if crossings is not None:
        assert sc.crossings == crossings
    assert sc.crossings > 0
    assert set(sc.truth) == {ln.id for ln in sc.lines}


def test_hovering_counts_only_those_who_leave_on_the_other_side():
    sc = scenario("hovering")
    line = sc.lines[0]
    (ax, ay), (bx, by) = line.points

    def side(x: float, y: float) -> int:
        return 1 if (bx - ax) * (y - ay) - (by - ay) * (x - ax) > 0 else -1

    expected = sum(side(*p.waypoints[0][1:]) != side(*p.waypoints[-1][1:]) for p in sc.people)
    assert sc.crossings == expected
    assert 0 < expected < len(sc.people)


@pytest.mark.parametrize("name", [n for n in SCENARIOS if n != "long_run"])
def test_frames_are_valid_deterministic_and_ordered(name):
    sc = scenario(name)
    first = list(sc.frames())
    again = list(sc.frames())
    assert first == again
    assert len(first) == sc.n_frames
    times = [f.captured_at for f in first]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert all(f.camera_id == sc.camera_id for f in first)
    assert scenario(name).truth == sc.truth  # seeded


def test_occlusions_switch_ids_and_hide_people():
    sc = scenario("occlusions")
    assert sum(len(p.ids) > 1 for p in sc.people) > 40
    assert sum(bool(p.hidden) for p in sc.people) > 80


def test_dense_crowd_reports_unconfirmed_ids():
    frames = itertools.islice(scenario("dense_crowd").frames(), 200)
    assert any(t.id == -1 for f in frames for t in f.tracks)


def test_long_run_spans_hours_and_is_produced_lazily():
    sc = long_run()
    assert sc.duration_s >= 5 * 3600
    assert sc.n_frames > 180_000
    frames = sc.frames()
    head = list(itertools.islice(frames, 10))  # no need to render six hours to start
    assert [f.frame_seq for f in head] == list(range(10))
    assert sc.crossings > 300


def test_unknown_scenario_names_the_known_ones():
    with pytest.raises(KeyError, match="dense_crowd"):
        scenario("nope")
