"""ASGI application: ``uvicorn api.app:app``.

Routes: ``/graphql`` (queries over HTTP, subscriptions over WebSocket with the
graphql-transport-ws protocol only), ``/`` (the dashboard, with ``/static/*``
and ``/vendor/plotly.min.js``), ``/healthz``, ``/export/history.csv`` (see
:mod:`api.history.export`), ``/cameras/<id>/snapshot.jpg`` (see
:mod:`api.cameras.snapshot`), ``/metrics`` (Prometheus, see :mod:`api.metrics`).
"""

from __future__ import annotations

import contextlib
import importlib.resources
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from api.cameras import snapshot_route
from api.history import history_export_route
from api.live import LiveHub
from api.metrics import metrics_route
from api.schema import schema
from api.state import ApiState
from schemas.config import load_plant_config
from schemas.migrate import migrate, plant_timezone
from streams.settings import Settings

__all__ = ["app", "create_app"]

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
#: plotly.js as the plotly Python package ships it: the dashboard's charts with
#: no Node toolchain and no third-party code in this repository.
PLOTLY_JS = importlib.resources.files("plotly") / "package_data" / "plotly.min.js"


class _GraphQL(GraphQL[dict[str, Any], None]):
    def __init__(self, state_ref: dict[str, ApiState]) -> None:
        super().__init__(schema, subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL])
        self._state_ref = state_ref

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> dict[str, Any]:
        return {"request": request, "response": response, "state": self._state_ref["state"]}


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    ref: dict[str, ApiState] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        migrate(
            settings.database_url,
            timezone=plant_timezone(settings.plant_config),
            backend=settings.history_backend,
            raw_retention_days=settings.raw_retention_days,
        )
        pool = AsyncConnectionPool(settings.database_url, min_size=1, max_size=8, open=False)
        await pool.open(wait=True)
        hub = LiveHub(
            settings.kafka_bootstrap_servers,
            settings.topic("occupancy"),
            settings.topic("alerts"),
            settings.topic("camera-health"),
            settings.topic("camera-snapshots"),
        )
        await hub.start()
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
        await producer.start()
        ref["state"] = ApiState(
            settings, load_plant_config(settings.plant_config), pool, hub, producer
        )
        logger.info("API ready: GraphQL at /graphql, dashboard at /")
        try:
            yield
        finally:
            await producer.stop()
            await hub.stop()
            await pool.close()

    graphql = _GraphQL(ref)

    async def dashboard(_: Request) -> Response:
        return FileResponse(STATIC / "dashboard.html")

    async def plotly_js(_: Request) -> Response:
        # A day's caching: the file changes only with the installed plotly version.
        headers = {"cache-control": "public, max-age=86400"}
        return FileResponse(str(PLOTLY_JS), media_type="text/javascript", headers=headers)

    async def healthz(_: Request) -> Response:
        # 503 until started and whenever the live consumer task is not running;
        # "live" says why (a transient Kafka error being retried stays 200).
        state = ref.get("state")
        if state is None:
            body = {"ok": False, "live_events": 0, "live": "not started"}
            return JSONResponse(body, status_code=503)
        ok = state.hub.problem is None
        body = {"ok": ok, "live_events": state.hub.received, "live": state.hub.status}
        return JSONResponse(body, status_code=200 if ok else 503)

    return Starlette(
        routes=[
            Route("/", dashboard),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            Route("/vendor/plotly.min.js", plotly_js),
            Route("/healthz", healthz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            history_export_route(ref),
            snapshot_route(ref),
            metrics_route(ref),
        ],
        lifespan=lifespan,
    )


app = create_app()
