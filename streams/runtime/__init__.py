"""Worker-side helpers that the Faust agents share.

* :mod:`~streams.runtime.deadletter`: publishing what cannot be processed to
  ``deadletter.v1``, with its reason and origin;
* :mod:`~streams.runtime.gaps`: the offset-gap guard (an offset gap is fatal);
* :mod:`~streams.runtime.alerting`: publishing alert events to ``alerts.v1``;
* :mod:`~streams.runtime.event_clock`: the worker's event-time clock
  (watermark, camera liveness) and its clock-driven rules;
* :mod:`~streams.runtime.metrics`: the worker's Prometheus metrics and their
  exporter (``OCC_WORKER_METRICS_PORT``).

What it may import: :mod:`schemas`, :mod:`streams.core`, the worker's app
(``streams.app``) and Faust; never :mod:`streams.agents`, so that the agents
depend on it and not on each other.
"""

__all__: list[str] = []
