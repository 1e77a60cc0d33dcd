"""The API's Prometheus metrics: ``GET /metrics`` (anonymous, like ``/healthz``).

Every value is read when Prometheus scrapes, on the event loop that owns it
(the handler is a coroutine): the live hub's subscriptions and counters, the
newest heartbeat of each camera, and the GraphQL operation counts that
:class:`GraphQLMetrics` (a schema extension) keeps. Nothing is counted per
live event here: the hub counts them anyway.

Each app (:func:`metrics_route`) has its own registry, so tests that build
several apps in one process never collide on metric names.

Labels are bounded: subscription kinds, operation types and camera ids
(cameras are configured; a heartbeat carries its camera's id).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.extensions import SchemaExtension

from api.auth.http import refused
from schemas.health import CameraHealth

if TYPE_CHECKING:
    from api.state import ApiState

__all__ = [
    "CAMERA_UP_AFTER_INTERVALS",
    "ApiCollector",
    "GraphQLMetrics",
    "metrics_route",
    "new_registry",
]

#: A camera is up while its newest heartbeat says ``online`` and is at most
#: this many of its own intervals old.
CAMERA_UP_AFTER_INTERVALS = 3

#: Operation type (``query``, ``mutation``, ``subscription``) -> count, for the
#: whole process (the schema is one object, shared by every app).
GRAPHQL_OPERATIONS: Counter[str] = Counter()
GRAPHQL_ERRORS: Counter[str] = Counter()


class GraphQLMetrics(SchemaExtension):
    """Counts GraphQL operations by type, and those answered with errors.

    ``on_operation`` runs once per operation (a subscription: once, when it
    starts); nothing runs per resolver. A document that does not parse counts
    as type ``unknown``.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        try:
            kind = context.operation_type.value
        except RuntimeError:  # no document: it did not parse
            kind = "unknown"
        GRAPHQL_OPERATIONS[kind] += 1
        result = context.result
        if context.pre_execution_errors or (result is not None and result.errors):
            GRAPHQL_ERRORS[kind] += 1


class ApiCollector(Collector):
    """The API's metrics, from its state at scrape time.

    Args:
        state: Returns the app's :class:`~api.state.ApiState`, or ``None``
            before its startup has finished (only the GraphQL counts then).
        now: The wall clock (UTC seconds).
    """

    def __init__(
        self, state: Callable[[], ApiState | None], now: Callable[[], float] = time.time
    ) -> None:
        self._state = state
        self._now = now

    def collect(self) -> Iterator[Metric]:
        state = self._state()
        hub = state.hub if state is not None else None

        subscriptions = GaugeMetricFamily(
            "occupancy_api_subscriptions_open",
            "GraphQL subscriptions open now, by kind.",
            labels=["kind"],
        )
        if hub is not None:
            subscriptions.add_metric(["occupancy"], len(hub.occupancy_subscribers))
            subscriptions.add_metric(["alerts"], len(hub.alert_subscribers))
        yield subscriptions

        live = CounterMetricFamily(
            "occupancy_api_live_events",
            "Events the live hub took from occupancy.v1 and alerts.v1 and fanned out.",
        )
        if hub is not None:
            live.add_metric([], hub.received)
        yield live

        operations = CounterMetricFamily(
            "occupancy_api_graphql_operations",
            "GraphQL operations executed, by type (whole process).",
            labels=["type"],
        )
        errors = CounterMetricFamily(
            "occupancy_api_graphql_errors",
            "GraphQL operations answered with errors, by type (whole process).",
            labels=["type"],
        )
        for kind, n in sorted(GRAPHQL_OPERATIONS.items()):
            operations.add_metric([kind], n)
        for kind, n in sorted(GRAPHQL_ERRORS.items()):
            errors.add_metric([kind], n)
        yield operations
        yield errors

        yield from self._cameras(getattr(hub, "cameras", {}) if hub is not None else {})

    def _cameras(self, cameras: Mapping[str, Any]) -> Iterator[Metric]:
        fps = GaugeMetricFamily(
            "occupancy_camera_fps",
            "Frames per second the camera's detector processed (its newest heartbeat).",
            labels=["camera"],
        )
        up = GaugeMetricFamily(
            "occupancy_camera_up",
            f"1 while the camera's newest heartbeat says online and is at most"
            f" {CAMERA_UP_AFTER_INTERVALS} intervals old, else 0.",
            labels=["camera"],
        )
        age = GaugeMetricFamily(
            "occupancy_camera_last_frame_age_seconds",
            "Seconds since the capture time of the newest frame the camera grabbed.",
            labels=["camera"],
        )
        now = self._now()
        for camera_id, health in sorted(cameras.items()):
            if not isinstance(health, CameraHealth):
                continue
            fps.add_metric([camera_id], health.processed_fps)
            fresh = now - health.at.timestamp() <= CAMERA_UP_AFTER_INTERVALS * health.interval_s
            up.add_metric([camera_id], 1.0 if fresh and health.status == "online" else 0.0)
            if health.last_frame_at is not None:
                age.add_metric([camera_id], max(0.0, now - health.last_frame_at.timestamp()))
        yield fps
        yield up
        yield age


def new_registry(state: Callable[[], ApiState | None]) -> CollectorRegistry:
    """A registry holding the API's metrics for one app, and the process's own
    (``process_resident_memory_bytes``, ``process_cpu_seconds_total``...)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(ApiCollector(state))
    registry.register(ProcessCollector(registry=None))
    return registry


def metrics_route(ref: Mapping[str, ApiState]) -> Route:
    """``GET /metrics`` of the app whose state ``ref["state"]`` holds once started."""
    registry = new_registry(lambda: ref.get("state"))

    async def metrics(request: Request) -> Response:
        state = ref.get("state")
        # A viewer's key, unless OCC_API_METRICS_PUBLIC (Prometheus sends it
        # with authorization: {credentials: ...} in its scrape config).
        public = state is not None and state.settings.api_metrics_public
        if not public and (refusal := await refused(state, request)) is not None:
            return refusal
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics)
