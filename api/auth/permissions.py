"""Role checks on GraphQL fields: every root field carries one (a test checks it)."""

from __future__ import annotations

from typing import Any, ClassVar

import strawberry
from graphql import GraphQLError
from strawberry.permission import BasePermission

from api.auth.principals import Principal, Role

__all__ = ["BY_DEPRECATION", "Admin", "Operator", "Viewer", "principal_of", "recorded_by"]

#: The ``by`` arguments of the mutations: once free text, now the caller.
BY_DEPRECATION = (
    "Ignored: the authenticated caller (its key's name or token's subject) is recorded."
)


def principal_of(info: strawberry.Info) -> Principal:
    """The caller (the permission classes have made sure there is one)."""
    principal = info.context.get("principal")
    if principal is None:  # a field without a permission class: refuse rather than guess
        raise GraphQLError("authentication required", extensions={"code": "UNAUTHENTICATED"})
    return principal


class _Needs(BasePermission):
    needed: ClassVar[Role]

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        principal = info.context.get("principal")
        if principal is None:
            raise GraphQLError(
                "authentication required: send an API key or an OIDC token as "
                "'Authorization: Bearer ...'",
                extensions={"code": "UNAUTHENTICATED"},
            )
        if not principal.role.allows(self.needed):
            raise GraphQLError(
                f"{info.field_name} needs the {self.needed.value} role; "
                f"{principal.name} is a {principal.role.value}",
                extensions={"code": "FORBIDDEN", "needed": self.needed.value},
            )
        return True


class Viewer(_Needs):
    """Queries and subscriptions."""

    needed = Role.VIEWER


class Operator(_Needs):
    """Corrections: calibrations, alert resolutions, snapshots."""

    needed = Role.OPERATOR


class Admin(_Needs):
    """Configuration and keys."""

    needed = Role.ADMIN


def recorded_by(info: strawberry.Info, given: str | None, max_length: int) -> str:
    """What an audit field records: the caller, never free text.

    ``given`` is the deprecated ``by`` argument; it is still checked like any
    text input (so bad input is refused as before) and then ignored.
    """
    from api.inputs import text

    if given is not None:
        text(given, "by", max_length=max_length, hint="ignored: the caller is recorded")
    return principal_of(info).name[:max_length]
