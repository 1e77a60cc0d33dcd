"""Stream side: the pure counting core, the Faust worker that runs it, and its tools.

Laid out by role, I/O at the edges:

* :mod:`streams.core`: the pure core (geometry, line counting, zones, alert
  rules, event time, recount). Imports only :mod:`schemas`, numpy, pydantic
  and the standard library.
* The worker: :mod:`streams.app` (the one Faust app, built by
  :func:`streams.faust_app.create_app`), :mod:`streams.agents` (thin agents,
  independent of each other), :mod:`streams.runtime` (what the agents
  share), :mod:`streams.tables`, :mod:`streams.readiness`,
  :mod:`streams.faust_recovery`; started as ``python -m streams worker``.
* Edges the worker and the tools use: :mod:`streams.sinks` (PostgreSQL),
  :mod:`streams.notifiers` (webhook, e-mail).
* Shared by every process: :mod:`streams.settings` (``OCC_*`` settings; the
  API and the producers import it too), :mod:`streams.topics` (the topic
  registry) and :mod:`streams.logs` (JSON or text log lines).
* Setup and operator tools: :mod:`streams.admin` (topics),
  :mod:`streams.cli` (recount by replay, database migrations).

Import rules (``pyproject.toml`` ``[tool.importlinter]``): nothing here imports
:mod:`api` or :mod:`producers`; only the worker imports the Faust app, its
agents, tables and runtime.
"""

__all__: list[str] = []
