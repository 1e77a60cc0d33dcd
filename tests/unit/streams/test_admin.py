"""streams.admin without a broker: topic specs, CreateTopics answers.

The broker-backed checks (a refused topic fails the run, changelogs are created
compacted, wrong partition counts are refused) are in
``tests/integration/test_cold_start.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from streams import admin
from streams.settings import Settings


@dataclass
class Response:
    topic_errors: list[tuple]


def test_every_topic_gets_the_configured_partition_count():
    settings = Settings(topic_prefix="p.", app_id="a", partitions=7)
    specs = admin.topic_specs(settings)
    names = [t.name for t in specs]
    assert "p.detections.v1" in names and "a-track-state-changelog" in names
    assert len(names) == len(set(names))
    assert {t.num_partitions for t in specs} == {7}


def test_per_topic_errors_in_the_create_response_are_raised():
    response = Response(
        [
            ("ok.v1", 0, None),
            ("raced.v1", 36, "Topic 'raced.v1' already exists."),
            ("bad.v1", 40, "Invalid value abc for configuration retention.ms"),
        ]
    )
    with pytest.raises(admin.TopicSetupError) as caught:
        admin._check_create_response(response, ["ok.v1", "raced.v1", "bad.v1", "lost.v1"])
    message = str(caught.value)
    assert "bad.v1: InvalidConfigurationError (error 40): Invalid value abc" in message
    assert "lost.v1: no answer from the broker" in message
    assert "ok.v1" not in message and "raced.v1" not in message


def test_created_and_concurrently_created_topics_pass():
    response = Response([("ok.v1", 0, None), ("raced.v1", 36, "exists")])
    assert admin._check_create_response(response, ["ok.v1", "raced.v1"]) == ["ok.v1"]
    # CreateTopics v0 answers carry no message.
    assert admin._check_create_response(Response([("old.v1", 0)]), ["old.v1"]) == ["old.v1"]


def test_wrong_partition_counts_name_the_topics():
    specs = {t.name: t for t in admin.topic_specs(Settings(topic_prefix="p.", partitions=4))}
    metadata = {
        "p.detections.v1": {"partitions": [{}, {}]},
        "p.alerts.v1": {"partitions": [{}] * 4},
    }
    with pytest.raises(
        admin.TopicSetupError, match=r"p\.detections\.v1 has 2 partitions, expected 4"
    ):
        admin._check_partition_counts(specs, metadata)
