"""Sinks: batch events and write them to a store idempotently."""

from streams.sinks.base import BatchingSink, SinkError
from streams.sinks.postgres import PostgresSink

__all__ = ["BatchingSink", "PostgresSink", "SinkError"]
