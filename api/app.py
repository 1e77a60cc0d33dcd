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
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from api.auth.http import Authenticator, AuthError, denied, error_response
from api.auth.keys import KeyVerifier
from api.auth.oidc import OidcVerifier
from api.cameras import snapshot_route
from api.history import history_export_route
from api.limits import body_refusal
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
        return {
            "request": request,
            "response": response,
            "state": self._state_ref["state"],
            # HTTP: checked by _Authenticated before strawberry saw the request;
            # WebSocket: set by on_ws_connect from connection_init.
            "principal": request.scope.get(PRINCIPAL),
        }

    async def on_ws_connect(self, context: dict[str, Any]) -> UnsetType | dict[str, object] | None:
        state: ApiState = context["state"]
        assert state.auth is not None
        try:
            context["principal"] = await state.auth.connection_init(
                context["request"], context.get("connection_params")
            )
        except AuthError as e:
            logger.info("subscription refused at connection_init: %s", e.message)
            raise ConnectionRejectionError({"code": e.code, "message": e.message}) from None
        return UNSET


#: Where :class:`_Authenticated` leaves the caller of a GraphQL HTTP request.
PRINCIPAL = "occupancy.principal"


class _Authenticated:
    """ASGI wrapper of the GraphQL HTTP endpoint: no valid credential, no execution.

    GraphiQL's page itself (a browser's GET without a query) is served: it holds
    no data, and its headers pane takes the key.
    """

    def __init__(self, app: _GraphQL, state_ref: dict[str, ApiState]) -> None:
        self.app = app
        self.state_ref = state_ref

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        ide = (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
        )
        state = self.state_ref.get("state")
        if (too_big := body_refusal(request.method, request.headers)) is not None:
            status, message = too_big
            await error_response(status, "BAD_REQUEST", message)(scope, receive, send)
            return
        if not ide:
            if state is None or state.auth is None:
                await JSONResponse({"error": "not started"}, status_code=503)(scope, receive, send)
                return
            try:
                scope[PRINCIPAL] = await state.auth.request(request)
            except AuthError as e:
                await denied(e)(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
        oidc = None
        if settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url:
            oidc = OidcVerifier(
                settings.oidc_issuer,
                settings.oidc_audience,
                settings.oidc_jwks_url,
                settings.oidc_role_claim,
            )
        origins = frozenset(
            o.strip().rstrip("/") for o in settings.api_allowed_origins.split(",") if o.strip()
        )
        ref["state"] = ApiState(
            settings,
            load_plant_config(settings.plant_config),
            pool,
            hub,
            producer,
            auth=Authenticator(KeyVerifier(pool), oidc, origins),
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
            Route("/graphql", _Authenticated(graphql, ref), methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            history_export_route(ref),
            snapshot_route(ref),
            metrics_route(ref),
        ],
        lifespan=lifespan,
    )


app = create_app()
