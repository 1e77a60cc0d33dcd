"""History: minute/hour/day/month buckets of zones, cameras and lines; statistics; CSV.

Imports :mod:`schemas` and the API's own modules; reads PostgreSQL."""

from api.history.export import history_export_route
from api.history.queries import HistoryQuery

__all__ = ["HistoryQuery", "history_export_route"]
