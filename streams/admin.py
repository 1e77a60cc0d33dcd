"""Create the project's topics with their partitions, retention and compaction.

``python -m streams.admin`` is idempotent: it creates what is missing, checks
what exists and returns only once every partition of every topic has a leader
in fresh metadata, so a worker started right after it finds all of them. Run
it before the first worker starts (``deploy/up.sh`` and the tests do).

Besides the public and internal topics it creates the changelog topics of the
worker's tables (compacted, as many partitions as their source topics): when a
worker creates them itself while it joins the group, the group can form before
they are in the broker's metadata, and Faust then either leaves them out of
the assignment or stops with ``PartitionsMismatch`` ("... has 0 partitions").

It fails loudly instead of passing silently: the broker answers CreateTopics
with an error per topic (aiokafka returns them rather than raising), and any
error other than "already exists" stops the run with the topic's name and the
broker's message. An existing topic with another partition count is an error
as well (Kafka cannot shrink a topic, and co-partitioned tables would break).
An existing topic whose configs differ (a worker that subscribed first makes
the broker auto-create topics with its defaults) gets the project's configs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code

from streams.settings import Settings
from streams.topics import TABLES, TOPICS, changelog_topic

__all__ = [
    "TopicSetupError",
    "create_topics",
    "main",
    "topic_specs",
]

logger = logging.getLogger(__name__)

#: How long :func:`create_topics` waits for every partition to have a leader.
READY_TIMEOUT_S = 60.0

#: ``DescribeConfigs`` config source of a topic-level override.
_DYNAMIC_TOPIC_CONFIG = 1


class TopicSetupError(RuntimeError):
    """A topic could not be created, has the wrong shape, or never got leaders."""


def topic_specs(settings: Settings) -> list[NewTopic]:
    """Every topic of :data:`streams.topics.TOPICS` and every table changelog, with its configs."""
    specs: dict[str, dict[str, str]] = {
        settings.topic(topic.name): topic.configs(settings) for topic in TOPICS
    }
    # Table state: the latest value per key is the state, so compact (what Faust
    # itself asks for when it declares a changelog of a table without window).
    for table in TABLES:
        specs[changelog_topic(settings, table)] = {"cleanup.policy": "compact"}
    return [
        NewTopic(
            name=name,
            num_partitions=settings.partitions,
            replication_factor=1,
            topic_configs=cfg,
        )
        for name, cfg in specs.items()
    ]


async def create_topics(
    settings: Settings, *, ready_timeout_s: float = READY_TIMEOUT_S
) -> list[str]:
    """Create missing topics, check existing ones, wait for leaders; return the names created.

    Raises :class:`TopicSetupError` when the broker refuses a topic, when an
    existing topic has another partition count, or when some partition has no
    leader after ``ready_timeout_s``.
    """
    specs = {t.name: t for t in topic_specs(settings)}
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        # Metadata of *all* topics: asking for named topics lets a broker with
        # auto.create.topics.enable create them, with its defaults.
        existing = {t["topic"]: t for t in await admin.describe_topics() if t["error_code"] == 0}
        _check_partition_counts(specs, existing)
        missing = [t for name, t in specs.items() if name not in existing]
        created: list[str] = []
        if missing:
            response = await admin.create_topics(missing)
            created = _check_create_response(response, [t.name for t in missing])
        # Whatever this run did not create (it existed, or a concurrent creator
        # won the race) may carry someone else's configs.
        await _align_configs(admin, [t for name, t in specs.items() if name not in created])
        await _wait_for_leaders(admin, specs, ready_timeout_s)
        return created
    finally:
        await admin.close()


def _check_partition_counts(specs: Mapping[str, NewTopic], metadata: Mapping[str, Any]) -> None:
    wrong = [
        f"{name} has {len(metadata[name]['partitions'])} partitions, expected {spec.num_partitions}"
        for name, spec in specs.items()
        if name in metadata and len(metadata[name]["partitions"]) != spec.num_partitions
    ]
    if wrong:
        raise TopicSetupError(
            "existing topics have the wrong partition count (OCC_PARTITIONS): "
            + "; ".join(wrong)
            + ". Delete and recreate them, or use a fresh OCC_TOPIC_PREFIX / OCC_APP_ID."
        )


def _check_create_response(response: Any, requested: list[str]) -> list[str]:
    """Names the broker created; raise on any per-topic error but "already exists"."""
    created: list[str] = []
    failures: list[str] = []
    answered: set[str] = set()
    for topic, code, *rest in response.topic_errors:
        answered.add(topic)
        if code == 0:
            created.append(topic)
            logger.info("created topic %s", topic)
        elif code == TopicAlreadyExistsError.errno:
            logger.info("topic %s was created concurrently", topic)
        else:
            message = rest[0] if rest and rest[0] else "no message"
            failures.append(f"{topic}: {for_code(code).__name__} (error {code}): {message}")
    failures += [f"{t}: no answer from the broker" for t in requested if t not in answered]
    if failures:
        raise TopicSetupError("the broker refused to create topics: " + "; ".join(failures))
    return created


async def _align_configs(admin: AIOKafkaAdminClient, specs: Iterable[NewTopic]) -> None:
    """Give existing topics the project's configs, keeping their other overrides."""
    wanted = {t.name: dict(t.topic_configs) for t in specs if t.topic_configs}
    if not wanted:
        return
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in wanted]
    current: dict[str, dict[str, tuple[str, int]]] = {}
    for response in await admin.describe_configs(resources):
        for code, message, _type, name, entries, *_ in response.resources:
            if code != 0:
                raise TopicSetupError(
                    f"cannot read the configs of topic {name}: {message} ({code})"
                )
            current[name] = {e[0]: (e[1], e[3]) for e in entries}
    changes = []
    for name, cfg in wanted.items():
        have = current.get(name, {})
        diff = {k: v for k, v in cfg.items() if have.get(k, (None, 0))[0] != v}
        if not diff:
            continue
        # AlterConfigs replaces a topic's overrides as a whole: keep the others.
        overrides = {k: v for k, (v, source) in have.items() if source == _DYNAMIC_TOPIC_CONFIG}
        logger.warning(
            "topic %s exists with other configs (%s); setting %s",
            name,
            ", ".join(f"{k}={have.get(k, ('?', 0))[0]}" for k in diff),
            ", ".join(f"{k}={v}" for k, v in diff.items()),
        )
        changes.append(ConfigResource(ConfigResourceType.TOPIC, name, {**overrides, **cfg}))
    if not changes:
        return
    for response in await admin.alter_configs(changes):
        for code, message, _type, name, *_ in response.resources:
            if code != 0:
                raise TopicSetupError(f"cannot set the configs of topic {name}: {message} ({code})")


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, specs: Mapping[str, NewTopic], timeout_s: float
) -> None:
    """Until every partition of every topic has a leader in fresh metadata."""
    deadline = time.monotonic() + timeout_s
    while True:
        metadata = {t["topic"]: t for t in await admin.describe_topics()}
        _check_partition_counts(specs, {n: t for n, t in metadata.items() if t["error_code"] == 0})
        pending = []
        for name, spec in specs.items():
            topic = metadata.get(name)
            if topic is None or topic["error_code"] != 0:
                pending.append(f"{name} (not in metadata)")
                continue
            leaderless = [p["partition"] for p in topic["partitions"] if p["leader"] < 0]
            if leaderless or len(topic["partitions"]) < spec.num_partitions:
                pending.append(f"{name} (partitions without leader: {sorted(leaderless)})")
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise TopicSetupError(
                f"topics not ready after {timeout_s:.0f} s: " + "; ".join(pending)
            )
        await asyncio.sleep(0.2)


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    try:
        created = asyncio.run(create_topics(Settings()))
    except TopicSetupError as exc:
        raise SystemExit(f"streams.admin: {exc}") from None
    print(f"topics created: {', '.join(created) if created else 'none (all exist)'}")
    print("topics ready: every partition has a leader")


if __name__ == "__main__":
    main()
