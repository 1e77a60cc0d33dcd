"""Command-line tools of the stream side, run by operators (not by the worker).

* ``python -m streams.cli.recount``: recount a period by replaying the raw
  detections kept in Kafka with another configuration
  (:mod:`streams.cli.recount`; the counting itself is the pure
  :mod:`streams.core.recount`).
* ``python -m streams.cli.migrate``: apply the database migrations
  (:mod:`schemas.migrate`) with the ``OCC_*`` settings.

What they may import: :mod:`schemas`, :mod:`streams.core`,
:mod:`streams.settings`, :mod:`streams.sinks` and their own clients (aiokafka,
psycopg); never the Faust app (``streams.app``) or its agents, so a tool runs
without starting a worker.
"""

__all__: list[str] = []
