"""``python -m streams worker -l info --without-web``: run the Faust worker with every agent.

The worker runs on uvloop where it is installed (a dependency on Linux and
macOS), as ``faust -L uvloop`` would: the event loop's own overhead per
message is a large part of the worker's CPU time. The garbage collector is
tuned for the same reason (see below).
"""

import asyncio
import gc

try:
    import uvloop
except ImportError:  # pragma: no cover - Windows
    pass
else:
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

import streams.readiness  # noqa: F401  (logs "occupancy worker ready" once all partitions are owned)
from streams.agents import apply_zone_inputs, count_crossings, notify_alerts, sink_to_postgres
from streams.app import app, settings
from streams.runtime import diagnostics, metrics, watchdog
from streams.runtime.event_clock import clock

__all__ = [
    "app",
    "apply_zone_inputs",
    "count_crossings",
    "notify_alerts",
    "sink_to_postgres",
]

diagnostics.install(app)  # kill -QUIT <pid>: every thread's stack and every task, to the log
watchdog.install(app, settings.commit_stall_s)  # a commit that never returns: restart
# Prometheus /metrics on OCC_WORKER_METRICS_PORT (0: off), from the worker's start.
metrics.install(
    app,
    lambda: clock.watermark.last_value,
    settings.worker_metrics_port,
    settings.worker_metrics_host,
)

if __name__ == "__main__":
    # Everything imported so far lives as long as the process: keep it out of
    # the collector's scans, and collect the young generation less often (the
    # agents allocate many short-lived objects per message).
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    app.main()
