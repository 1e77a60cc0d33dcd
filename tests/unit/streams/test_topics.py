"""The topic registry against what the worker's app really declares and the admin creates."""

from __future__ import annotations

from streams import admin, topics
from streams.settings import Settings


def test_changelog_topics_are_named_and_sized_as_faust_does():
    # The tables the worker registers, with the names Faust gives their changelogs.
    from streams.app import app, settings
    from streams.tables import state  # noqa: F401  (registers the tables)

    tables = {t.name: t for t in app.tables.values()}
    assert set(tables) == set(topics.TABLES), "add new tables to streams.topics.TABLES"
    specs = {t.name: t for t in admin.topic_specs(settings)}
    for name, table in tables.items():
        topic = topics.changelog_topic(settings, name)
        assert topic == table.changelog_topic.get_topic_name()
        assert specs[topic].num_partitions == (table.partitions or app.conf.topic_partitions)
        assert specs[topic].topic_configs == {"cleanup.policy": "compact"}


def test_the_app_declares_the_worker_topics_and_the_agents_read_only_those():
    import streams.agents  # noqa: F401  (registers the agents)
    from streams.app import app, settings
    from streams.app import topics as app_topics

    worker = {settings.topic(t.name) for t in topics.worker_topics()}
    declared = {t.get_topic_name() for t in app_topics.by_name.values()}
    assert declared == worker
    read = {name for agent in app.agents.values() for name in agent.channel.topics}
    assert read <= worker, "agents read topics missing from streams.topics.TOPICS"
    created = {t.name for t in admin.topic_specs(settings)}
    assert worker <= created


def test_every_topic_is_listed_once_with_a_retention():
    names = [t.name for t in topics.TOPICS]
    assert len(names) == len(set(names))
    settings = Settings(detections_retention_hours=5)
    retention = {t.name: t.configs(settings)["retention.ms"] for t in topics.TOPICS}
    assert retention["detections"] == str(5 * 3600 * 1000)  # the recount horizon
    assert retention["commands"] == "-1"  # the audit trail is kept forever
