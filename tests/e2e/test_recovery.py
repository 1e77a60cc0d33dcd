"""A worker killed at any instant and restarted ends with the same counts."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from datetime import UTC, datetime

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer

from producers.simulation.scene import Scene
from schemas.config import load_plant_config
from tests.harness import ROOT, Namespace, Process, create_topics, publish_frames
from tests.harness import worker as start_worker

pytestmark = pytest.mark.e2e


def db_state(dsn: str) -> tuple[dict[str, dict[str, int]], int, int]:
    with psycopg.connect(dsn) as conn:
        zones = {
            zone: {"occupancy": occ, "entries": ent, "exits": ex}
            for zone, occ, ent, ex in conn.execute(
                "SELECT zone_id, occupancy, entries, exits FROM zone_occupancy"
            )
        }
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT id) FROM crossings"
        ).fetchone()
    return zones, total, distinct


TRACED = ("crossings", "zone-deltas", "occupancy")


async def topic_summary(ns: Namespace, name: str) -> dict[str, object]:
    consumer = AIOKafkaConsumer(
        ns.topic(name), bootstrap_servers=ns.bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: dict[str, tuple[int, int]] = {}
    records = 0
    try:
        while batches := await consumer.getmany(timeout_ms=2000):
            for batch in batches.values():
                for r in batch:
                    records += 1
                    body = json.loads(r.value)
                    key = body.get("id") or f"{body.get('zone_id')}|{body.get('crossing_id')}"
                    seen[key] = (r.partition, r.offset)
    finally:
        await consumer.stop()
    summary: dict[str, object] = {"records": records, "distinct": len(seen)}
    if name == "crossings":
        with psycopg.connect(ns.dsn) as conn:
            stored = {str(r[0]) for r in conn.execute("SELECT id FROM crossings")}
        summary["not in DB (partition, offset)"] = sorted(
            v for k, v in seen.items() if k not in stored
        )
    return summary


async def test_kill_minus_nine_mid_stream_then_restart_counts_exactly(
    namespace: Namespace, processes: list[Process], tmp_path
):
    plant = load_plant_config(ROOT / "config" / "demo-plant.toml")
    # A fixed daytime start: the demo plant resets its zones at 03:00 local time.
    scene = Scene(plant, people=150, seed=23, start=datetime(2026, 1, 7, 10, 0, tzinfo=UTC))
    truth = scene.truth
    expected = {z: dict(v) for z, v in truth.zones.items()}
    frames = list(scene.frames())
    # A short session timeout so the restarted worker gets the dead one's partitions quickly.
    namespace.env["OCC_SESSION_TIMEOUT_S"] = "6"
    await asyncio.to_thread(create_topics, namespace)

    first = start_worker(namespace, tmp_path, name="worker-1")
    processes.append(first)
    await asyncio.to_thread(first.wait_for_log, "Worker ready", 120)
    await publish_frames(namespace, frames[: len(frames) // 2])
    # Kill it while it is busy: after some crossings reached the database, before all did.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        _, total, _ = db_state(namespace.dsn)
        if total > 0:
            break
        await asyncio.sleep(0.05)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    killed_at = db_state(namespace.dsn)[1]
    assert killed_at > 0, "the worker must have written something before it was killed"

    await publish_frames(namespace, frames[len(frames) // 2 :])
    second = start_worker(namespace, tmp_path, name="worker-2")
    processes.append(second)
    deadline = time.monotonic() + 180
    zones: dict = {}
    while time.monotonic() < deadline:
        zones, total, distinct = db_state(namespace.dsn)
        if zones == expected and total == truth.crossings:
            break
        await asyncio.sleep(0.5)
    if zones != expected or total != truth.crossings:
        # Say at which stage something went missing, for whoever reads the CI log.
        stages = {name: await topic_summary(namespace, name) for name in TRACED}
        raise AssertionError(
            f"after restart: {zones} != {expected}; crossings in DB {total}/{truth.crossings};"
            f" topics {stages}\n{second.tail(80)}"
        )
    assert total == distinct == truth.crossings
