"""The pure core: counting, zones, alerts and event time, as plain Python and numpy.

What lives here:

* :mod:`streams.core.geometry`: plane geometry of counting lines (pixels).
* :mod:`streams.core.counting`: the line-crossing state machine
  (:class:`~streams.core.counting.LineCounter`).
* :mod:`streams.core.zones`: the zone graph and the per-zone occupancy
  reducer (:class:`~streams.core.zones.ZoneOccupancy`), folding in event time.
* :mod:`streams.core.alerts`: alert rules with hysteresis (capacity, drift,
  camera liveness).
* :mod:`streams.core.event_time`: the watermark and local-time schedules.
* :mod:`streams.core.recount`: recounting a period with another configuration.

What it may import: :mod:`schemas`, numpy, pydantic and the standard library;
no Kafka, Faust, psycopg, cv2 or HTTP, and nothing else from ``streams``,
``api`` or ``producers``. The Faust agents, the recount tool, the benchmarks
and the tests all call this same code; a test of the core never needs a
broker. Import the modules themselves (``from streams.core.zones import
ZoneGraph``): this package re-exports nothing, so importing one part does not
load the others.
"""

__all__: list[str] = []
