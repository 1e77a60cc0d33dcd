"""History against the real database: a simulated fortnight, checked against ground truth.

Two weeks of a three-shift plant (the demo plant, Europe/Berlin) are written
through the real :class:`PostgresSink`: 2026-03-25..31, with the spring
daylight-saving change and the end of March, and 2026-10-22..28, with the
autumn change. Some crossings arrive up to 20 minutes late, some batches are
delivered twice, many crossings fall exactly on a minute boundary or share a
timestamp, and each zone gets one head-count calibration. Every history query
(every zone, camera and line; minute, hour, day and month buckets), the CSV
export and the facility statistics are compared with values computed here,
in plain Python, from the generated crossings alone (who crossed which line
when), not from what the pipeline stored.

The same tests run on the TimescaleDB path when the database server has the
extension (``OCC_DATABASE_URL`` pointing at such a server), and then the rows
of every history relation must equal the plain path's; otherwise they are
skipped, with the reason in the test output.
"""

from __future__ import annotations

import bisect
import csv
import io
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette

from api.auth.http import Authenticator
from api.auth.keys import KeyVerifier, create_key_sync
from api.auth.principals import Principal, Role
from api.history import history_export_route
from api.history.buckets import MAX_POINTS
from api.schema import schema
from api.state import ApiState
from schemas.config import LineConfig, PlantConfig, load_plant_config
from schemas.events import CrossingEvent, OccupancyChanged, crossing_id
from schemas.migrate import migrate, refresh_history
from schemas.operations import OccupancyCalibrated
from streams.core.zones import ZoneGraph, ZoneOccupancy
from streams.sinks.postgres import PostgresSink
from tests.harness import ROOT, Services

pytestmark = pytest.mark.integration

TZ_NAME = "Europe/Berlin"
TZ = ZoneInfo(TZ_NAME)
WEEKS = (date(2026, 3, 25), date(2026, 10, 22))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KINDS = ("zone", "camera", "line")
GRANULARITIES = ("MINUTE", "HOUR", "DAY", "MONTH")


def local(d: date, hh: int, mm: int = 0) -> datetime:
    """A local wall-clock time as UTC (the later instant when it occurs twice)."""
    return datetime.combine(d, time(hh, mm), TZ).astimezone(UTC)


# --------------------------------------------------------------------------
# The simulated plant: ground truth first, then what the pipeline would emit.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Crossing:
    at: datetime
    line: LineConfig
    direction: str
    person: int


@dataclass
class World:
    plant: PlantConfig
    crossings: list[CrossingEvent]
    #: What the sink receives, in arrival order, as batches (some twice).
    batches: list[list[CrossingEvent | OccupancyChanged]]
    #: Ground truth per zone: (event time, +1/-1), from crossings and the zone graph.
    effects: dict[str, list[tuple[datetime, int]]] = field(default_factory=dict)
    final: dict[str, int] = field(default_factory=dict)


class Walker:
    """One person's crossings, at least 90 s apart, in order."""

    def __init__(self, world: list[Crossing], person: int, lines: dict[str, LineConfig]) -> None:
        self.out = world
        self.person = person
        self.lines = lines
        self.t: datetime | None = None

    def cross(self, line_id: str, direction: str, at: datetime) -> None:
        if self.t is not None:
            at = max(at, self.t + timedelta(seconds=90))
        self.t = at
        self.out.append(Crossing(at, self.lines[line_id], direction, self.person))


def simulate(plant: PlantConfig, seed: int = 20260329) -> World:
    rng = random.Random(seed)
    lines = {ln.id: ln for ln in plant.lines}
    gates = ["gate-north", "gate-south"]
    moves: list[Crossing] = []
    person = 0

    def jitter(minutes: float) -> timedelta:
        return timedelta(seconds=rng.uniform(0, minutes * 60))

    for first in WEEKS:
        for day_n in range(7):
            d = first + timedelta(days=day_n)
            weekend = d.weekday() >= 5
            # Shifts by local wall clock: the night shift of a DST night is 7 or 9 h.
            for start_h, workers in ((6, 30), (14, 24), (22, 12)):
                n = workers // 3 if weekend else workers
                start = local(d, start_h)
                end = local(d + timedelta(days=1 if start_h == 22 else 0), (start_h + 8) % 24)
                for _ in range(n):
                    person += 1
                    w = Walker(moves, person, lines)
                    w.cross(rng.choice(gates), "in", start - timedelta(minutes=20) + jitter(25))
                    room = "door-workshop" if rng.random() < 0.75 else "door-office"
                    w.cross(room, "in", w.t + jitter(5))  # type: ignore[operator]
                    for _ in range(rng.randint(0, 2)):  # breaks in the lobby
                        brk = start + timedelta(hours=rng.uniform(1.5, 6.5))
                        w.cross(room, "out", brk)
                        w.cross(room, "in", brk + timedelta(minutes=5) + jitter(25))
                    w.cross(room, "out", end - timedelta(minutes=5) + jitter(20))
                    w.cross(rng.choice(gates), "out", w.t + jitter(4))  # type: ignore[operator]
            for k in range(9):  # a guard's round every hour of the night, DST or not
                person += 1
                w = Walker(moves, person, lines)
                w.cross("gate-south", "in", local(d, 22) + timedelta(hours=k) + jitter(10))
                w.cross("door-office", "in", w.t + jitter(3))  # type: ignore[operator]
                w.cross("door-office", "out", w.t + jitter(10))  # type: ignore[operator]
                w.cross("gate-north", "out", w.t + jitter(3))  # type: ignore[operator]
            for _ in range(4 if weekend else 15):  # visitors to the office
                person += 1
                w = Walker(moves, person, lines)
                w.cross(rng.choice(gates), "in", local(d, 8) + jitter(9 * 60))
                w.cross("door-office", "in", w.t + jitter(3))  # type: ignore[operator]
                w.cross("door-office", "out", w.t + timedelta(minutes=10) + jitter(50))  # type: ignore[operator]
                w.cross(rng.choice(gates), "out", w.t + jitter(3))  # type: ignore[operator]
    for _ in range(3):  # a crew stays in the workshop from spring to autumn
        person += 1
        w = Walker(moves, person, lines)
        w.cross("gate-north", "in", local(date(2026, 3, 31), 15) + jitter(30))
        w.cross("door-workshop", "in", w.t + jitter(3))  # type: ignore[operator]
        w.cross("door-workshop", "out", local(date(2026, 10, 22), 9) + jitter(30))
        w.cross("gate-south", "out", w.t + jitter(3))  # type: ignore[operator]
    # Many crossings exactly on a minute boundary (and so at the same instant).
    moves = [
        Crossing(m.at.replace(second=0, microsecond=0), m.line, m.direction, m.person)
        if rng.random() < 0.05
        else m
        for m in moves
    ]
    moves.sort(key=lambda m: (m.at, m.person))

    graph = ZoneGraph(plant.zones)
    events: list[CrossingEvent] = []
    effects: dict[str, list[tuple[datetime, int]]] = {z.id: [] for z in plant.zones}
    for i, m in enumerate(moves):
        src, dst = (
            (m.line.from_zone, m.line.to_zone)
            if m.direction == "in"
            else (m.line.to_zone, m.line.from_zone)
        )
        track = 1000 + m.person
        events.append(
            CrossingEvent(
                id=crossing_id(m.line.camera_id, m.line.id, track, i, m.at.timestamp()),
                camera_id=m.line.camera_id,
                line_id=m.line.id,
                track_id=track,
                frame_seq=i,
                direction=m.direction,  # type: ignore[arg-type]
                from_zone=src,
                to_zone=dst,
                occurred_at=m.at,
                config_version=plant.version,
            )
        )
        for zone, d in graph.effects(src, dst):
            effects[zone].append((m.at, d))

    def truth(zone: str, at: datetime) -> int:
        return sum(d for t, d in effects[zone] if t <= at)

    # Arrival: most within 2 s, some up to 20 min late; one person's crossings
    # never overtake each other (else the reducer would clamp a real exit).
    arrival: list[tuple[datetime, int, Any]] = []
    last_of: dict[int, datetime] = {}
    for k, (m, e) in enumerate(zip(moves, events, strict=True)):
        late = rng.uniform(30, 1200) if rng.random() < 0.06 else rng.uniform(0, 2)
        when = max(
            m.at + timedelta(seconds=late), last_of.get(m.person, m.at) + timedelta(milliseconds=1)
        )
        last_of[m.person] = when
        arrival.append((when, k, e))
    # One correct head count per zone per week, arriving half an hour later
    # (after every late crossing from before it).
    for first in WEEKS:
        for j, z in enumerate(plant.zones):
            at = local(first + timedelta(days=1 + j), 11, 17) + timedelta(seconds=23.5)
            cmd = OccupancyCalibrated(
                id=uuid.uuid5(uuid.NAMESPACE_OID, f"calibration|{z.id}|{at.isoformat()}"),
                zone_id=z.id,
                occupancy=truth(z.id, at),
                at=at,
                by="test",
                reason="head count",
            )
            arrival.append((at + timedelta(minutes=30), -1, cmd))
    arrival.sort(key=lambda a: (a[0], a[1]))

    reducers = {z.id: ZoneOccupancy(z.id) for z in plant.zones}
    stream: list[CrossingEvent | OccupancyChanged] = []
    for _, _, item in arrival:
        if isinstance(item, CrossingEvent):
            stream.append(item)
            for delta in graph.deltas(item):
                (change,) = reducers[delta.zone_id].apply(delta)
                assert change is not None and not change.clamped
                stream.append(change)
        else:
            (change,) = reducers[item.zone_id].apply(item)
            assert change is not None
            stream.append(change)
    size = 700
    batches = [stream[i : i + size] for i in range(0, len(stream), size)]
    # Redeliveries: a batch again right away, and an old one much later.
    batches.insert(6, list(batches[5]))
    batches.insert(len(batches) - 3, batches[2] + batches[3][:100])
    final = {z: r.occupancy for z, r in reducers.items()}
    for z in final:
        assert final[z] == sum(d for _, d in effects[z]), "the reducer must not drift here"
    return World(plant, events, batches, effects, final)


# --------------------------------------------------------------------------
# The reference: history computed directly from ground truth.
# --------------------------------------------------------------------------


def bucket_bounds(
    granularity: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Buckets overlapping [start, end): minutes/hours in UTC, days/months local."""
    out = []
    if granularity in ("MINUTE", "HOUR"):
        width = 60 if granularity == "MINUTE" else 3600
        t = EPOCH + timedelta(seconds=(int((start - EPOCH).total_seconds()) // width) * width)
        while t < end:
            out.append((t, t + timedelta(seconds=width)))
            t += timedelta(seconds=width)
        return out
    d = start.astimezone(TZ).date()
    d = d if granularity == "DAY" else d.replace(day=1)
    while True:
        if granularity == "DAY":
            nxt = d + timedelta(days=1)
        else:
            nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
        s = datetime.combine(d, time(0), TZ).astimezone(UTC)
        if s >= end:
            return out
        out.append((s, datetime.combine(nxt, time(0), TZ).astimezone(UTC)))
        d = nxt


def seconds(a: datetime, b: datetime) -> Fraction:
    delta = b - a
    return Fraction(delta.days * 86400 + delta.seconds) + Fraction(delta.microseconds, 10**6)


class Reference:
    """Ground-truth history of every zone, camera and line."""

    def __init__(self, world: World) -> None:
        self.zone_events: dict[str, tuple[list[datetime], list[int], list[int]]] = {}
        for zone, eff in world.effects.items():
            eff = sorted(eff)
            times = [t for t, _ in eff]
            levels, level = [], 0
            for _, d in eff:
                level += d
                levels.append(level)
            self.zone_events[zone] = (times, [d for _, d in eff], levels)
        self.flows: dict[tuple[str, str], tuple[list[datetime], list[str]]] = {}
        grouped: dict[tuple[str, str], list[tuple[datetime, str]]] = defaultdict(list)
        for c in world.crossings:
            grouped[("camera", c.camera_id)].append((c.occurred_at, c.direction))
            grouped[("line", c.line_id)].append((c.occurred_at, c.direction))
        for key, items in grouped.items():
            items.sort()
            self.flows[key] = ([t for t, _ in items], [d for _, d in items])

    @staticmethod
    def _peak_flow(times: list[datetime], lo: int, hi: int) -> tuple[int, datetime | None]:
        per_minute: dict[datetime, int] = defaultdict(int)
        for t in times[lo:hi]:
            per_minute[t.replace(second=0, microsecond=0)] += 1
        if not per_minute:
            return 0, None
        best = max(per_minute.values())
        return best, min(m for m, n in per_minute.items() if n == best)

    def buckets(
        self, kind: str, key: str, granularity: str, start: datetime, end: datetime
    ) -> list[dict]:
        out = []
        for s, e in bucket_bounds(granularity, start, end):
            if kind != "zone":
                times, dirs = self.flows.get((kind, key), ([], []))
                lo, hi = bisect.bisect_left(times, s), bisect.bisect_left(times, e)
                flow, flow_at = self._peak_flow(times, lo, hi)
                out.append(
                    {
                        "start": s,
                        "entries": dirs[lo:hi].count("in"),
                        "exits": dirs[lo:hi].count("out"),
                        "minOccupancy": None,
                        "maxOccupancy": None,
                        "avgOccupancy": None,
                        "peakOccupancyAt": None,
                        "peakFlow": flow,
                        "peakFlowAt": flow_at,
                    }
                )
                continue
            times, deltas, levels = self.zone_events[key]
            lo, hi = bisect.bisect_left(times, s), bisect.bisect_left(times, e)
            # Occupancy at s counts every change at or before s.
            at_s = bisect.bisect_right(times, s)
            level = levels[at_s - 1] if at_s else 0
            low = high = level
            peak_at = s
            integral = Fraction(0)
            t_prev, current = s, level
            for i in range(at_s, hi):
                integral += current * seconds(t_prev, times[i])
                t_prev, current = times[i], levels[i]
                # Only the level after the last change at an instant is ever held.
                if i + 1 < hi and times[i + 1] == times[i]:
                    continue
                low = min(low, current)
                if current > high:
                    high, peak_at = current, times[i]
            integral += current * seconds(t_prev, e)
            flow, flow_at = self._peak_flow(times, lo, hi)
            out.append(
                {
                    "start": s,
                    "entries": deltas[lo:hi].count(1),
                    "exits": deltas[lo:hi].count(-1),
                    "minOccupancy": low,
                    "maxOccupancy": high,
                    "avgOccupancy": integral / seconds(s, e),
                    "peakOccupancyAt": peak_at,
                    "peakFlow": flow,
                    "peakFlowAt": flow_at,
                }
            )
        return out


# --------------------------------------------------------------------------
# Fixtures: the world, and one database per storage path, filled once.
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world() -> World:
    return simulate(load_plant_config(ROOT / "config" / "demo-plant.toml"))


@pytest.fixture(scope="module")
def reference(world: World) -> Reference:
    return Reference(world)


def timescaledb_missing(dsn: str) -> str | None:
    """Why the TimescaleDB path cannot run on this server, or None if it can."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),"
            " current_setting('shared_preload_libraries') ~ 'timescaledb',"
            " current_setting('server_version')"
        ).fetchone()
    assert row is not None
    available, preloaded, version = row
    server = f"{dsn.rsplit('@', 1)[-1]} (PostgreSQL {version.split()[0]})"
    if not available:
        return f"TimescaleDB path NOT tested: the extension is not installed on {server}"
    if not preloaded:
        return (
            f"TimescaleDB path NOT tested: timescaledb is installed on {server} but not in "
            "shared_preload_libraries"
        )
    return None


async def fill(world: World, dsn: str, backend: str) -> None:
    sink = PostgresSink(dsn)
    try:
        for i, batch in enumerate(world.batches):
            for event in batch:
                sink.add(event)
            await sink.flush()
            if backend == "timescaledb" and i % 8 == 7:
                # Materialise as we go, so that late crossings invalidate
                # buckets that were already refreshed.
                refresh_all(dsn)
    finally:
        await sink.close()
    if backend == "timescaledb":
        refresh_all(dsn)


def refresh_all(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert refresh_history(conn) == 12


@pytest.fixture(scope="module")
async def databases(services: Services, world: World) -> AsyncIterator[dict[str, str]]:
    """Backend -> DSN of a database holding the fortnight; created on first use."""
    made: dict[str, str] = {}

    async def make(backend: str) -> str:
        if backend not in made:
            db = f"occ_history_{backend}_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(services.dsn, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{db}"')
            dsn = services.dsn.rsplit("/", 1)[0] + "/" + db
            made[backend] = dsn
            # Retention far beyond the test data, which lies months in the past.
            migrate(dsn, timezone=TZ_NAME, backend=backend, raw_retention_days=3650)  # type: ignore[arg-type]
            await fill(world, dsn, backend)
        return made[backend]

    cache: dict[str, Any] = {"make": make}
    yield cache  # type: ignore[misc]
    with psycopg.connect(services.dsn, autocommit=True) as conn:
        for dsn in made.values():
            conn.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["plain", "timescaledb"])
async def store(
    request: pytest.FixtureRequest, services: Services, databases: dict[str, Any]
) -> str:
    if request.param == "timescaledb":
        reason = timescaledb_missing(services.dsn)
        if reason:
            pytest.skip(reason)
    return await databases["make"](request.param)


@pytest.fixture(scope="module")
async def api_state(store: str, world: World) -> AsyncIterator[ApiState]:
    pool = AsyncConnectionPool(store, min_size=1, max_size=4, open=False)
    await pool.open(wait=True)
    with psycopg.connect(store, autocommit=True) as conn:
        key, _ = create_key_sync(conn, "history-test", Role.VIEWER, "tests")
    state = ApiState(None, world.plant, pool, None, None, auth=Authenticator(KeyVerifier(pool)))  # type: ignore[arg-type]
    state.test_key = key  # type: ignore[attr-defined]
    yield state
    await pool.close()


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

HISTORY = """
query ($g: Granularity!, $from: DateTime!, $to: DateTime!, $zone: ID, $camera: ID, $line: ID) {
  history(granularity: $g, from: $from, to: $to, zone: $zone, camera: $camera, line: $line) {
    kind id granularity timezone
    buckets { start end entries exits minOccupancy maxOccupancy avgOccupancy
              peakOccupancyAt peakFlow peakFlowAt }
  }
}
"""


async def graphql(state: ApiState, query: str, **variables: Any) -> Any:
    result = await schema.execute(
        query,
        variable_values=variables,
        context_value={"state": state, "principal": Principal("test", Role.VIEWER, "test")},
    )
    return result


async def history(
    state: ApiState, kind: str, key: str, g: str, start: datetime, end: datetime
) -> list[dict]:
    result = await graphql(
        state, HISTORY, g=g, **{"from": start.isoformat(), "to": end.isoformat(), kind: key}
    )
    assert result.errors is None, result.errors
    body = result.data["history"]
    assert body["timezone"] == TZ_NAME and body["id"] == key
    return body["buckets"]


def parse(t: str | None) -> datetime | None:
    return None if t is None else datetime.fromisoformat(t)


def assert_same(got: list[dict], want: list[dict], what: str) -> None:
    assert len(got) == len(want), f"{what}: {len(got)} buckets, expected {len(want)}"
    for g, w in zip(got, want, strict=True):
        where = f"{what} bucket {w['start'].astimezone(TZ).isoformat()}"
        assert parse(g["start"]) == w["start"], where
        assert parse(g["start"]).utcoffset() == w["start"].astimezone(TZ).utcoffset(), where  # type: ignore[union-attr]
        for k in ("entries", "exits", "minOccupancy", "maxOccupancy", "peakFlow"):
            assert g[k] == w[k], f"{where}: {k} {g[k]} != {w[k]}"
        for k in ("peakOccupancyAt", "peakFlowAt"):
            assert parse(g[k]) == w[k], f"{where}: {k} {g[k]} != {w[k]}"
        if w["avgOccupancy"] is None:
            assert g["avgOccupancy"] is None, where
        else:
            assert g["avgOccupancy"] == pytest.approx(
                float(w["avgOccupancy"]), rel=1e-12, abs=1e-12
            ), where


def subjects(plant: PlantConfig) -> Iterator[tuple[str, str]]:
    yield from (("zone", z.id) for z in plant.zones)
    yield from (("camera", c.id) for c in plant.cameras)
    yield from (("line", ln.id) for ln in plant.lines)


def weeks() -> Iterator[tuple[datetime, datetime]]:
    for first in WEEKS:
        yield local(first, 0), local(first + timedelta(days=7), 0)


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


def test_the_fortnight_has_what_the_tests_need(world: World) -> None:
    delivered = sum(1 for b in world.batches for e in b if isinstance(e, CrossingEvent))
    assert delivered > len(world.crossings)  # redelivered batches
    on_the_minute = sum(
        1 for c in world.crossings if c.occurred_at.second == 0 and not c.occurred_at.microsecond
    )
    assert on_the_minute > 100
    spring = [
        c
        for c in world.crossings
        if local(date(2026, 3, 29), 0) <= c.occurred_at < local(date(2026, 3, 30), 0)
    ]
    assert any(
        local(date(2026, 3, 29), 1) <= c.occurred_at < local(date(2026, 3, 29), 4) for c in spring
    )
    autumn_night = (
        datetime(2026, 10, 25, 0, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 2, 0, tzinfo=UTC),
    )
    assert any(autumn_night[0] <= c.occurred_at < autumn_night[1] for c in world.crossings)


async def test_raw_rows_are_stored_once_and_levels_end_at_live_occupancy(
    store: str, world: World
) -> None:
    with psycopg.connect(store) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT id) FROM crossings").fetchone() == (
            len(world.crossings),
            len(world.crossings),
        )
        rows = conn.execute(
            "SELECT DISTINCT ON (zone_id) zone_id, level FROM occupancy_samples "
            "ORDER BY zone_id, at DESC"
        ).fetchall()
        assert dict(rows) == world.final
        live = dict(conn.execute("SELECT zone_id, occupancy FROM zone_occupancy").fetchall())
        assert live == world.final


@pytest.mark.parametrize("granularity", GRANULARITIES)
async def test_history_matches_ground_truth(
    api_state: ApiState, reference: Reference, world: World, granularity: str
) -> None:
    ranges: list[tuple[datetime, datetime]] = []
    if granularity == "MINUTE":
        for start, _ in weeks():  # one local day per query
            ranges += [
                (
                    local(start.astimezone(TZ).date() + timedelta(days=i), 0),
                    local(start.astimezone(TZ).date() + timedelta(days=i + 1), 0),
                )
                for i in range(7)
            ]
    elif granularity == "MONTH":
        # March to October: the months in between carry occupancy over.
        ranges = [(local(date(2026, 3, 1), 0), local(date(2026, 11, 1), 0))]
    else:
        # Ranges that do not start on a bucket boundary get the whole first bucket.
        ranges = [(s + timedelta(minutes=17), e) for s, e in weeks()]
    for kind, key in subjects(world.plant):
        for start, end in ranges:
            got = await history(api_state, kind, key, granularity, start, end)
            want = reference.buckets(kind, key, granularity, start, end)
            assert_same(got, want, f"{kind} {key} {granularity} {start:%Y-%m-%d}")


async def test_days_follow_daylight_saving_time(api_state: ApiState) -> None:
    got = await history(
        api_state,
        "zone",
        "facility",
        "DAY",
        local(date(2026, 3, 28), 0),
        local(date(2026, 3, 31), 0),
    )
    lengths = [parse(b["end"]) - parse(b["start"]) for b in got]  # type: ignore[operator]
    assert lengths == [timedelta(hours=24), timedelta(hours=23), timedelta(hours=24)]
    assert [b["start"] for b in got] == [
        "2026-03-28T00:00:00+01:00",
        "2026-03-29T00:00:00+01:00",
        "2026-03-30T00:00:00+02:00",
    ]
    got = await history(
        api_state,
        "zone",
        "facility",
        "DAY",
        local(date(2026, 10, 25), 0),
        local(date(2026, 10, 26), 0),
    )
    assert [parse(b["end"]) - parse(b["start"]) for b in got] == [timedelta(hours=25)]  # type: ignore[operator]
    # The repeated hour 02:00-03:00 appears twice among hourly buckets, with its offsets.
    got = await history(
        api_state,
        "zone",
        "facility",
        "HOUR",
        local(date(2026, 10, 25), 0),
        local(date(2026, 10, 25), 5),
    )
    assert [b["start"][11:] for b in got] == [
        "00:00:00+02:00",
        "01:00:00+02:00",
        "02:00:00+02:00",
        "02:00:00+01:00",
        "03:00:00+01:00",
        "04:00:00+01:00",
    ]


async def test_facility_statistics_match_ground_truth(
    api_state: ApiState, reference: Reference
) -> None:
    start, end = next(weeks())
    result = await graphql(
        api_state,
        "query ($from: DateTime!, $to: DateTime!) { facilityStatistics(from: $from, to: $to) {"
        " zoneId start end entries exits peakOccupancy peakAt minOccupancy avgOccupancy"
        " busiestHour { start entries exits } } }",
        **{"from": start.isoformat(), "to": end.isoformat()},
    )
    assert result.errors is None, result.errors
    stats = result.data["facilityStatistics"]
    hours = reference.buckets("zone", "facility", "HOUR", start, end)
    assert stats["zoneId"] == "facility"
    assert parse(stats["start"]) == start and parse(stats["end"]) == end
    assert stats["entries"] == sum(h["entries"] for h in hours)
    assert stats["exits"] == sum(h["exits"] for h in hours)
    peak = max(hours, key=lambda h: (h["maxOccupancy"], -h["start"].timestamp()))
    assert stats["peakOccupancy"] == peak["maxOccupancy"] > 0
    assert parse(stats["peakAt"]) == peak["peakOccupancyAt"]
    assert stats["minOccupancy"] == min(h["minOccupancy"] for h in hours)
    total = sum(
        h["avgOccupancy"] * seconds(h["start"], h["start"] + timedelta(hours=1)) for h in hours
    )
    assert stats["avgOccupancy"] == pytest.approx(float(total / seconds(start, end)), rel=1e-12)
    busiest = max(hours, key=lambda h: (h["entries"] + h["exits"], -h["start"].timestamp()))
    assert parse(stats["busiestHour"]["start"]) == busiest["start"]
    assert stats["busiestHour"]["entries"] == busiest["entries"]


async def test_csv_export_has_the_same_rows(api_state: ApiState, reference: Reference) -> None:
    app = Starlette(routes=[history_export_route({"state": api_state})])
    start, end = next(weeks())
    headers = {"authorization": f"Bearer {api_state.test_key}"}  # type: ignore[attr-defined]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
    ) as client:
        refused = await client.get("/export/history.csv", headers={"authorization": ""})
        assert refused.status_code == 401
        response = await client.get(
            "/export/history.csv",
            params={
                "zone": "lobby",
                "from": start.isoformat(),
                "to": end.isoformat(),
                "granularity": "hour",
            },
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        want = reference.buckets("zone", "lobby", "HOUR", start, end)
        assert len(rows) == len(want) == 7 * 24 - 1  # the week of the spring change
        for row, w in zip(rows, want, strict=True):
            assert datetime.fromisoformat(row["start"]) == w["start"]
            assert int(row["entries"]) == w["entries"] and int(row["exits"]) == w["exits"]
            assert int(row["max_occupancy"]) == w["maxOccupancy"]
            assert float(row["avg_occupancy"]) == pytest.approx(float(w["avgOccupancy"]), abs=1e-6)
        # A "+" sent unencoded arrives as a space, and is still understood.
        raw = (
            "/export/history.csv?line=gate-north&granularity=day"
            f"&from={start.isoformat()}&to={end.isoformat()}"
        )
        response = await client.get(raw)
        assert response.status_code == 200, response.text
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [int(r["entries"]) for r in rows] == [
            b["entries"] for b in reference.buckets("line", "gate-north", "DAY", start, end)
        ]
        assert rows[0]["min_occupancy"] == ""  # lines have no occupancy
        for params, status, message in (
            ({"zone": "nowhere"}, 404, "unknown zone"),
            ({"zone": "lobby", "camera": "cam-north"}, 400, "exactly one"),
            ({"zone": "lobby", "granularity": "week"}, 400, "granularity must be"),
            ({"zone": "lobby", "from": "yesterday"}, 400, "not an ISO 8601 time"),
        ):
            query = {"from": start.isoformat(), "to": end.isoformat(), **params}
            response = await client.get("/export/history.csv", params=query)
            assert response.status_code == status and message in response.text, response.text


async def test_invalid_queries_get_clear_errors(api_state: ApiState) -> None:
    start, end = next(weeks())
    cases = [
        (
            {"g": "HOUR", "from": end.isoformat(), "to": start.isoformat(), "zone": "lobby"},
            "BAD_USER_INPUT",
            "must be before",
        ),
        (
            {"g": "MINUTE", "from": start.isoformat(), "to": end.isoformat(), "zone": "lobby"},
            "BAD_USER_INPUT",
            f"at most {MAX_POINTS}",
        ),
        (
            {"g": "HOUR", "from": "2026-03-25T00:00:00", "to": end.isoformat(), "zone": "lobby"},
            "BAD_USER_INPUT",
            "time zone offset",
        ),
        (
            {"g": "HOUR", "from": start.isoformat(), "to": end.isoformat()},
            "BAD_USER_INPUT",
            "exactly one",
        ),
        (
            {"g": "HOUR", "from": start.isoformat(), "to": end.isoformat(), "line": "nowhere"},
            "NOT_FOUND",
            "unknown line",
        ),
    ]
    for variables, code, message in cases:
        result = await graphql(api_state, HISTORY, **variables)
        assert result.errors, variables
        assert message in result.errors[0].message, result.errors[0].message
        assert result.errors[0].extensions["code"] == code


async def test_a_bucket_without_changes_carries_occupancy_over(
    api_state: ApiState, reference: Reference
) -> None:
    # Between the two weeks nothing happens: every day keeps the level the
    # spring week ended with.
    start, end = local(date(2026, 4, 10), 0), local(date(2026, 4, 13), 0)
    got = await history(api_state, "zone", "workshop", "DAY", start, end)
    level = reference.buckets("zone", "workshop", "DAY", start, end)[0]["minOccupancy"]
    assert level == 3
    assert [
        (b["entries"], b["minOccupancy"], b["maxOccupancy"], b["avgOccupancy"]) for b in got
    ] == [(0, level, level, float(level))] * 3


async def test_timescaledb_rows_equal_plain_rows(
    services: Services, databases: dict[str, Any]
) -> None:
    reason = timescaledb_missing(services.dsn)
    if reason:
        pytest.skip(reason)
    plain = await databases["make"]("plain")
    timescale = await databases["make"]("timescaledb")
    for kind in KINDS:
        for granularity in ("minute", "hour", "day", "month"):
            relation = f"{kind}_history_{granularity}"
            dump = f"SELECT * FROM {relation} ORDER BY 1, 2"
            with psycopg.connect(plain) as a, psycopg.connect(timescale) as b:
                columns_a = [c.name for c in a.execute(dump).description or []]
                columns_b = [c.name for c in b.execute(dump).description or []]
                assert columns_a == columns_b, relation
                rows_a, rows_b = a.execute(dump).fetchall(), b.execute(dump).fetchall()
            assert len(rows_a) > 0, relation
            assert rows_a == rows_b, relation


def test_plain_migration_sql_matches_timescaledb_relations() -> None:
    # Both storage paths define the same twelve relations.
    migrations = ROOT / "schemas" / "sql"
    plain = (migrations / "002_history.plain.sql").read_text()
    timescale = (migrations / "002_history.timescaledb.sql").read_text()
    for kind in KINDS:
        for granularity in ("minute", "hour", "day", "month"):
            relation = f"{kind}_history_{granularity}"
            assert f"CREATE TABLE {relation} " in plain or f"CREATE VIEW {relation} AS" in plain
            assert f"CREATE MATERIALIZED VIEW {relation}\n" in timescale, relation
    assert Path(migrations / "002_history.sql").exists()


@pytest.mark.parametrize("backend", ["plain", "timescaledb"])
async def test_a_database_with_rows_from_before_history_gets_them_in_history(
    services: Services, backend: str
) -> None:
    if backend == "timescaledb" and (reason := timescaledb_missing(services.dsn)):
        pytest.skip(reason)
    db = f"occ_history_upgrade_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(services.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    dsn = services.dsn.rsplit("/", 1)[0] + "/" + db
    try:
        # The database as the code before history left it: every other
        # migration applied, occupancy changes stored without derived columns.
        migrations = ROOT / "schemas" / "sql"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for path in sorted(migrations.glob("*.sql")):
                version = int(path.name[:3])
                if version != 2 and path.name.count(".") == 1:
                    conn.execute(path.read_text())
                    conn.execute(
                        "INSERT INTO schema_migrations VALUES (%s, %s)", (version, path.stem[4:])
                    )
            occupancy = entries = exits = 0
            t0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
            effects = []
            for version in range(1, 41):
                d = -1 if version % 3 == 0 else 1
                occupancy, entries, exits = occupancy + d, entries + (d > 0), exits + (d < 0)
                # Version 30 happened before 29 and 28: a late crossing.
                at = t0 + timedelta(minutes=7 * version - (20 if version == 30 else 0))
                effects.append((at, d))
                conn.execute(
                    "INSERT INTO occupancy_samples (id, at, zone_id, occupancy, entries, exits,"
                    " version, cause, cause_id) VALUES (%s, %s, 'lobby', %s, %s, %s, %s,"
                    " 'crossing', %s)",
                    (uuid.uuid4(), at, occupancy, entries, exits, version, uuid.uuid4()),
                )
            conn.execute(
                "INSERT INTO zone_occupancy VALUES ('lobby', %s, %s, %s, 40, %s)",
                (occupancy, entries, exits, at),
            )
        # Older than the default retention: the migration must materialise them
        # before the retention policy's first run.
        applied = migrate(dsn, timezone=TZ_NAME, backend=backend)  # type: ignore[arg-type]
        assert applied == [2]
        world = World(
            plant=load_plant_config(ROOT / "config" / "demo-plant.toml"),
            crossings=[],
            batches=[],
            effects={z: [] for z in ("facility", "lobby", "workshop", "office")},
        )
        world.effects["lobby"] = effects
        pool = AsyncConnectionPool(dsn, min_size=1, max_size=1, open=False)
        await pool.open(wait=True)
        try:
            state = ApiState(None, world.plant, pool, None, None)  # type: ignore[arg-type]
            start, end = local(date(2026, 3, 29), 0), local(date(2026, 3, 29), 8)
            for granularity in ("MINUTE", "HOUR", "DAY"):
                got = await history(state, "zone", "lobby", granularity, start, end)
                want = Reference(world).buckets("zone", "lobby", granularity, start, end)
                assert_same(got, want, f"upgraded {granularity}")
        finally:
            await pool.close()
    finally:
        with psycopg.connect(services.dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
