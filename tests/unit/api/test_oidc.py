"""OIDC bearer tokens against a JWKS served on loopback, as an identity provider would."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from api.auth.oidc import OidcVerifier
from api.auth.principals import Principal, Role

ISSUER = "https://idp.plant.example/realms/plant"
AUDIENCE = "occupancy-api"


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048) for kid in "ab"}


@pytest.fixture(scope="module")
def jwks_url(keys: dict[str, Any]) -> Iterator[str]:
    # Only key "a" is published: tokens signed with "b" must be refused.
    jwk = json.loads(RSAAlgorithm.to_jwk(keys["a"].public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "a", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/certs"
    server.shutdown()


def token(keys: dict[str, Any], kid: str = "a", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "anna", "iat": now, "exp": now + 300}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, keys[kid], algorithm="RS256", headers={"kid": kid})


async def test_a_good_token_gives_its_highest_role(keys, jwks_url) -> None:
    v = OidcVerifier(ISSUER, AUDIENCE, jwks_url)
    assert await v.verify(token(keys, roles=["viewer", "operator", "plant-staff"])) == Principal(
        "oidc:anna", Role.OPERATOR, "oidc"
    )
    assert (await v.verify(token(keys, roles="admin"))).role is Role.ADMIN  # type: ignore[union-attr]
    custom = OidcVerifier(ISSUER, AUDIENCE, jwks_url, role_claim="occupancy_role")
    assert (await custom.verify(token(keys, occupancy_role="viewer"))).role is Role.VIEWER  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "claims",
    [
        {"roles": ["plant-staff"]},  # no role of ours
        {"roles": ["viewer"], "aud": "another-api"},
        {"roles": ["viewer"], "iss": "https://evil.example"},
        {"roles": ["viewer"], "exp": int(time.time()) - 60},
        {"roles": ["viewer"], "sub": None},
    ],
    ids=["no-role", "audience", "issuer", "expired", "no-subject"],
)
async def test_bad_tokens_are_refused(keys, jwks_url, claims) -> None:
    v = OidcVerifier(ISSUER, AUDIENCE, jwks_url)
    assert await v.verify(token(keys, **claims)) is None


async def test_a_token_signed_by_an_unpublished_key_or_tampered_is_refused(keys, jwks_url) -> None:
    v = OidcVerifier(ISSUER, AUDIENCE, jwks_url)
    assert await v.verify(token(keys, kid="b", roles=["admin"])) is None
    good = token(keys, roles=["viewer"])
    header, _, signature = good.split(".")
    forged = jwt.utils.base64url_encode(
        json.dumps(
            {**jwt.decode(good, options={"verify_signature": False}), "roles": ["admin"]}
        ).encode()
    ).decode()
    assert await v.verify(f"{header}.{forged}.{signature}") is None
    unsigned = jwt.encode(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "x",
            "roles": ["admin"],
            "exp": int(time.time()) + 60,
        },
        key=None,
        algorithm="none",
    )
    assert await v.verify(unsigned) is None
