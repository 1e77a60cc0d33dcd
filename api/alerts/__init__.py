"""Alerts: list, resolve by hand, and follow live (GraphQL types, queries, mutations,
subscriptions). Imports :mod:`schemas` and the API's own modules."""

from api.alerts.mutations import AlertMutation
from api.alerts.queries import AlertQuery
from api.alerts.subscriptions import AlertSubscription
from api.alerts.types import Alert, AlertEvent

__all__ = ["Alert", "AlertEvent", "AlertMutation", "AlertQuery", "AlertSubscription"]
