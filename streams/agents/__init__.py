"""Faust agents: thin adapters between topics, the pure core and the sink.

One module per agent (or timer), each decorating the worker's app
(``streams.app``), which is how Faust registers them:

* :mod:`~streams.agents.crossings`: ``detections.v1`` -> crossings and zone deltas;
* :mod:`~streams.agents.occupancy`: zone deltas and commands -> occupancy and alerts;
* :mod:`~streams.agents.schedule`: clock-driven rules (camera liveness, resets);
* :mod:`~streams.agents.notifications`: ``alerts.v1`` -> webhook and e-mail;
* :mod:`~streams.agents.sink`: the public topics -> PostgreSQL.

Importing this package registers all of them (``python -m streams worker``
does). The agent modules never import each other: what they share (dead
letters, the offset-gap guard, alert sending, the worker's event-time clock)
lives in :mod:`streams.runtime`; an import-linter contract checks it.
"""

from streams.agents.crossings import count_crossings
from streams.agents.notifications import notify_alerts
from streams.agents.occupancy import apply_zone_inputs
from streams.agents.schedule import clock_timer
from streams.agents.sink import sink_to_postgres

__all__ = [
    "apply_zone_inputs",
    "clock_timer",
    "count_crossings",
    "notify_alerts",
    "sink_to_postgres",
]
