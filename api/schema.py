"""The GraphQL schema, merged from the domain packages."""

from __future__ import annotations

import strawberry

from api.zones import ZoneQuery, ZoneSubscription

__all__ = ["schema"]


@strawberry.type
class Query(ZoneQuery):
    pass


@strawberry.type
class Subscription(ZoneSubscription):
    pass


schema = strawberry.Schema(query=Query, subscription=Subscription)
