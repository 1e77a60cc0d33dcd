"""The worker's metrics: lag and watermark read at scrape time, dead-letter categories,
the sink's batch and row counts."""

from __future__ import annotations

import re
import socket
import urllib.request
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP
from prometheus_client import CollectorRegistry, generate_latest

from schemas.events import CrossingEvent, OccupancyChanged
from streams.runtime import metrics
from streams.runtime.deadletter import CATEGORIES, OTHER, reason_category
from streams.sinks.base import Flushed, Rejected

ROOT = Path(__file__).resolve().parents[4]
T0 = datetime(2026, 1, 6, 10, 0, tzinfo=UTC)


def value(registry: Any, name: str, labels: dict[str, str] | None = None) -> float | None:
    return registry.get_sample_value(name, labels or {})


class FakeConsumer:
    """What the lag collector reads of Faust's consumer (and its aiokafka client)."""

    def __init__(self, highwater: dict[TP, int | None], positions: dict[TP, int]) -> None:
        self._highwater = highwater
        self._read_offset: dict[TP, int | None] = defaultdict(lambda: None)
        self._committed_offset: dict[TP, int | None] = defaultdict(lambda: None)
        states = {tp: SimpleNamespace(_position=p) for tp, p in positions.items()}
        assignment = SimpleNamespace(state_value=states.get)
        self._thread = SimpleNamespace(
            _consumer=SimpleNamespace(
                _subscription=SimpleNamespace(subscription=SimpleNamespace(assignment=assignment))
            )
        )

    def assignment(self) -> set[TP]:
        return set(self._highwater)

    def highwater(self, tp: TP) -> int | None:
        return self._highwater[tp]


def test_lag_is_highwater_minus_the_next_offset_to_read():
    read, committed, fresh, unfetched = (TP("det.v1", p) for p in range(4))
    consumer = FakeConsumer(
        {read: 100, committed: 50, fresh: 7, unfetched: None}, positions={fresh: 5}
    )
    consumer._read_offset[read] = 89  # handed offsets ..89 to the agent: 90..99 are left
    consumer._committed_offset[committed] = 20  # nothing read yet: from the commit
    registry = CollectorRegistry()
    registry.register(metrics.ConsumerLagCollector(consumer))

    lag = "occupancy_consumer_lag_records"
    assert value(registry, lag, {"topic": "det.v1", "partition": "0"}) == 10
    assert value(registry, lag, {"topic": "det.v1", "partition": "1"}) == 30
    assert value(registry, lag, {"topic": "det.v1", "partition": "2"}) == 2  # fetch position
    assert value(registry, lag, {"topic": "det.v1", "partition": "3"}) is None
    # The collector only read: the defaultdicts got no keys from the scrape.
    assert set(consumer._read_offset) == {read}
    assert set(consumer._committed_offset) == {committed}


def test_lag_of_a_consumer_that_is_not_readable_is_empty_not_an_error():
    class Broken:
        def assignment(self) -> set[TP]:
            raise RuntimeError("consumer not started")

    for consumer in (Broken(), lambda: None):  # lambda: None: before the app has a consumer
        registry = CollectorRegistry()
        registry.register(metrics.ConsumerLagCollector(consumer))
        text = generate_latest(registry).decode()
        assert "# TYPE occupancy_consumer_lag_records gauge" in text
        assert "occupancy_consumer_lag_records{" not in text


def test_watermark_delay_is_the_wall_clock_minus_the_watermark():
    watermark = [0.0]
    registry = CollectorRegistry()
    registry.register(metrics.WatermarkDelayCollector(lambda: watermark[0], now=lambda: 1000.0))
    assert value(registry, "occupancy_watermark_delay_seconds") is None  # no frame yet
    watermark[0] = 993.5
    assert value(registry, "occupancy_watermark_delay_seconds") == 6.5


def test_labelled_children_are_looked_up_once():
    assert metrics.events_in("test-agent") is metrics.events_in("test-agent")
    assert metrics.events_out("test-agent", "t.v1") is metrics.events_out("test-agent", "t.v1")
    before = value(metrics.REGISTRY, "occupancy_agent_events_in_total", {"agent": "test-agent"})
    metrics.events_in("test-agent").inc(250)
    after = value(metrics.REGISTRY, "occupancy_agent_events_in_total", {"agent": "test-agent"})
    assert after == (before or 0) + 250


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        ("invalid FrameDetections: 1 validation error for FrameDetections", "invalid_frame"),
        ("unknown camera 'cam-x'", "unknown_camera"),
        ("frame size 640x480 differs from camera cam-north's 960x540", "frame_size_mismatch"),
        ("invalid zone input: 2 validation errors", "invalid_zone_input"),
        ("unknown zones ['nowhere']", "unknown_zone"),
        ("unknown zone 'nowhere'", "unknown_zone"),
        ("not a storable event: unknown type 'Foo'", "not_storable"),
        ("not storable: PostgreSQL cannot store NUL (0x00) in text", "refused_by_database"),
        ("something new", OTHER),
    ],
)  # fmt: skip
def test_dead_letter_reasons_map_to_a_bounded_category(reason, category):
    assert reason_category(reason) == category


def test_every_reason_the_agents_give_has_a_category():
    # The literal start of each dead_letter(...) reason in the agents, read from the code
    # (plus the crossings agent's _validate and the sink's NotStorable texts, passed on as
    # variables): a new reason without a category fails here instead of counting as "other".
    agents = ROOT / "streams" / "agents"
    literal = r'dead_letter\([^,]+, f?"([A-Za-z][A-Za-z ]+)'
    starts = {
        s.strip() for s in re.findall(literal, "".join(p.read_text() for p in agents.glob("*.py")))
    }
    assert {"invalid FrameDetections", "invalid zone input", "not storable"} <= starts
    crossings = (agents / "crossings.py").read_text()
    validate = crossings[crossings.index("def _validate") : crossings.index("async def _count")]
    starts |= set(re.findall(r'return \(?\s*f"([A-Za-z][A-Za-z ]+)', validate))
    sink = (agents / "sink.py").read_text()
    starts |= set(re.findall(r'NotStorable\(f?"([A-Za-z][A-Za-z ]+)', sink))
    starts = {start.strip() for start in starts}
    assert {"unknown camera", "frame size", "not a storable event"} <= starts
    for start in starts:
        assert reason_category(start + " x") != OTHER, start
    assert len(CATEGORIES) == len({prefix for prefix, _ in CATEGORIES})


def crossing(n: int) -> CrossingEvent:
    return CrossingEvent(
        id=uuid.uuid4(),
        camera_id="cam-north",
        line_id="north-door",
        track_id=n,
        frame_seq=n,
        direction="in",
        from_zone="outside",
        to_zone="hall",
        occurred_at=T0,
        config_version="v1",
    )


def change(n: int) -> OccupancyChanged:
    return OccupancyChanged(
        id=uuid.uuid4(),
        zone_id="hall",
        occupancy=n,
        entries=n,
        exits=0,
        version=n,
        at=T0,
        cause="crossing",
        cause_id=uuid.uuid4(),
    )


async def test_the_sink_counts_rows_per_table_and_times_each_batch(monkeypatch):
    from streams.agents import sink

    refused = crossing(99)

    class FakeSink:
        async def flush(self) -> Flushed:
            return Flushed(4, [Rejected(refused, "origin", "NUL in text")])

    letters: list[str] = []

    async def dead_letter(origin: Any, reason: str) -> None:
        letters.append(reason)

    monkeypatch.setattr(sink, "dead_letter", dead_letter)
    reg = metrics.REGISTRY

    def rows(table: str) -> float:
        return value(reg, "occupancy_sink_rows_total", {"table": table}) or 0.0

    before = {t: rows(t) for t in ("crossings", "occupancy_samples", "alerts")}
    batches = value(reg, "occupancy_sink_batch_seconds_count") or 0.0
    await sink._flush(FakeSink(), sink.Counter({"crossings": 3, "occupancy_samples": 2}))  # type: ignore[arg-type]
    assert rows("crossings") == before["crossings"] + 2  # one of the three refused
    assert rows("occupancy_samples") == before["occupancy_samples"] + 2
    assert rows("alerts") == before["alerts"]
    assert value(reg, "occupancy_sink_batch_seconds_count") == batches + 1
    assert letters == ["not storable: NUL in text"]
    assert sink.TABLES[type(change(1))] == "occupancy_samples"


def test_the_exporter_serves_the_registry_and_a_taken_port_is_only_logged(caplog):
    registry = CollectorRegistry()
    metrics.Counter("occupancy_test_total", "A test counter.", registry=registry).inc(3)
    assert metrics.serve(0, "127.0.0.1", registry) is None  # off
    server = metrics.serve(_free_port(), "127.0.0.1", registry)
    assert server is not None
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert "occupancy_test_total 3.0" in response.read().decode()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            taken = s.getsockname()[1]
            assert metrics.serve(taken, "127.0.0.1", registry) is None
        assert "worker metrics not served" in caplog.text
    finally:
        server.shutdown()
        server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
