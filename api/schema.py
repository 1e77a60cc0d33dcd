"""The GraphQL schema, merged from the domain packages."""

from __future__ import annotations

import strawberry

from api.alerts import AlertMutation, AlertQuery, AlertSubscription
from api.cameras import CameraMutation, CameraQuery
from api.history import HistoryQuery
from api.metrics import GraphQLMetrics
from api.operations import OperationsMutation
from api.zones import ZoneQuery, ZoneSubscription

__all__ = ["schema"]


@strawberry.type
class Query(ZoneQuery, AlertQuery, HistoryQuery, CameraQuery):
    pass


@strawberry.type
class Mutation(OperationsMutation, AlertMutation, CameraMutation):
    pass


@strawberry.type
class Subscription(ZoneSubscription, AlertSubscription):
    pass


schema = strawberry.Schema(
    query=Query, mutation=Mutation, subscription=Subscription, extensions=[GraphQLMetrics]
)
