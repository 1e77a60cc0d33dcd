"""Sinks: batch events and write them to a store idempotently.

A small batching base (:mod:`streams.sinks.base`: ``add``, ``flush``) and one
implementation per store (:mod:`streams.sinks.postgres`). Used by the sink
agent and by tools; imports :mod:`schemas` (models, migrations) and psycopg,
never the Faust app.
"""

from streams.sinks.base import BatchingSink, SinkError
from streams.sinks.postgres import PostgresSink

__all__ = ["BatchingSink", "PostgresSink", "SinkError"]
