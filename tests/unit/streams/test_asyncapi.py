"""The AsyncAPI document of the topics (streams.cli.asyncapi, schemas/asyncapi.json)."""

from __future__ import annotations

import json
from typing import Any

from schemas.export import MODELS, SCHEMA_DIR
from streams.cli.asyncapi import DOCUMENT, render, stale
from streams.settings import Settings
from streams.topics import TOPICS


def doc() -> dict[str, Any]:
    return json.loads(DOCUMENT.read_text())


def resolve(root: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            r for v in node.values() for r in refs(v)
        ]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def test_committed_document_is_current():
    assert not stale(), "run: python -m streams.cli.asyncapi"


def test_every_topic_is_a_channel_with_its_partitions_and_retention():
    d = doc()
    assert d["asyncapi"] == "3.0.0"
    defaults = Settings.model_construct()
    assert set(d["channels"]) == {t.name for t in TOPICS}
    for spec in TOPICS:
        kafka = d["channels"][spec.name]["bindings"]["kafka"]
        assert kafka["topic"] == d["channels"][spec.name]["address"] == f"{spec.name}.v1"
        assert kafka["partitions"] == defaults.partitions
        want = int(spec.configs(defaults)["retention.ms"])
        assert kafka["topicConfiguration"]["retention.ms"] == want
        assert f"consume-{spec.name}" in d["operations"]


def test_every_reference_resolves_and_every_event_model_is_published():
    d = doc()
    files = set()
    for ref in refs(d):
        if ref.startswith("#/"):
            assert resolve(d, ref) is not None
        else:
            assert (DOCUMENT.parent / ref).is_file(), ref
            files.add(ref.removeprefix("json/").removesuffix(".schema.json"))
    assert files == set(MODELS) - {"PlantConfig.v1"}  # the configuration is no topic's
    for stem in files:
        assert (SCHEMA_DIR / f"{stem}.schema.json").is_file()


def test_document_ignores_the_environment(monkeypatch):
    monkeypatch.setenv("OCC_TOPIC_PREFIX", "t123.")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "elsewhere:9092")
    assert render() == DOCUMENT.read_text()
