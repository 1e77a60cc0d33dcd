"""The GraphQL schema, merged from the domain packages, with its limits.

A document is refused before it runs when it nests deeper than
:data:`MAX_DEPTH`, has more than :data:`MAX_ALIASES` aliases or more than
:data:`MAX_TOKENS` tokens (one query of 5,000 aliases of ``zones`` once took
7 s of server time); the standard introspection query stays within them.
Mutation fields are nullable: the root fields of one mutation document run
one after the other and each may take effect, so a refused one must not turn
its siblings' results into ``data: null`` (GraphQL's null propagation would).

Today no type refers back to itself, so the schema bounds depth on its own
(introspection fields are not counted); the depth limit is there for the day
one does.
"""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter

from api.alerts import AlertMutation, AlertQuery, AlertSubscription
from api.auth.graphql import AuthMutation, AuthQuery
from api.cameras import CameraMutation, CameraQuery
from api.crossings import CrossingQuery
from api.history import HistoryQuery
from api.metrics import GraphQLMetrics
from api.operations import OperationsMutation
from api.zones import ZoneQuery, ZoneSubscription

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_TOKENS", "schema"]

MAX_DEPTH = 12
MAX_ALIASES = 50
MAX_TOKENS = 3000


@strawberry.type
class Query(ZoneQuery, AlertQuery, HistoryQuery, CameraQuery, CrossingQuery, AuthQuery):
    pass


@strawberry.type
class Mutation(OperationsMutation, AlertMutation, CameraMutation, AuthMutation):
    pass


@strawberry.type
class Subscription(ZoneSubscription, AlertSubscription):
    pass


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[
        GraphQLMetrics,
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ],
)
