"""``python -m streams worker -l info --without-web``: run the Faust worker with every agent."""

import streams.readiness  # noqa: F401  (logs "occupancy worker ready" once all partitions are owned)
from streams.agents import apply_zone_inputs, count_crossings, notify_alerts, sink_to_postgres
from streams.app import app

__all__ = [
    "app",
    "apply_zone_inputs",
    "count_crossings",
    "notify_alerts",
    "sink_to_postgres",
]

if __name__ == "__main__":
    app.main()
