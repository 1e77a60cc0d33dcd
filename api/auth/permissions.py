"""Role checks on GraphQL fields: every root field carries one (a test checks it)."""

from __future__ import annotations

from typing import Any, ClassVar

import strawberry
from graphql import GraphQLError
from strawberry.permission import BasePermission

from api.auth.principals import Principal, Role

__all__ = ["Admin", "Operator", "Viewer", "principal_of"]


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
