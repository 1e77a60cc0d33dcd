"""OIDC bearer tokens: JWTs signed by the plant's identity provider, checked against its JWKS.

Configured by ``OCC_OIDC_ISSUER``, ``OCC_OIDC_AUDIENCE`` and
``OCC_OIDC_JWKS_URL`` (all three, or OIDC is off). The role comes from the
claim ``OCC_OIDC_ROLE_CLAIM`` (default ``roles``): a string or a list; the
highest of ``viewer``, ``operator``, ``admin`` found wins, and a token with none
of them is refused. PyJWT fetches and caches the provider's keys.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import jwt

from api.auth.principals import Principal, Role

__all__ = ["OidcVerifier"]

logger = logging.getLogger(__name__)


class OidcVerifier:
    """Checks signature, issuer, audience, expiry; maps the role claim."""

    ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")

    def __init__(self, issuer: str, audience: str, jwks_url: str, role_claim: str = "roles"):
        self.issuer = issuer
        self.audience = audience
        self.role_claim = role_claim
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5)

    def _decode(self, token: str) -> dict[str, Any]:
        key = self._jwks.get_signing_key_from_jwt(token)
        return jwt.decode(
            token,
            key.key,
            algorithms=list(self.ALGORITHMS),
            audience=self.audience,
            issuer=self.issuer,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )

    async def verify(self, token: str) -> Principal | None:
        try:
            claims = await asyncio.to_thread(self._decode, token)
        except jwt.PyJWTError as e:
            logger.info("bearer token refused: %s", e)
            return None
        found = claims.get(self.role_claim, [])
        values = (
            {found} if isinstance(found, str) else set(found) if isinstance(found, list) else set()
        )
        roles = [r for r in Role if r.value in values]
        if not roles:
            logger.info("bearer token of %s has no role in %r", claims.get("sub"), self.role_claim)
            return None
        role = max(roles, key=lambda r: r.rank)
        return Principal(f"oidc:{claims['sub']}", role, "oidc")
