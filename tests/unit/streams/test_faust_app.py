"""The app factory: an app per Settings, patched against faust-streaming #596."""

from __future__ import annotations

import os

import faust

from streams import faust_recovery
from streams.faust_app import WorkerTopics, create_app
from streams.settings import Settings
from streams.topics import worker_topics


def test_create_app_builds_the_app_the_settings_describe():
    settings = Settings(
        app_id="factory-test",
        kafka_bootstrap_servers="broker.example:9092",
        partitions=3,
        session_timeout_s=12.0,
        topic_prefix="f.",
    )
    app = create_app(settings)
    assert isinstance(app, faust.App)
    assert app.conf.id == "factory-test"
    assert [str(u) for u in app.conf.broker] == ["kafka://broker.example:9092"]
    assert app.conf.topic_partitions == 3
    assert app.conf.broker_session_timeout == 12.0
    assert app.conf.broker_heartbeat_interval == 3.0
    assert app.conf.producer_acks == -1
    assert app.conf.consumer_metadata_max_age_ms == 5000
    assert not app.conf.web_enabled
    switched_off = os.environ.get(faust_recovery.ENV_SWITCH, "1").strip() == "0"
    assert faust_recovery.installed() or switched_off
    topics = WorkerTopics(app, settings)
    assert set(topics.by_name) == {t.name for t in worker_topics()}
    assert topics.detections.get_topic_name() == "f.detections.v1"
    assert set(topics.zone_inputs.topics) == {"f.zone-deltas.v1", "f.commands.v1"}
