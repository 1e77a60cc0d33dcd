"""A fresh start: the worker comes up before its topics exist and still counts at once.

On a fresh clone the consumer group can form before the topics are in the
broker's metadata. Faust's assignor then leaves them out ("Ignoring missing
topic") and, with Faust's default ``consumer_metadata_max_age_ms`` (300 s),
the worker sat idle for five minutes. Here the worker starts first, its group
forms, and only then are the topics created: crossings must still reach
PostgreSQL within a minute of the worker's start.

The same module checks ``streams.admin`` against the real broker: a refused
topic is an error naming it (aiokafka returns per-topic errors instead of
raising them), table changelogs are created compacted with the source topics'
partition count, and a topic with another partition count is refused.
"""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import psycopg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from faust.types import TP

from producers.simulation.scene import Scene
from schemas.config import load_plant_config
from streams import admin
from streams.readiness import READY_MESSAGE, Readiness
from streams.settings import Settings
from streams.topics import TABLES
from tests.harness import ROOT, Namespace, Process, create_topics, publish_frames
from tests.harness import worker as start_worker

pytestmark = pytest.mark.integration

#: From the worker's start to the first crossings in the database. The old
#: behaviour needs one metadata refresh: about 300 s.
FIRST_COUNTS_WITHIN_S = 60.0


def settings_of(ns: Namespace, **overrides: object) -> Settings:
    return Settings(
        KAFKA_BOOTSTRAP_SERVERS=ns.bootstrap,
        topic_prefix=ns.prefix,
        app_id=ns.env["OCC_APP_ID"],
        **overrides,
    )


def crossings_in_db(ns: Namespace) -> int:
    with psycopg.connect(ns.dsn) as conn:
        row = conn.execute("SELECT count(*) FROM crossings").fetchone()
    return int(row[0]) if row else 0


async def test_worker_started_before_its_topics_counts_within_a_minute(
    namespace: Namespace, processes: list[Process], tmp_path
):
    plant = load_plant_config(ROOT / "config" / "demo-plant.toml")
    # Capture times of an hour ago: older frames can fall out of the broker's
    # retention while the old behaviour waits (a topic the worker's subscription
    # auto-created gets the broker's default, a day here). The test counts
    # crossings only, which the zones' nightly reset does not touch.
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    scene = Scene(plant, people=20, seed=3, start=start)
    truth = scene.truth
    assert truth.crossings > 0

    started = time.monotonic()
    worker = start_worker(namespace, tmp_path)
    processes.append(worker)
    # The group forms and completes a first rebalance while no topic exists ...
    await asyncio.to_thread(worker.wait_for_log, "Worker ready", FIRST_COUNTS_WITHIN_S)
    group_formed = time.monotonic() - started
    # ... and only then are the topics created, and the cameras start sending.
    await asyncio.to_thread(create_topics, namespace)
    await publish_frames(namespace, scene.frames())

    n = 0
    while time.monotonic() - started < FIRST_COUNTS_WITHIN_S:
        n = await asyncio.to_thread(crossings_in_db, namespace)
        if n >= truth.crossings:
            break
        await asyncio.sleep(0.5)
    elapsed = time.monotonic() - started
    assert n == truth.crossings, (
        f"{n}/{truth.crossings} crossings in PostgreSQL {elapsed:.0f} s after the worker's start "
        f"(group formed after {group_formed:.1f} s)\n{worker.tail(60)}"
    )
    print(f"cold start: group formed {group_formed:.1f} s, all crossings {elapsed:.1f} s")
    # The worker said when it really was ready, not only Faust's "Worker ready".
    log = worker.log.read_text(errors="replace")
    assert f"{READY_MESSAGE}: owns " in log, worker.tail(60)
    assert "PartitionsMismatch" not in log


async def test_after_admin_the_first_rebalance_already_covers_everything(
    namespace: Namespace, processes: list[Process], tmp_path
):
    # The order of deploy/up.sh: admin returns once every partition of every
    # topic, changelogs included, has a leader; the worker's first assignment is whole.
    await asyncio.to_thread(create_topics, namespace)
    worker = start_worker(namespace, tmp_path)
    processes.append(worker)
    await asyncio.to_thread(worker.wait_for_log, READY_MESSAGE, 60)
    log = worker.log.read_text(errors="replace")
    assert re.search(rf"{READY_MESSAGE}: owns (\d+)/\1 source partitions", log), worker.tail(60)
    assert "Ignoring missing topic" not in log, worker.tail(60)
    assert "not ready" not in log, worker.tail(60)
    assert re.search(r"table changelogs (\d+)/\1\)", log), worker.tail(60)


async def test_admin_creates_compacted_changelogs_with_the_source_partitions(namespace: Namespace):
    settings = settings_of(namespace, partitions=3)
    created = await admin.create_topics(settings)
    changelogs = [f"{namespace.env['OCC_APP_ID']}-{t}-changelog" for t in TABLES]
    assert set(changelogs) <= set(created)
    assert namespace.topic("detections") in created

    client = AIOKafkaAdminClient(bootstrap_servers=namespace.bootstrap)
    await client.start()
    try:
        meta = {t["topic"]: t for t in await client.describe_topics()}
        for name in [*changelogs, namespace.topic("detections")]:
            assert len(meta[name]["partitions"]) == 3, name
            assert all(p["leader"] >= 0 for p in meta[name]["partitions"]), name
        (response,) = await client.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in changelogs]
        )
        for resource in response.resources:
            configs = {e[0]: e[1] for e in resource[4]}
            assert configs["cleanup.policy"] == "compact", resource[3]
    finally:
        await client.close()

    # Idempotent: a second run creates nothing and passes.
    assert await admin.create_topics(settings) == []
    # Another partition count for existing topics is refused, naming them.
    with pytest.raises(admin.TopicSetupError, match=r"detections\.v1 has 3 partitions, expected 5"):
        await admin.create_topics(settings_of(namespace, partitions=5))


async def test_admin_reports_a_topic_the_broker_refuses(
    namespace: Namespace, monkeypatch: pytest.MonkeyPatch
):
    settings = settings_of(namespace)
    specs = admin.topic_specs

    def with_a_bad_config(s: Settings) -> list[NewTopic]:
        topics = specs(s)
        topics[0].topic_configs = {**topics[0].topic_configs, "retention.ms": "soon"}
        return topics

    monkeypatch.setattr(admin, "topic_specs", with_a_bad_config)
    with pytest.raises(admin.TopicSetupError) as caught:
        await admin.create_topics(settings)
    message = str(caught.value)
    assert namespace.topic("detections") in message
    assert "InvalidConfigurationError" in message and "retention.ms" in message
    assert "soon" in message  # the broker's own words


def test_admin_command_fails_loudly_on_a_refused_topic(namespace: Namespace):
    # A topic name the broker refuses: "!" is not a legal character.
    env = {**namespace.env, "OCC_TOPIC_PREFIX": f"{namespace.prefix}bad!"}
    result = subprocess.run(
        [sys.executable, "-m", "streams.admin"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0, result.stdout
    assert f"{namespace.prefix}bad!detections.v1" in result.stderr
    assert "refused" in result.stderr
    assert "topics created" not in result.stdout


# -- Readiness with a stand-in Faust app (no broker) -----------------------------


@dataclass
class Signal:
    handlers: list = field(default_factory=list)

    def connect(self, fun):
        self.handlers.append(fun)


@dataclass
class StandInApp:
    """Two source topics of 2 partitions, one table; ``assigned`` is the group's topics."""

    own: set[TP]
    assigned: set[str]
    on_rebalance_complete: Signal = field(default_factory=Signal)

    def __post_init__(self) -> None:
        self.conf = SimpleNamespace(topic_partitions=2)
        channel = SimpleNamespace(topics=("a.v1", "b.v1"), partitions=None)
        self.agents = {"agent": SimpleNamespace(channel=channel)}
        changelog = SimpleNamespace(get_topic_name=lambda: "app-t-changelog")
        self.tables = {"t": SimpleNamespace(changelog_topic=changelog, partitions=2)}
        self.consumer = SimpleNamespace(assignment=lambda: set(self.own))
        self.assignor = SimpleNamespace(group_for_topic=self._group_for_topic)

    def _group_for_topic(self, topic: str) -> int:
        if topic not in self.assigned:
            raise KeyError(topic)
        return 0


ALL = {"a.v1", "b.v1", "app-t-changelog"}


def tps(*topics: str, partitions: tuple[int, ...] = (0, 1)) -> set[TP]:
    return {TP(t, p) for t in topics for p in partitions}


async def test_ready_once_a_single_worker_owns_every_source_partition(caplog):
    app = StandInApp(own=tps(*ALL), assigned=ALL)
    readiness = Readiness(app)  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, logger="streams.readiness"):
        await app.on_rebalance_complete.handlers[0](app)
        await app.on_rebalance_complete.handlers[0](app)
    assert readiness.ready
    lines = [r.getMessage() for r in caplog.records if READY_MESSAGE in r.getMessage()]
    assert len(lines) == 1, lines  # once per process
    assert lines[0].startswith(f"{READY_MESSAGE}: owns 4/4 source partitions (a.v1 2/2, b.v1 2/2")
    assert "table changelogs 2/2" in lines[0]


async def test_ready_when_the_group_owns_what_this_worker_does_not(caplog):
    # One of two workers: partition 0 here, partition 1 at the other worker.
    app = StandInApp(own=tps(*ALL, partitions=(0,)), assigned=ALL)
    readiness = Readiness(app)  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, logger="streams.readiness"):
        await app.on_rebalance_complete.handlers[0](app)
    assert readiness.ready
    assert "owns 2/4 source partitions, the group owns 4/4" in caplog.text


async def test_a_topic_left_out_of_the_assignment_is_not_ready_and_says_so(caplog):
    app = StandInApp(own=tps("app-t-changelog", "a.v1"), assigned={"app-t-changelog", "a.v1"})
    readiness = Readiness(app)  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, logger="streams.readiness"):
        await app.on_rebalance_complete.handlers[0](app)
        await asyncio.sleep(0)  # the metadata refresh task (no consumer thread here)
    assert not readiness.ready
    assert READY_MESSAGE not in caplog.text
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "missing from the group's assignment: b.v1" in warning.getMessage()
    assert "owns 2/4 source partitions" in warning.getMessage()
    # Once the group is assigned again with the topic, the worker is ready.
    app.own, app.assigned = tps(*ALL), ALL
    await app.on_rebalance_complete.handlers[0](app)
    assert readiness.ready
