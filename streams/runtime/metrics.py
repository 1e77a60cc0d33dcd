"""The worker's Prometheus metrics, served over HTTP on ``OCC_WORKER_METRICS_PORT``.

Counters are counted by the agents, once per batch (``inc(n)``) on labelled
children looked up once (:func:`events_in`, :func:`events_out`, ...), never
per event in a loop. Two values are read when Prometheus scrapes, in the
exporter's thread (:class:`ConsumerLagCollector`,
:class:`WatermarkDelayCollector`): they read plain numbers that the event
loops keep anyway and never await anything.

Labels are bounded: agents, topics, tables, the dead-letter categories of
:mod:`streams.runtime.deadletter`, and the configured cameras, lines and
zones; never a track id, an event id or free text.

Every metric is process-local (Prometheus semantics): a restart starts the
counters at 0, and with several workers each reports what it did (sum over
``instance`` in a query). A crossing handled twice by one process (its
partition came back after a rebalance) counts twice here; the database and
the zones count it once.

This module imports neither the worker's app nor its agents, so tests and the
dashboard check (``tests/unit/deploy/test_grafana.py``) can load the
definitions; :func:`install` binds the scrape-time collectors to the app and
starts the exporter with the worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

__all__ = [
    "AGENT_EVENTS_IN",
    "AGENT_EVENTS_OUT",
    "CROSSINGS",
    "DEADLETTERS",
    "REGISTRY",
    "SINK_BATCH_SECONDS",
    "SINK_ERRORS",
    "SINK_ROWS",
    "ZONE_OCCUPANCY",
    "ConsumerLagCollector",
    "WatermarkDelayCollector",
    "events_in",
    "events_out",
    "install",
    "scrape_collectors",
    "serve",
]

logger = logging.getLogger(__name__)

#: The worker's own registry (not the process-global default): what the
#: exporter serves is exactly what is defined here.
REGISTRY = CollectorRegistry()

AGENT_EVENTS_IN = Counter(
    "occupancy_agent_events_in_total",
    "Records an agent took from its input topics.",
    ["agent"],
    registry=REGISTRY,
)
AGENT_EVENTS_OUT = Counter(
    "occupancy_agent_events_out_total",
    "Records an agent sent, per output topic (dead letters are counted apart).",
    ["agent", "topic"],
    registry=REGISTRY,
)
DEADLETTERS = Counter(
    "occupancy_deadletters_total",
    "Records sent to deadletter.v1, per reason category.",
    ["reason"],
    registry=REGISTRY,
)
CROSSINGS = Counter(
    "occupancy_crossings_total",
    "Line crossings the crossings agent emitted, per camera, line and direction.",
    ["camera", "line", "direction"],
    registry=REGISTRY,
)
ZONE_OCCUPANCY = Gauge(
    "occupancy_zone_occupancy",
    "People in the zone now (settled), for the zones this worker owns.",
    ["zone"],
    registry=REGISTRY,
)
SINK_BATCH_SECONDS = Histogram(
    "occupancy_sink_batch_seconds",
    "Seconds one batch took to be written to PostgreSQL (one transaction).",
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SINK_ROWS = Counter(
    "occupancy_sink_rows_total",
    "Events the sink committed, per table (a duplicate the table already held counts too).",
    ["table"],
    registry=REGISTRY,
)
SINK_ERRORS = Counter(
    "occupancy_sink_errors_total",
    "Batches PostgreSQL could not take (unreachable, or refused as a whole); each is retried.",
    registry=REGISTRY,
)

_in: dict[str, Any] = {}
_out: dict[tuple[str, str], Any] = {}


def events_in(agent: str) -> Any:
    """The ``occupancy_agent_events_in_total`` child of ``agent`` (looked up once)."""
    child = _in.get(agent)
    if child is None:
        child = _in[agent] = AGENT_EVENTS_IN.labels(agent=agent)
    return child


def events_out(agent: str, topic: str) -> Any:
    """The ``occupancy_agent_events_out_total`` child of ``agent`` and ``topic``."""
    child = _out.get((agent, topic))
    if child is None:
        child = _out[(agent, topic)] = AGENT_EVENTS_OUT.labels(agent=agent, topic=topic)
    return child


class ConsumerLagCollector(Collector):
    """``occupancy_consumer_lag_records{topic,partition}``, computed at scrape time.

    The lag of a partition is its highwater (the offset the next record will
    get) minus the offset of the next record the worker will read: the
    offset after the last one Faust's consumer handed to an agent; before it
    has handed any, the committed offset, else aiokafka's fetch position.
    Partitions whose highwater the consumer does not know yet (no fetch
    answered) are left out.

    Args:
        consumer: Faust's consumer (``app.consumer``), or a function returning
            it; ``None`` (not started) reports no partitions. Only its plain,
            synchronous reads are used (``assignment()``, ``highwater(tp)`` and
            its offset maps): Faust runs aiokafka in another thread, and a
            scrape must never wait on either loop.
    """

    NAME = "occupancy_consumer_lag_records"
    HELP = "Records in the partition after the next one the worker will read."

    def __init__(self, consumer: Any | Callable[[], Any] = None) -> None:
        self._consumer = consumer

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self.NAME, self.HELP, labels=["topic", "partition"])

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(self.NAME, self.HELP, labels=["topic", "partition"])
        try:
            for (topic, partition), lag in sorted(self.lags().items()):
                family.add_metric([topic, str(partition)], lag)
        except Exception:  # a scrape must never fail on a consumer that is starting or stopping
            logger.debug("consumer lag not readable now", exc_info=True)
        yield family

    def lags(self) -> dict[tuple[str, int], int]:
        """(topic, partition) -> lag in records, for the assigned partitions."""
        consumer = self._consumer() if callable(self._consumer) else self._consumer
        if consumer is None:
            return {}
        read: Any = getattr(consumer, "_read_offset", {})
        committed: Any = getattr(consumer, "_committed_offset", {})
        out: dict[tuple[str, int], int] = {}
        for tp in list(consumer.assignment()):
            highwater = consumer.highwater(tp)
            if highwater is None or highwater < 0:
                continue
            # .get: both are defaultdicts, and a lookup must not add keys from this thread.
            last = read.get(tp)
            position = last + 1 if last is not None else committed.get(tp)
            if position is None:
                position = _fetch_position(consumer, tp)
            if position is None:
                continue
            out[(tp.topic, tp.partition)] = max(0, int(highwater) - int(position))
        return out


def _fetch_position(consumer: Any, tp: Any) -> int | None:
    """aiokafka's fetch position of ``tp`` (Faust's consumer thread's client), a plain read."""
    client = getattr(getattr(consumer, "_thread", None), "_consumer", None)
    subscription = getattr(getattr(client, "_subscription", None), "subscription", None)
    assignment = getattr(subscription, "assignment", None)
    state = assignment.state_value(tp) if assignment is not None else None
    position = getattr(state, "_position", None)
    return position if isinstance(position, int) else None


class WatermarkDelayCollector(Collector):
    """``occupancy_watermark_delay_seconds``: wall clock minus the watermark, at scrape time.

    How far the worker's event time (the watermark: capture times minus the
    allowed lateness, :class:`~streams.core.event_time.Watermark`) is behind
    the wall clock: the allowed lateness plus the pipeline's delay, or a
    backlog being read. Absent until the first frame.

    Args:
        watermark: Returns the watermark last computed (UTC seconds, 0.0 for
            none yet); read from the exporter's thread, so a plain attribute read.
        now: The wall clock (UTC seconds).
    """

    NAME = "occupancy_watermark_delay_seconds"
    HELP = "Seconds the worker's event-time watermark is behind the wall clock."

    def __init__(
        self,
        watermark: Callable[[], float] | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._watermark = watermark
        self._now = now

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self.NAME, self.HELP)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(self.NAME, self.HELP)
        value = self._watermark() if self._watermark is not None else 0.0
        if value > 0.0:
            family.add_metric([], self._now() - value)
        yield family


def scrape_collectors(app: Any = None, watermark: Callable[[], float] | None = None) -> list[Any]:
    """The collectors read at scrape time, bound to ``app``'s consumer and the watermark,
    and the process's own (``process_resident_memory_bytes``, ``process_cpu_seconds_total``...)."""
    return [
        ConsumerLagCollector((lambda: app.consumer) if app is not None else None),
        WatermarkDelayCollector(watermark),
        ProcessCollector(registry=None),
    ]


def serve(port: int, host: str, registry: CollectorRegistry = REGISTRY) -> Any | None:
    """Start the exporter (a daemon thread); ``None`` when the port is 0 or taken.

    A port that is taken is logged and skipped: the worker counts without its metrics
    rather than not at all.
    """
    if port == 0:
        logger.info("worker metrics off (OCC_WORKER_METRICS_PORT=0)")
        return None
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as e:
        logger.error(
            "worker metrics not served: cannot listen on %s:%d (%s); set OCC_WORKER_METRICS_PORT",
            host,
            port,
            e,
        )
        return None
    logger.info("worker metrics at http://%s:%d/metrics", host, server.server_port)
    return server


def install(app: Any, watermark: Callable[[], float], port: int, host: str) -> None:
    """Register the scrape-time collectors and serve :data:`REGISTRY` once the worker runs.

    Call once, in the worker (``python -m streams worker``), before it starts (a
    second call fails: the registry refuses the same metric names twice).
    """
    for collector in scrape_collectors(app, watermark):
        REGISTRY.register(collector)

    @app.task
    async def serve_metrics() -> None:
        serve(port, host)
