"""Authentication at the edge: HTTP requests, the WebSocket's ``connection_init``, Origin.

Every request except ``/healthz``, the dashboard's static files and (with
``OCC_API_METRICS_PUBLIC``) ``/metrics`` needs ``Authorization: Bearer <API key
or OIDC token>``; a subscription sends the same in its ``connection_init``
payload (``{"Authorization": "Bearer ..."}``). A browser's ``Origin`` must be the
API's own or one of ``OCC_API_ALLOWED_ORIGINS``, so another site open in the
same browser cannot use a stored key.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

from api.auth.keys import KEY_PATTERN, KeyVerifier
from api.auth.oidc import OidcVerifier
from api.auth.principals import Principal, Role

__all__ = ["AuthError", "Authenticator", "denied", "error_response", "origin_allowed", "refused"]


class AuthError(Exception):
    """A refused request: ``code`` is UNAUTHENTICATED or FORBIDDEN."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return 401 if self.code == "UNAUTHENTICATED" else 403


def error_response(status: int, code: str, message: str, **headers: str) -> Response:
    """A GraphQL-shaped error body for a request refused before it ran."""
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers)


def denied(e: AuthError) -> Response:
    """:func:`error_response` with 401 or 403."""
    if e.status == 401:
        return error_response(
            401, e.code, e.message, **{"www-authenticate": 'Bearer realm="occupancy"'}
        )
    return error_response(e.status, e.code, e.message)


def origin_allowed(origin: str | None, host: str | None, allowed: frozenset[str]) -> bool:
    """No Origin (not a browser), the API's own host, or a listed origin."""
    if origin is None:
        return True
    if origin.rstrip("/") in allowed:
        return True
    return host is not None and urlsplit(origin).netloc == host


class Authenticator:
    """Turns credentials into a :class:`Principal` or an :class:`AuthError`."""

    def __init__(
        self,
        keys: KeyVerifier,
        oidc: OidcVerifier | None = None,
        allowed_origins: frozenset[str] = frozenset(),
    ) -> None:
        self.keys = keys
        self.oidc = oidc
        self.allowed_origins = allowed_origins

    async def from_authorization(self, value: object) -> Principal:
        if not isinstance(value, str) or not value.strip():
            raise AuthError(
                "UNAUTHENTICATED",
                "authentication required: send an API key or an OIDC token as "
                "'Authorization: Bearer ...'",
            )
        scheme, _, token = value.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError("UNAUTHENTICATED", "use 'Authorization: Bearer <key or token>'")
        principal: Principal | None
        if KEY_PATTERN.fullmatch(token):
            principal = await self.keys.verify(token)
        elif self.oidc is not None and token.count(".") == 2:
            principal = await self.oidc.verify(token)
        else:
            principal = None
        if principal is None:
            raise AuthError("UNAUTHENTICATED", "the API key or token is not valid")
        return principal

    def check_origin(self, conn: HTTPConnection) -> None:
        origin = conn.headers.get("origin")
        if not origin_allowed(origin, conn.headers.get("host"), self.allowed_origins):
            raise AuthError(
                "FORBIDDEN",
                f"origin {origin!r} is not allowed (OCC_API_ALLOWED_ORIGINS lists other sites)",
            )

    async def request(self, conn: HTTPConnection, needed: Role = Role.VIEWER) -> Principal:
        """The caller of an HTTP request, with at least ``needed``."""
        self.check_origin(conn)
        principal = await self.from_authorization(conn.headers.get("authorization"))
        if not principal.role.allows(needed):
            raise AuthError(
                "FORBIDDEN",
                f"this needs the {needed.value} role; {principal.name} is a {principal.role.value}",
            )
        return principal

    async def connection_init(self, conn: HTTPConnection, params: object) -> Principal:
        """The caller of a WebSocket, from ``connection_init``'s payload."""
        self.check_origin(conn)
        value = None
        if isinstance(params, Mapping):
            value = params.get("Authorization") or params.get("authorization")
        return await self.from_authorization(value)


async def refused(
    state: object, conn: HTTPConnection, needed: Role = Role.VIEWER
) -> Response | None:
    """For plain routes: the refusal to send, or None when the caller may go on.

    ``state`` is the started :class:`api.state.ApiState` (None: not started).
    """
    auth: Authenticator | None = getattr(state, "auth", None)
    if auth is None:
        return JSONResponse({"error": "not started"}, status_code=503)
    try:
        await auth.request(conn, needed)
    except AuthError as e:
        return denied(e)
    return None
