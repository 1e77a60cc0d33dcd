import uuid
from datetime import UTC, datetime

import pytest

from schemas.config import ZoneConfig
from schemas.events import ZoneDelta
from streams.occupancy import ZoneGraph, ZoneOccupancy

ZONES = [
    ZoneConfig(id="site"),
    ZoneConfig(id="floor1", parent="site"),
    ZoneConfig(id="lab", parent="floor1"),
    ZoneConfig(id="floor2", parent="site"),
]


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


def delta(d: int, cid: uuid.UUID | None = None) -> ZoneDelta:
    return ZoneDelta(
        zone_id="lab",
        crossing_id=cid or uuid.uuid4(),
        delta=d,
        camera_id="cam",
        line_id="door",
        occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
    )


def test_occupancy_folds_entries_and_exits():
    z = ZoneOccupancy("lab")
    changes = [z.apply(delta(d)) for d in (1, 1, -1, 1)]
    assert [c.occupancy for c in changes] == [1, 2, 1, 2]
    assert (z.entries, z.exits, z.version) == (3, 1, 4)


def test_duplicates_change_nothing():
    z = ZoneOccupancy("lab")
    d = delta(1)
    assert z.apply(d) is not None
    assert z.apply(d) is None
    assert z.occupancy == 1 and z.version == 1


def test_occupancy_never_goes_negative_and_flags_drift():
    z = ZoneOccupancy("lab")
    change = z.apply(delta(-1))
    assert change.occupancy == 0 and change.clamped
    assert z.exits == 1 and z.clamped_total == 1


def test_state_round_trip_keeps_dedupe_memory():
    z = ZoneOccupancy("lab")
    d = delta(1)
    z.apply(d)
    restored = ZoneOccupancy.from_state(z.state_dict())
    assert restored.apply(d) is None
    assert restored.apply(delta(1)).occupancy == 2
