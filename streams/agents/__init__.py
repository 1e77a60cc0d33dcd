"""Faust agents: thin adapters between topics, the pure core and the sink."""

from streams.agents.crossings import count_crossings
from streams.agents.deadletter import DeadLetterCounter, dead_letter, dead_letters
from streams.agents.notifications import notify_alerts
from streams.agents.occupancy import apply_zone_inputs
from streams.agents.sink import sink_to_postgres

__all__ = [
    "DeadLetterCounter",
    "apply_zone_inputs",
    "count_crossings",
    "dead_letter",
    "dead_letters",
    "notify_alerts",
    "sink_to_postgres",
]
