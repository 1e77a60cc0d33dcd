"""GraphQL API: queries read PostgreSQL, subscriptions are fed from Kafka."""

__all__: list[str] = []
