"""The API's /metrics: subscriptions, live events, GraphQL operations, camera heartbeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
from starlette.applications import Starlette

from api import metrics
from api.auth.http import Authenticator
from api.auth.principals import Principal, Role
from api.schema import schema
from schemas.health import CameraHealth

NOW = datetime(2026, 1, 6, 10, 0, tzinfo=UTC)


def heartbeat(camera: str, status: str, age_s: float, frame_age_s: float | None) -> CameraHealth:
    at = NOW - timedelta(seconds=age_s)
    return CameraHealth(
        camera_id=camera,
        producer_id="host:1",
        status=status,  # type: ignore[arg-type]
        at=at,
        started_at=NOW - timedelta(hours=1),
        interval_s=5.0,
        source="rtsp://cam/stream1",
        detector="hog",
        frames_in=100,
        frames_processed=90,
        frames_published=90,
        frames_skipped=10,
        frames_duplicate=0,
        frames_dropped=0,
        read_errors=0,
        publish_errors=0,
        reconnects=0,
        capture_fps=10.0,
        processed_fps=9.5,
        last_frame_at=None if frame_age_s is None else NOW - timedelta(seconds=frame_age_s),
    )


def hub(**kwargs: Any) -> SimpleNamespace:
    base = {"occupancy_subscribers": {object(), object()}, "alert_subscribers": {object()}}
    return SimpleNamespace(**{**base, "received": 1234, **kwargs})


def registry_for(state: Any) -> Any:
    return metrics.new_registry(lambda: state)


def sample(registry: Any, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_subscriptions_and_live_events_are_read_from_the_hub():
    registry = registry_for(SimpleNamespace(hub=hub()))
    assert sample(registry, "occupancy_api_subscriptions_open", kind="occupancy") == 2
    assert sample(registry, "occupancy_api_subscriptions_open", kind="alerts") == 1
    assert sample(registry, "occupancy_api_live_events_total") == 1234


def test_before_startup_only_the_families_are_there():
    registry = registry_for(None)
    assert sample(registry, "occupancy_api_subscriptions_open", kind="occupancy") is None
    names = {m.name for m in registry.collect()}
    assert {"occupancy_api_subscriptions_open", "occupancy_camera_up"} <= names


def test_cameras_up_fps_and_frame_age_come_from_the_newest_heartbeats():
    cameras = {
        "cam-north": heartbeat("cam-north", "online", age_s=4, frame_age_s=0.5),
        "cam-south": heartbeat("cam-south", "online", age_s=16, frame_age_s=16),  # > 3 x 5 s
        "cam-east": heartbeat("cam-east", "reconnecting", age_s=1, frame_age_s=None),
    }
    collector = metrics.ApiCollector(
        lambda: SimpleNamespace(hub=hub(cameras=cameras)), now=NOW.timestamp
    )
    registry = metrics.CollectorRegistry()
    registry.register(collector)
    assert sample(registry, "occupancy_camera_up", camera="cam-north") == 1
    assert sample(registry, "occupancy_camera_up", camera="cam-south") == 0
    assert sample(registry, "occupancy_camera_up", camera="cam-east") == 0
    assert sample(registry, "occupancy_camera_fps", camera="cam-north") == 9.5
    assert sample(registry, "occupancy_camera_last_frame_age_seconds", camera="cam-north") == 0.5
    assert sample(registry, "occupancy_camera_last_frame_age_seconds", camera="cam-south") == 16
    assert sample(registry, "occupancy_camera_last_frame_age_seconds", camera="cam-east") is None


def test_a_hub_without_camera_heartbeats_reports_no_cameras():
    registry = registry_for(SimpleNamespace(hub=hub()))  # no .cameras attribute
    cameras = [m for m in registry.collect() if m.name.startswith("occupancy_camera")]
    assert len(cameras) == 3
    assert not [s for m in cameras for s in m.samples]


async def test_graphql_operations_and_errors_are_counted_by_type():
    registry = registry_for(None)

    def count(name: str, kind: str) -> float:
        return sample(registry, name, type=kind) or 0.0

    ok = count("occupancy_api_graphql_operations_total", "query")
    failed = count("occupancy_api_graphql_errors_total", "query")
    unparsed = count("occupancy_api_graphql_operations_total", "unknown")
    assert (await schema.execute("{ __typename }")).errors is None
    assert (await schema.execute("{ noSuchField }")).errors
    assert (await schema.execute("{ unclosed")).errors
    assert count("occupancy_api_graphql_operations_total", "query") == ok + 2
    assert count("occupancy_api_graphql_errors_total", "query") == failed + 1
    assert count("occupancy_api_graphql_operations_total", "unknown") == unparsed + 1


async def test_the_route_serves_the_text_format_and_each_app_has_its_own_registry():
    public = SimpleNamespace(api_metrics_public=True)
    apps = [
        Starlette(
            routes=[metrics.metrics_route({"state": SimpleNamespace(hub=hub(), settings=public)})]
        ),
        Starlette(
            routes=[
                metrics.metrics_route(
                    {"state": SimpleNamespace(hub=hub(received=7), settings=public)}
                )
            ]
        ),
    ]
    bodies = []
    for app in apps:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        bodies.append(response.text)
    assert 'occupancy_api_subscriptions_open{kind="occupancy"} 2.0' in bodies[0]
    assert "occupancy_api_live_events_total 1234.0" in bodies[0]
    assert "occupancy_api_live_events_total 7.0" in bodies[1]


async def test_metrics_need_a_key_unless_configured_public():
    key = "occ_0123456789ab_" + "k" * 43

    class Keys:
        async def verify(self, presented: str) -> Principal | None:
            return Principal("key:prometheus", Role.VIEWER, "api-key") if presented == key else None

    state = SimpleNamespace(
        hub=hub(),
        settings=SimpleNamespace(api_metrics_public=False),
        auth=Authenticator(Keys()),  # type: ignore[arg-type]
    )
    app = Starlette(routes=[metrics.metrics_route({"state": state})])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as c:
        anonymous = await c.get("/metrics")
        assert anonymous.status_code == 401
        assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert (
            await c.get("/metrics", headers={"authorization": "Bearer nope"})
        ).status_code == 401
        ok = await c.get("/metrics", headers={"authorization": f"Bearer {key}"})
        assert ok.status_code == 200 and "occupancy_api_live_events_total 1234.0" in ok.text
