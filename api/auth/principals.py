"""Who is calling and what they may do. Pure: no I/O.

Roles are ordered: a viewer reads (queries, subscriptions), an operator also
corrects (calibrations, alert resolutions, snapshots), an admin also manages
configuration and keys.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Principal", "Role"]


class Role(enum.Enum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may."""
        return self.rank >= needed.rank


_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    Attributes:
        name: What audit fields record (``by``): ``key:<name>`` for an API
            key, ``oidc:<subject>`` for a bearer token.
        role: What it may do.
        via: ``api-key`` or ``oidc``.
    """

    name: str
    role: Role
    via: str
