"""GraphQL API: queries read PostgreSQL, subscriptions are fed from Kafka.

``uvicorn api.app:app``. One package per domain (:mod:`api.zones`,
:mod:`api.alerts`, :mod:`api.history`, :mod:`api.operations`), each with its
types, queries, mutations and subscriptions, merged in :mod:`api.schema`;
:mod:`api.live` is the one Kafka consumer per process that feeds the
subscriptions.

What it may import: :mod:`schemas` (models, migrations),
:mod:`streams.settings` and the web and database clients; never the stream
worker (``streams.app``, its agents, tables or runtime).
"""

__all__: list[str] = []
