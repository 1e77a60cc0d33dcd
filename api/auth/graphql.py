"""GraphQL of access control: who am I (any role), API keys (admin)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from graphql import GraphQLError

from api.auth import keys
from api.auth.permissions import Admin, Viewer, principal_of
from api.auth.principals import Role as RoleEnum
from api.inputs import bad_input, text
from api.state import ApiState

__all__ = ["AuthMutation", "AuthQuery"]

Role = strawberry.enum(RoleEnum, description="viewer < operator < admin.")
NAME_MAX = 100


@strawberry.type(description="The caller of this request.")
class Me:
    name: str = strawberry.field(description="What audit fields record (by).")
    role: Role  # type: ignore[valid-type]
    via: str = strawberry.field(description="api-key or oidc.")


@strawberry.type(description="An API key, without its secret.")
class ApiKeyInfo:
    key_id: strawberry.ID
    name: str
    role: Role  # type: ignore[valid-type]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None

    @classmethod
    def of(cls, k: keys.ApiKey) -> ApiKeyInfo:
        return cls(
            key_id=strawberry.ID(k.key_id),
            name=k.name,
            role=k.role,
            created_at=k.created_at,
            created_by=k.created_by,
            revoked_at=k.revoked_at,
            revoked_by=k.revoked_by,
        )


@strawberry.type(description="A new API key: the key is shown this once and stored only hashed.")
class CreatedApiKey:
    key: str
    info: ApiKeyInfo


@strawberry.type
class AuthQuery:
    @strawberry.field(description="Who is calling, with which role.", permission_classes=[Viewer])
    def me(self, info: strawberry.Info) -> Me:
        p = principal_of(info)
        return Me(name=p.name, role=p.role, via=p.via)

    @strawberry.field(
        description="Every API key, revoked ones too (admin).", permission_classes=[Admin]
    )
    async def api_keys(self, info: strawberry.Info) -> list[ApiKeyInfo]:
        state: ApiState = info.context["state"]
        async with state.pool.connection() as conn:
            return [ApiKeyInfo.of(k) for k in await keys.list_keys(conn)]


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Make an API key (admin).", permission_classes=[Admin])
    async def create_api_key(
        self,
        info: strawberry.Info,
        name: str,
        role: Role,  # type: ignore[valid-type]
    ) -> CreatedApiKey | None:
        state: ApiState = info.context["state"]
        name = text(name, "name", max_length=NAME_MAX, hint="what the key is for")
        by = principal_of(info).name
        async with state.pool.connection() as conn:
            key, key_id = await keys.create_key(conn, name, role, by)
            made = next(k for k in await keys.list_keys(conn) if k.key_id == key_id)
        return CreatedApiKey(key=key, info=ApiKeyInfo.of(made))

    @strawberry.mutation(
        description="Revoke an API key (admin); it stops working within 30 s everywhere, "
        "at once on this API instance.",
        permission_classes=[Admin],
    )
    async def revoke_api_key(
        self, info: strawberry.Info, key_id: strawberry.ID
    ) -> ApiKeyInfo | None:
        state: ApiState = info.context["state"]
        if not keys.KEY_ID_PATTERN.fullmatch(str(key_id)):
            raise bad_input(f"key id {key_id!r} is not 12 hex digits", "keyId")
        async with state.pool.connection() as conn:
            revoked = await keys.revoke_key(conn, str(key_id), principal_of(info).name)
        if revoked is None:
            raise GraphQLError(f"unknown key {key_id!r}", extensions={"code": "NOT_FOUND"})
        if state.auth is not None:
            state.auth.keys.forget(revoked.key_id)
        return ApiKeyInfo.of(revoked)
