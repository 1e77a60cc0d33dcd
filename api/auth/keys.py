"""API keys: ``occ_<key id>_<secret>``, stored as an argon2 hash of the secret.

A key is shown once, when it is made (``python -m api.auth create``, or the
``createApiKey`` mutation). The key id is public (it names the key in lists and
audit trails); the secret is 32 random bytes. Checking a key costs an argon2
verification (tens of milliseconds, on purpose), so :class:`KeyVerifier`
remembers a good key for :attr:`KeyVerifier.CACHE_S` seconds; a revoked key
stops working within that time on every API instance, and at once on the one
that revoked it.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg import AsyncConnection, Connection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api.auth.principals import Principal, Role

__all__ = [
    "KEY_ID_PATTERN",
    "KEY_PATTERN",
    "REVOKE",
    "ApiKey",
    "KeyVerifier",
    "create_key",
    "create_key_sync",
    "list_keys",
    "new_key",
    "parse_key",
    "revoke_key",
    "secret_matches",
]

#: ``occ_`` + 12 hex digits of key id + ``_`` + 43 characters of urlsafe base64.
KEY_PATTERN = re.compile(r"occ_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
KEY_ID_PATTERN = re.compile(r"[0-9a-f]{12}")
_HASHER = PasswordHasher()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key, without its secret."""

    key_id: str
    name: str
    role: Role
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> ApiKey:
        return cls(
            key_id=r["key_id"],
            name=r["name"],
            role=Role(r["role"]),
            created_at=r["created_at"],
            created_by=r["created_by"],
            revoked_at=r["revoked_at"],
            revoked_by=r["revoked_by"],
        )


def new_key() -> tuple[str, str, str]:
    """A fresh ``(key, key_id, secret_hash)``."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"occ_{key_id}_{secret}", key_id, _HASHER.hash(secret)


def secret_matches(secret_hash: str, secret: str) -> bool:
    """Whether ``secret`` is the one ``secret_hash`` was made from (argon2: slow on purpose)."""
    try:
        return _HASHER.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def parse_key(key: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed key, else None."""
    m = KEY_PATTERN.fullmatch(key)
    return (m.group(1), m.group(2)) if m else None


_INSERT = (
    "INSERT INTO api_keys (key_id, name, role, secret_hash, created_by) VALUES (%s, %s, %s, %s, %s)"
)


def create_key_sync(conn: Connection, name: str, role: Role, by: str) -> tuple[str, str]:
    """Store a new key (for the command line); returns ``(key, key_id)``."""
    key, key_id, secret_hash = new_key()
    conn.execute(_INSERT, (key_id, name, role.value, secret_hash, by))
    return key, key_id


async def create_key(conn: AsyncConnection, name: str, role: Role, by: str) -> tuple[str, str]:
    """Store a new key; returns ``(key, key_id)``. The key is not kept anywhere."""
    key, key_id, secret_hash = await asyncio.to_thread(new_key)
    await conn.execute(_INSERT, (key_id, name, role.value, secret_hash, by))
    return key, key_id


async def list_keys(conn: AsyncConnection) -> list[ApiKey]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT * FROM api_keys ORDER BY created_at, key_id")
        return [ApiKey.from_row(r) for r in await cur.fetchall()]


#: Revoke a key (again: no change); params ``(by, key_id)``.
REVOKE = (
    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()), "
    "revoked_by = coalesce(revoked_by, %s) WHERE key_id = %s RETURNING *"
)


async def revoke_key(conn: AsyncConnection, key_id: str, by: str) -> ApiKey | None:
    """Revoke a key (again: no change); None if there is no such key."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(REVOKE, (by, key_id))
        row = await cur.fetchone()
    return ApiKey.from_row(row) if row else None


class KeyVerifier:
    """Turns a presented key into a :class:`Principal`, or None."""

    #: Seconds a verified key is trusted without asking the database again.
    CACHE_S = 30.0

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self._cache: dict[bytes, tuple[Principal, str, float]] = {}

    async def verify(self, key: str) -> Principal | None:
        parsed = parse_key(key)
        if parsed is None:
            return None
        key_id, secret = parsed
        digest = hashlib.sha256(key.encode()).digest()
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None and hit[2] > now:
            return hit[0]
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT name, role, secret_hash FROM api_keys "
                "WHERE key_id = %s AND revoked_at IS NULL",
                (key_id,),
            )
            row = await cur.fetchone()
        if row is None:
            self._cache.pop(digest, None)
            return None
        if not await asyncio.to_thread(secret_matches, row["secret_hash"], secret):
            return None
        principal = Principal(f"key:{row['name']}", Role(row["role"]), "api-key")
        if len(self._cache) > 10_000:  # many distinct keys: start over, never grow unbounded
            self._cache.clear()
        self._cache[digest] = (principal, key_id, now + self.CACHE_S)
        return principal

    def forget(self, key_id: str) -> None:
        """Drop cached verifications of a key (after revoking it)."""
        self._cache = {d: v for d, v in self._cache.items() if v[1] != key_id}
