import math
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.config import LineConfig, ZoneConfig
from schemas.events import SourceProgress, ZoneDelta
from schemas.operations import OccupancyCalibrated, OccupancyReset, reset_id
from streams.core.zones import ZoneGraph, ZoneOccupancy, parse_zone_input

ZONES = [
    ZoneConfig(id="site"),
    ZoneConfig(id="floor1", parent="site"),
    ZoneConfig(id="lab", parent="floor1"),
    ZoneConfig(id="floor2", parent="site"),
]
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("src", "dst", "expected"),
    [
        ("outside", "floor1", {("floor1", 1), ("site", 1)}),
        ("floor1", "lab", {("lab", 1)}),
        ("lab", "floor1", {("lab", -1)}),
        ("lab", "floor2", {("lab", -1), ("floor1", -1), ("floor2", 1)}),
        ("lab", "outside", {("lab", -1), ("floor1", -1), ("site", -1)}),
    ],
)
def test_zone_graph_effects(src, dst, expected):
    assert set(ZoneGraph(ZONES).effects(src, dst)) == expected


def test_zone_graph_knows_which_cameras_feed_a_zone():
    lines = [
        LineConfig(
            id="gate",
            camera_id="cam-a",
            points=((0, 0), (10, 0)),
            from_zone="outside",
            to_zone="floor1",
        ),
        LineConfig(
            id="lab-door",
            camera_id="cam-b",
            points=((0, 0), (10, 0)),
            from_zone="floor1",
            to_zone="lab",
        ),
    ]
    graph = ZoneGraph(ZONES, lines)
    assert graph.sources_of("site") == {"cam-a"}
    assert graph.sources_of("floor1") == {"cam-a"}  # cam-b moves people within floor1
    assert graph.sources_of("lab") == {"cam-b"}
    assert graph.sources_of("floor2") == frozenset()
    assert graph.zones_fed_by("cam-a") == ("floor1", "site")


def delta(
    d: int, at: datetime = T0, cid: uuid.UUID | None = None, camera: str = "cam", zone: str = "lab"
) -> ZoneDelta:
    return ZoneDelta(
        zone_id=zone,
        crossing_id=cid or uuid.uuid4(),
        delta=d,
        camera_id=camera,
        line_id="door",
        occurred_at=at - timedelta(seconds=0.2),
        source_time=at,
    )


def mark(camera: str, at: datetime, zone: str = "lab") -> SourceProgress:
    return SourceProgress(zone_id=zone, camera_id=camera, source_time=at)


# ------------------------------------------------ without sources: arrival order


def test_occupancy_folds_entries_and_exits():
    z = ZoneOccupancy("lab")
    steps = enumerate((1, 1, -1, 1))
    changes = [c for i, d in steps for c in z.apply(delta(d, T0 + timedelta(seconds=i)))]
    assert [c.occupancy for c in changes] == [1, 2, 1, 2]
    assert (z.entries, z.exits, z.version) == (3, 1, 4)


def test_occupancy_never_goes_negative_and_flags_drift():
    z = ZoneOccupancy("lab")
    (change,) = z.apply(delta(-1))
    assert change.occupancy == 0 and change.clamped
    assert z.exits == 1 and z.clamped_total == 1


# ------------------------------------------------ with sources: event-time order


def test_inputs_wait_until_every_source_has_passed_them():
    z = ZoneOccupancy("lab", sources={"cam-a", "cam-b"})
    t = T0
    assert z.apply(delta(-1, t + timedelta(seconds=2), camera="cam-b")) == []
    assert z.apply(delta(1, t + timedelta(seconds=1), camera="cam-a")) == []
    assert z.pending == 2
    # cam-a is complete up to 3 s, cam-b up to just before 2 s: the entry settles.
    (entry,) = z.apply(mark("cam-a", t + timedelta(seconds=3)))
    assert (entry.occupancy, entry.clamped) == (1, False)
    # cam-b's frame at 2 s may have had more deltas; its mark settles the exit.
    (exit_,) = z.apply(mark("cam-b", t + timedelta(seconds=2)))
    assert (exit_.occupancy, exit_.clamped) == (0, False)
    assert z.pending == 0


def test_a_backlog_does_not_clamp_an_exit_that_came_after_its_entry():
    # Arrival order: cam-b's exit long before cam-a's entry (cam-b's partition
    # drained first). In event time the entry came first: nothing is clamped.
    z = ZoneOccupancy("lab", sources={"cam-a", "cam-b"})
    z.apply(delta(-1, T0 + timedelta(seconds=5), camera="cam-b"))
    z.apply(mark("cam-b", T0 + timedelta(minutes=10)))
    z.apply(delta(1, T0 + timedelta(seconds=1), camera="cam-a"))
    changes = z.apply(mark("cam-a", T0 + timedelta(minutes=10)))
    assert [c.occupancy for c in changes] == [1, 0]
    assert z.clamped_total == 0


def test_redelivery_after_any_backlog_counts_once():
    z = ZoneOccupancy("lab", sources={"cam"})
    sent = [delta(1, T0 + timedelta(seconds=i)) for i in range(2000)]
    for d in sent:
        z.apply(d)
    z.apply(mark("cam", T0 + timedelta(seconds=3000)))
    assert (z.occupancy, z.entries) == (2000, 2000)
    # A restarted worker sends everything again, far more than any window of ids.
    restored = ZoneOccupancy.from_state(z.state_dict(), sources={"cam"})
    for d in sent:
        assert restored.apply(d) == []
    assert (restored.occupancy, restored.entries) == (2000, 2000)
    assert len(restored.state_dict()["high_water"]) == 1  # memory per source, not per id


def test_an_older_calibration_arriving_late_does_not_override_a_newer_one():
    z = ZoneOccupancy("lab", sources={"cam"})
    newer = OccupancyCalibrated(
        id=uuid.uuid4(),
        zone_id="lab",
        occupancy=9,
        at=T0 + timedelta(minutes=5),
        by="b",
        reason="r",
    )
    older = OccupancyCalibrated(
        id=uuid.uuid4(),
        zone_id="lab",
        occupancy=2,
        at=T0 + timedelta(minutes=1),
        by="a",
        reason="r",
    )
    z.apply(newer)
    z.apply(mark("cam", T0 + timedelta(minutes=6)))
    assert z.occupancy == 9
    assert z.apply(older) == []  # late and superseded
    assert z.occupancy == 9
    # Both pending: folded in event-time order, the newer wins too.
    y = ZoneOccupancy("lab", sources={"cam"})
    y.apply(newer)
    y.apply(older)
    assert [c.occupancy for c in y.apply(mark("cam", T0 + timedelta(minutes=6)))] == [2, 9]


def test_a_calibration_waits_for_the_crossings_before_it():
    z = ZoneOccupancy("lab", sources={"cam"})
    cal = OccupancyCalibrated(
        id=uuid.uuid4(),
        zone_id="lab",
        occupancy=5,
        at=T0 + timedelta(seconds=10),
        by="a",
        reason="r",
    )
    changes = z.apply(cal)  # arrives before the camera's backlog
    changes += z.apply(delta(1, T0 + timedelta(seconds=4)))  # before the count: included
    changes += z.apply(delta(1, T0 + timedelta(seconds=12)))  # after the count: on top
    changes += z.apply(mark("cam", T0 + timedelta(seconds=20)))
    assert [(c.cause, c.occupancy) for c in changes] == [
        ("crossing", 1),
        ("calibration", 5),
        ("crossing", 6),
    ]


def test_a_stalled_source_stops_holding_the_zone_back():
    z = ZoneOccupancy("lab", sources={"cam-a", "cam-dead"}, stall_after_s=30)
    assert z.apply(delta(1, T0, camera="cam-a"), wall_now=1000.0) == []
    assert z.apply(mark("cam-a", T0 + timedelta(seconds=1)), wall_now=1010.0) == []
    (change,) = z.apply(mark("cam-a", T0 + timedelta(seconds=2)), wall_now=1031.0)
    assert change.occupancy == 1
    # cam-dead comes back with an old delta: late, folded on top and counted.
    (late,) = z.apply(delta(-1, T0, camera="cam-dead"), wall_now=1040.0)
    assert late.occupancy == 0 and z.late_total == 1


def test_every_source_stalled_settles_what_waits():
    z = ZoneOccupancy("lab", sources={"cam"}, stall_after_s=30)
    cal = OccupancyCalibrated(
        id=uuid.uuid4(), zone_id="lab", occupancy=3, at=T0, by="a", reason="r"
    )
    assert z.apply(cal, wall_now=1000.0) == []
    (change,) = z.settle(wall_now=1031.0)
    assert change.occupancy == 3
    assert math.isfinite(z.settled_at)


def test_state_round_trip_keeps_pending_and_progress():
    z = ZoneOccupancy("lab", sources={"cam-a", "cam-b"})
    z.apply(delta(1, T0 + timedelta(seconds=1), camera="cam-a"))
    z.apply(mark("cam-b", T0 + timedelta(seconds=5)))
    restored = ZoneOccupancy.from_state(z.state_dict(), sources={"cam-a", "cam-b"})
    assert restored.pending == 1
    (change,) = restored.apply(mark("cam-a", T0 + timedelta(seconds=5)))
    assert change.occupancy == 1


def test_zone_inputs_parse_by_type():
    d = delta(1)
    assert parse_zone_input(d.model_dump_json()) == d
    m = mark("cam", T0)
    assert parse_zone_input(m.model_dump_json()) == m
    v1 = d.model_dump(mode="json") | {"schema_version": 1}
    del v1["source_time"]
    old = parse_zone_input(ZoneDelta.model_validate(v1).model_dump_json())
    assert isinstance(old, ZoneDelta) and old.position_time == old.occurred_at


# ------------------------------------------------ property: any interleaving


def _camera_streams(rng: random.Random, cameras: int, frames: int):
    """Per camera, what the crossings agent sends to one zone, in send order."""
    streams = {}
    for c in range(cameras):
        cam = f"cam-{c}"
        out = []
        t = T0 + timedelta(milliseconds=rng.randrange(0, 100))
        for _ in range(frames):
            t += timedelta(milliseconds=rng.choice([40, 100, 100, 250]))
            n = rng.choice([0, 0, 0, 1, 1, 2])
            ids = sorted(
                (uuid.UUID(int=rng.getrandbits(128)) for _ in range(n)), key=lambda u: u.hex
            )
            out += [delta(rng.choice([1, 1, -1]), t, cid=i, camera=cam) for i in ids]
            if rng.random() < 0.3:
                out.append(mark(cam, t))
        out.append(mark(cam, T0 + timedelta(hours=1)))  # the end of the scene
        streams[cam] = out
    return streams


def _interleave(rng: random.Random, streams, redeliver: bool):
    """Merge per-camera streams keeping each one's order; optionally replay prefixes."""
    queues = {cam: list(s) for cam, s in streams.items()}
    if redeliver:
        for cam, s in queues.items():
            cut = rng.randrange(0, len(s))
            back = rng.randrange(0, cut + 1)
            queues[cam] = s[:cut] + s[back:]  # a restart re-sends from an older offset
    out = []
    while any(queues.values()):
        cam = rng.choice([c for c, q in queues.items() if q])
        out.append(queues[cam].pop(0))
    return out


def _fold(items, sources, restart_every: int = 0):
    z = ZoneOccupancy("lab", sources=sources)
    changes = []
    for i, item in enumerate(items):
        changes += z.apply(item)
        if restart_every and i % restart_every == 0:
            z = ZoneOccupancy.from_state(z.state_dict(), sources=sources)
    return [(c.id, c.occupancy, c.entries, c.exits, c.version, c.clamped) for c in changes], z


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cameras=st.integers(1, 4), redeliver=st.booleans())
def test_any_interleaving_gives_the_same_changes(seed, cameras, redeliver):
    rng = random.Random(seed)
    streams = _camera_streams(rng, cameras, frames=rng.randrange(5, 60))
    sources = set(streams)
    # Reference: every delta exactly once, sorted by (source time, id), clamped at 0.
    deltas = sorted(
        (x for s in streams.values() for x in s if isinstance(x, ZoneDelta)),
        key=lambda d: (d.source_time, d.crossing_id.hex),
    )
    occ, expected = 0, []
    for d in deltas:
        clamped = d.delta < 0 and occ == 0
        occ = max(0, occ + d.delta)
        expected.append((occ, clamped))
    live, zone = _fold(_interleave(rng, streams, False), sources)
    assert [(c[1], c[5]) for c in live] == expected
    assert zone.pending == 0
    other, _ = _fold(
        _interleave(rng, streams, redeliver), sources, restart_every=rng.randrange(1, 9)
    )
    assert other == live


# ------------------------------------- corrections: calibrations and resets

T_COMMANDS = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_commands_are_applied_once():
    zone = ZoneOccupancy("room")
    cal = OccupancyCalibrated(
        id=uuid.uuid4(), zone_id="room", occupancy=7, at=T_COMMANDS, by="anna", reason="counted"
    )
    assert zone.apply(cal)[0].occupancy == 7
    assert zone.apply(cal) == []
    assert (zone.occupancy, zone.entries, zone.exits) == (7, 0, 0)


def test_a_reset_older_than_the_last_one_is_ignored():
    zone = ZoneOccupancy("room")

    def reset(at: datetime) -> OccupancyReset:
        return OccupancyReset(
            id=reset_id("room", at.timestamp()),
            zone_id="room",
            at=at,
            local_time="03:00",
            timezone="UTC",
        )

    zone.occupancy = 5
    assert zone.apply(reset(T_COMMANDS))[0].occupancy == 0
    zone.occupancy = 4  # people came in after the reset
    assert zone.apply(reset(T_COMMANDS)) == []  # re-emitted by a restarted worker
    assert zone.apply(reset(T_COMMANDS - timedelta(days=1))) == []
    assert zone.occupancy == 4
    assert zone.apply(reset(T_COMMANDS + timedelta(days=1)))[0].occupancy == 0


def test_a_correction_keeps_crossings_that_happened_after_its_instant():
    zone = ZoneOccupancy("room")

    def delta(d: int, at: datetime) -> ZoneDelta:
        return ZoneDelta(
            zone_id="room",
            crossing_id=uuid.uuid4(),
            delta=d,
            camera_id="cam",
            line_id="door",
            occurred_at=at,
        )

    for i in range(5):
        zone.apply(delta(1, T_COMMANDS + timedelta(seconds=i)))  # 5 people by T_COMMANDS+4s
    zone.apply(delta(1, T_COMMANDS + timedelta(seconds=20)))  # one more, after the count
    zone.apply(delta(-1, T_COMMANDS + timedelta(seconds=21)))
    zone.apply(delta(1, T_COMMANDS + timedelta(seconds=22)))
    # Someone counted 3 people at T_COMMANDS+10s; the command arrives only now.
    cal = OccupancyCalibrated(
        id=uuid.uuid4(),
        zone_id="room",
        occupancy=3,
        at=T_COMMANDS + timedelta(seconds=10),
        by="anna",
        reason="counted",
    )
    assert zone.apply(cal)[0].occupancy == 3 + 1 - 1 + 1
    restored = ZoneOccupancy.from_state(zone.state_dict())
    assert restored.apply(cal) == [] and restored.occupancy == 4


def test_a_delta_from_before_a_correction_arriving_after_it_keeps_the_correction():
    zone = ZoneOccupancy("room")
    zone.occupancy = 4
    at = T_COMMANDS + timedelta(hours=20)
    zone.apply(
        OccupancyReset(
            id=reset_id("room", at.timestamp()),
            zone_id="room",
            at=at,
            local_time="03:00",
            timezone="UTC",
        )
    )
    late = ZoneDelta(
        zone_id="room",
        crossing_id=uuid.uuid4(),
        delta=-1,
        camera_id="cam",
        line_id="door",
        occurred_at=T_COMMANDS + timedelta(hours=2),  # before the reset, delivered after it
    )
    (change,) = zone.apply(late)
    assert change.occupancy == 0 and not change.clamped and zone.exits == 1


# ------------------------------------------------ progress records (SourceProgress v2)


def test_one_progress_record_carries_many_cameras_and_each_zone_takes_its_own():
    lab = ZoneOccupancy("lab", ["cam-a", "cam-b"])
    floor = ZoneOccupancy("floor1", ["cam-c"], stall_after_s=30)
    first = delta(1, T0, camera="cam-a")
    assert lab.apply(first, wall_now=0.0) == []
    assert floor.apply(delta(1, T0, camera="cam-c", zone="floor1"), wall_now=0.0) == []
    record = SourceProgress(
        zone_ids=["floor1", "lab"],
        marks={"cam-a": T0, "cam-b": T0 + timedelta(seconds=1), "cam-x": T0},
    )
    [settled] = lab.apply(record, wall_now=0.1)
    assert settled.cause_id == first.crossing_id and settled.occupancy == 1
    assert set(lab.progress) == {"cam-a", "cam-b"}  # cam-x feeds neither zone
    assert floor.apply(record, wall_now=0.1) == []  # cam-c is not in the record
    assert floor.pending == 1


def test_a_progress_record_of_version_1_reads_as_one_camera_and_one_zone():
    raw = (
        '{"type": "SourceProgress", "schema_version": 1, "zone_id": "lab",'
        ' "camera_id": "cam-a", "source_time": "2026-03-01T08:00:00Z"}'
    )
    item = parse_zone_input(raw)
    assert isinstance(item, SourceProgress)
    assert item.zone_ids == ["lab"] and item.marks == {"cam-a": T0}


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": "SourceProgress", "zone_ids": [], "marks": {"cam": "2026-03-01T08:00:00Z"}}',
        '{"type": "SourceProgress", "zone_ids": ["lab"], "marks": {}}',
        '{"type": "SourceProgress", "zone_ids": ["lab"], "marks": {"cam": "08:00"}}',
    ],
)
def test_a_progress_record_without_zones_marks_or_times_is_refused(raw):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        parse_zone_input(raw)
