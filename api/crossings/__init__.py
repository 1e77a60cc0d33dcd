"""The crossings log: every stored crossing, newest first, with cursor pagination.

Imports :mod:`schemas` and the API's own modules; reads PostgreSQL."""

from api.crossings.queries import CrossingQuery

__all__ = ["CrossingQuery"]
