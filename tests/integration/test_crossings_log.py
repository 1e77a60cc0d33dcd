"""The crossings log on the real database: filters, newest first, keyset pages."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from api.auth.principals import Principal, Role
from api.history.timeframes import Timeframe, timeframe_range
from api.schema import schema
from api.state import ApiState
from schemas.config import load_plant_config
from tests.harness import ROOT, Namespace

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
VIEWER = Principal("key:t", Role.VIEWER, "api-key")
QUERY = """query (
  $camera: ID, $line: ID, $from: DateTime, $to: DateTime, $first: Int!, $after: String
) {
  crossings(cameraId: $camera, lineId: $line, from: $from, to: $to, first: $first, after: $after) {
    edges { cursor node { id occurredAt cameraId lineId direction trackId configVersion } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@pytest.fixture
async def state(namespace: Namespace) -> AsyncIterator[ApiState]:
    rows = []
    for i in range(250):
        camera, line = ("cam-north", "gate-north") if i % 2 else ("cam-south", "door-office")
        # Pairs of crossings share an instant: the id breaks the tie in the order.
        rows.append(
            (
                uuid.uuid4(),
                T0 + timedelta(seconds=i // 2),
                camera,
                line,
                i,
                i,
                "in" if i % 3 else "out",
                "outside",
                "lobby",
                "v1",
            )
        )
    with psycopg.connect(namespace.dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO crossings (id, occurred_at, camera_id, line_id, track_id, frame_seq, "
            "direction, from_zone, to_zone, config_version) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    pool = AsyncConnectionPool(namespace.dsn, min_size=1, max_size=2, open=False)
    await pool.open(wait=True)
    plant = load_plant_config(ROOT / "config" / "demo-plant.toml")
    yield ApiState(None, plant, pool, None, None)  # type: ignore[arg-type]
    await pool.close()


async def run(state: ApiState, **variables: object) -> dict:
    result = await schema.execute(
        QUERY,
        variable_values={"first": 100, **variables},
        context_value={"state": state, "principal": VIEWER},
    )
    if result.errors:
        return {"errors": result.errors}
    return result.data["crossings"]  # type: ignore[index]


async def test_pages_walk_every_crossing_once_newest_first(state: ApiState) -> None:
    seen, after, pages = [], None, 0
    while True:
        page = await run(state, after=after)
        pages += 1
        seen += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3 and len(seen) == 250 and len({n["id"] for n in seen}) == 250
    keys = [(n["occurredAt"], n["id"]) for n in seen]
    assert keys == sorted(keys, reverse=True)

    # Crossings stored between two pages: a late one (older than the cursor) shows up
    # on a later page once; a new one (newer) does not shift the pages.
    first = await run(state, first=10)
    late, new = uuid.uuid4(), uuid.uuid4()
    async with state.pool.connection() as conn:
        for cid, at in ((late, T0 - timedelta(seconds=1)), (new, T0 + timedelta(hours=1))):
            await conn.execute(
                "INSERT INTO crossings VALUES (%s, %s, 'cam-north', 'gate-north', 9, 9, 'in', "
                "'outside', 'lobby', 'v1')",
                (cid, at),
            )
    rest = await run(state, first=500, after=first["pageInfo"]["endCursor"])
    ids = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert len(ids) == len(set(ids)) == 251
    assert str(late) in ids and str(new) not in ids


async def test_filters_by_camera_line_and_time(state: ApiState) -> None:
    north = await run(state, camera="cam-north", first=500)
    assert len(north["edges"]) == 125
    assert {e["node"]["lineId"] for e in north["edges"]} == {"gate-north"}
    office = await run(state, line="door-office", first=500)
    assert {e["node"]["cameraId"] for e in office["edges"]} == {"cam-south"}
    window = await run(
        state,
        first=500,
        **{
            "from": (T0 + timedelta(seconds=10)).isoformat(),
            "to": (T0 + timedelta(seconds=20)).isoformat(),
        },
    )
    assert len(window["edges"]) == 20  # 2 crossings per second, [10 s, 20 s)


@pytest.mark.parametrize(
    ("variables", "code", "says"),
    [
        ({"first": 0}, "BAD_USER_INPUT", "first must be between 1 and 500"),
        ({"first": 501}, "BAD_USER_INPUT", "first must be between 1 and 500"),
        ({"after": "not-a-cursor"}, "BAD_USER_INPUT", "after is not a cursor"),
        ({"camera": "nowhere"}, "NOT_FOUND", "unknown camera"),
        ({"line": "nowhere"}, "NOT_FOUND", "unknown line"),
    ],
)
async def test_bad_arguments_get_clear_errors(
    state: ApiState, variables: dict, code: str, says: str
) -> None:
    [error] = (await run(state, **variables))["errors"]
    assert error.extensions["code"] == code and says in error.message


async def test_cameras_count_each_lines_crossings_since_local_midnight(
    state: ApiState,
) -> None:
    now = datetime.now(UTC)
    midnight = timeframe_range(Timeframe.TODAY, now, ZoneInfo("Europe/Berlin")).start
    rows = [
        (midnight + timedelta(seconds=1), "gate-north", "in"),
        (now - timedelta(seconds=1), "gate-north", "in"),
        (now - timedelta(seconds=1), "gate-north", "out"),
        (now - timedelta(seconds=2), "door-office", "out"),
        (midnight - timedelta(seconds=1), "gate-north", "in"),  # yesterday, Berlin time
    ]
    async with state.pool.connection() as conn:
        for at, line, direction in rows:
            camera = "cam-north" if line == "gate-north" else "cam-south"
            await conn.execute(
                "INSERT INTO crossings VALUES (%s, %s, %s, %s, 1, 1, %s, 'a', 'b', 'v1')",
                (uuid.uuid4(), at, camera, line, direction),
            )
    state.hub = SimpleNamespace(cameras={}, snapshots={})  # type: ignore[assignment]
    result = await schema.execute(
        "{ cameras { id entriesToday exitsToday lines { id entriesToday exitsToday } } }",
        context_value={"state": state, "principal": VIEWER},
    )
    assert result.errors is None, result.errors
    got = {c["id"]: c for c in result.data["cameras"]}  # type: ignore[index]
    assert (got["cam-north"]["entriesToday"], got["cam-north"]["exitsToday"]) == (2, 1)
    assert (got["cam-south"]["entriesToday"], got["cam-south"]["exitsToday"]) == (0, 1)
    lines = {
        ln["id"]: (ln["entriesToday"], ln["exitsToday"]) for c in got.values() for ln in c["lines"]
    }
    assert lines == {
        "gate-north": (2, 1),
        "door-workshop": (0, 0),
        "gate-south": (0, 0),
        "door-office": (0, 1),
    }


async def test_dwell_time_of_a_zone_from_its_stored_changes(state: ApiState) -> None:
    # One person inside before the range; in the range: in at +0 and +10 s, then
    # exits at +20 (the one from before), +30 and +70: stays 30 s and 60 s.
    samples = [  # seconds from T0, occupancy after, entered, exited
        (-60, 1, 1, 0),
        (0, 2, 1, 0),
        (10, 3, 1, 0),
        (20, 2, 0, 1),
        (30, 1, 0, 1),
        (70, 0, 0, 1),
        (80, 1, 1, 0),  # still inside at the end
    ]
    async with state.pool.connection() as conn:
        entries = exits = 0
        for version, (dt, occ, ins, outs) in enumerate(samples, start=1):
            entries, exits = entries + ins, exits + outs
            await conn.execute(
                "INSERT INTO occupancy_samples (id, at, zone_id, occupancy, entries, exits, "
                "version, cause, cause_id, delta, entered, exited, level) "
                "VALUES (%s, %s, 'office', %s, %s, %s, %s, 'crossing', %s, %s, %s, %s, %s)",
                (
                    uuid.uuid4(),
                    T0 + timedelta(seconds=dt),
                    occ,
                    entries,
                    exits,
                    version,
                    uuid.uuid4(),
                    ins - outs,
                    ins,
                    outs,
                    occ,
                ),
            )
    result = await schema.execute(
        """query ($f: DateTime!, $t: DateTime!) { dwellTime(zone: "office", from: $f, to: $t) {
             visits averageSeconds medianSeconds maxSeconds stillInside } }""",
        variable_values={"f": T0.isoformat(), "t": (T0 + timedelta(minutes=5)).isoformat()},
        context_value={"state": state, "principal": VIEWER},
    )
    assert result.errors is None, result.errors
    assert result.data == {  # type: ignore[comparison-overlap]
        "dwellTime": {
            "visits": 2,
            "averageSeconds": 45.0,
            "medianSeconds": 45.0,
            "maxSeconds": 60.0,
            "stillInside": 1,
        }
    }
    bad = await schema.execute(
        '{ dwellTime(zone: "office", from: "2026-03-02T09:00:00Z", to: "2026-03-02T08:00:00Z") '
        "{ visits } }",
        context_value={"state": state, "principal": VIEWER},
    )
    assert bad.errors and "from must be before to" in bad.errors[0].message
