"""Fault injection: the pipeline ends exact after the ordinary accidents of a plant.

Each test streams a scene of 500 people through the real broker, worker(s),
database and API, injects one kind of fault while it streams, lets it drain,
and then checks what a user and a consumer see:

* GraphQL returns exactly the ground truth for every zone;
* the database holds every crossing exactly once;
* the alerts stored equal those of a fault-free run (computed in process by
  the same pure core, folding every zone's deltas in event-time order);
* a consumer of ``occupancy.v1`` ends on the same values.

The faults: the worker killed with SIGKILL 20 times at seeded random instants;
two workers in one group, one killed (rebalance); the Kafka broker killed and
restarted; the broker frozen for 25 s (the wedged worker restarts itself);
PostgreSQL stopped for 30 s; the API restarted under open
subscriptions, whose clients reconnect and resume. Every worker runs under a
supervisor that restarts it when it exits, as systemd or Kubernetes would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
import websockets
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from producers.simulation.scene import Scene
from schemas.config import load_plant_config
from schemas.events import FrameDetections, ZoneDelta
from streams.core.alerts import ZoneAlerts
from streams.core.counting import LineCounter
from streams.core.zones import ZoneGraph, ZoneOccupancy
from streams.runtime import diagnostics
from streams.runtime.batches import EXIT_STATUS
from streams.settings import Settings
from tests.harness import ROOT, Namespace, Process, create_topics, deploy, free_port
from tests.harness import api as start_api
from tests.harness import worker as start_worker

pytestmark = pytest.mark.e2e

PLANT = load_plant_config(ROOT / "config" / "demo-plant.toml")
# A fixed daytime start: the demo plant resets its zones at 03:00 local time.
START = datetime(2026, 1, 8, 10, 0, tzinfo=UTC)
PEOPLE = 500
ZONES_QUERY = "{ zones { id occupancy entries exits } }"
DRAIN_TIMEOUT_S = 300


# ----------------------------------------------------------------- the answer


@dataclass(frozen=True)
class Expected:
    frames: list[FrameDetections]
    zones: dict[str, dict[str, int]]
    crossings: int
    #: alert id -> (kind, raised at, resolved at or None)
    alerts: dict[str, tuple[str, datetime, datetime | None]]


def expected_for(seed: int) -> Expected:
    """Ground truth from the simulator; alerts from the pure core, fault-free."""
    scene = Scene(PLANT, people=PEOPLE, seed=seed, start=START)
    frames = list(scene.frames())
    settings = Settings()
    graph = ZoneGraph(PLANT.zones, PLANT.lines)
    counters = {
        c.id: LineCounter(
            c.id, PLANT.lines_for(c.id), PLANT.version, track_ttl_s=settings.track_ttl_s
        )
        for c in PLANT.cameras
    }
    deltas: list[ZoneDelta] = []
    for frame in frames:
        for crossing in counters[frame.camera_id].trigger(frame):
            deltas += graph.deltas(crossing, frame.captured_at)
    # The zone agent's order: event time (the confirming frame), then id.
    deltas.sort(key=lambda d: (d.source_time, d.crossing_id.hex))
    reducers = {z.id: ZoneOccupancy(z.id) for z in PLANT.zones}
    rules = {z.id: ZoneAlerts(z) for z in PLANT.zones}
    alerts: dict[str, tuple[str, datetime, datetime | None]] = {}
    for d in deltas:
        for change in reducers[d.zone_id].apply(d):
            for a in rules[d.zone_id].apply(change):
                aid = str(a.alert_id)
                if a.type == "AlertRaised":
                    alerts[aid] = (a.kind, a.at, None)
                else:
                    alerts[aid] = (alerts[aid][0], alerts[aid][1], a.at)
    zones = {
        z: {"occupancy": v["occupancy"], "entries": v["entries"], "exits": v["exits"]}
        for z, v in scene.truth.zones.items()
    }
    got = {z: r.occupancy for z, r in reducers.items()}
    assert got == {z: v["occupancy"] for z, v in zones.items()}, "the reference drifted"
    assert alerts, "the scene must exercise the alert rules"
    return Expected(frames, zones, scene.truth.crossings, alerts)


# ------------------------------------------------------------------ machinery


class Supervisor:
    """Keeps one worker process running: restarts it whenever it exits."""

    def __init__(self, ns: Namespace, log_dir: Path, processes: list[Process], name: str):
        self.ns, self.log_dir, self.processes, self.name = ns, log_dir, processes, name
        self.starts = 0
        self.current = self._start()
        self._task = asyncio.create_task(self._watch())

    def _start(self) -> Process:
        self.starts += 1
        p = start_worker(self.ns, self.log_dir, name=f"{self.name}-{self.starts}")
        self.processes.append(p)
        return p

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            if self.current.proc.poll() is not None:
                self.current = self._start()

    async def wait_ready(self) -> None:
        await asyncio.to_thread(self.current.wait_for_log, "occupancy worker ready", 120)

    def kill(self) -> None:
        self.current.proc.send_signal(signal.SIGKILL)
        self.current.proc.wait()

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def report(self) -> str:
        """For a failure: where the running worker stands (its stacks and tasks,
        see :mod:`streams.runtime.diagnostics`) and its last log lines."""
        if self.current.proc.poll() is None:
            self.current.proc.send_signal(diagnostics.SIGNAL)
            time.sleep(2.0)
        log = self.current.log.read_text(errors="replace")
        at = log.rfind(diagnostics.MARKER)
        head, dump = (log[:at], log[at:]) if at >= 0 else (log, "(no dump in the log)")
        before = "\n".join(head.splitlines()[-30:])
        return f"{self.current.log}:\n{before}\n{dump[:30_000]}"


def broker_pid() -> int:
    """The project-local broker's process id (deploy/kafka.sh writes it)."""
    run_dir = Path(os.environ.get("OCC_RUN_DIR", ROOT / ".run"))
    return int((run_dir / "kafka" / "kafka.pid").read_text().strip())


async def publish_paced(ns: Namespace, frames: list[FrameDetections], speed: float) -> None:
    """Publish frames in capture order at ``speed`` times real time.

    Each frame is acknowledged by the broker before the next is sent, and retried
    until it is: a camera that keeps its frames, in order, while the broker is down.
    (Queuing with ``send`` alone loses the frames whose delivery times out during a
    long outage, and re-sending them later would put them behind newer frames.)
    """
    producer = AIOKafkaProducer(bootstrap_servers=ns.bootstrap, linger_ms=0, acks="all")
    await producer.start()
    try:
        t0 = frames[0].captured_at
        wall0 = time.monotonic()
        for frame in frames:
            due = (frame.captured_at - t0).total_seconds() / speed - (time.monotonic() - wall0)
            if due > 0:
                await asyncio.sleep(due)
            while True:
                try:
                    await producer.send_and_wait(
                        ns.topic("detections"),
                        key=frame.camera_id.encode(),
                        value=frame.model_dump_json().encode(),
                        timestamp_ms=int(frame.captured_at.timestamp() * 1000),
                    )
                    break
                except Exception:  # the broker is down: the camera retries this frame
                    await asyncio.sleep(0.5)
        await producer.flush()
    finally:
        await producer.stop()


def db_answer(dsn: str) -> tuple[int, int, dict[str, tuple[str, datetime, datetime | None]]]:
    with psycopg.connect(dsn) as conn:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT id) FROM crossings"
        ).fetchone()
        alerts = {
            str(aid): (kind, raised, resolved)
            for aid, kind, raised, resolved in conn.execute(
                "SELECT alert_id, kind, raised_at, resolved_at FROM alerts"
            )
        }
    return total, distinct, alerts


async def occupancy_topic_answer(ns: Namespace) -> dict[str, dict[str, int]]:
    """What a plant system consuming occupancy.v1 from the start ends on."""
    consumer = AIOKafkaConsumer(
        ns.topic("occupancy"),
        bootstrap_servers=ns.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    newest: dict[str, dict[str, int]] = {}
    try:
        while batches := await consumer.getmany(timeout_ms=1500, max_records=10_000):
            for records in batches.values():
                for r in records:
                    body = json.loads(r.value)
                    z = body["zone_id"]
                    if z not in newest or body["version"] > newest[z]["version"]:
                        newest[z] = {
                            k: body[k] for k in ("occupancy", "entries", "exits", "version")
                        }
    finally:
        await consumer.stop()
    return {z: {k: v[k] for k in ("occupancy", "entries", "exits")} for z, v in newest.items()}


async def graphql_zones(ns: Namespace, port: int) -> dict[str, dict[str, int]]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=10, headers=ns.headers("viewer")
    ) as client:
        response = await client.post("/graphql", json={"query": ZONES_QUERY})
        response.raise_for_status()
        body = response.json()
        if body.get("data") is None:  # e.g. the database is down: an error, not a crash
            return {"errors": body.get("errors")}
        return {
            z["id"]: {k: z[k] for k in ("occupancy", "entries", "exits")}
            for z in body["data"]["zones"]
        }


async def assert_drained_exact(
    ns: Namespace, port: int, want: Expected, sup: Supervisor | None = None
) -> None:
    """Wait for the pipeline to drain, then check every view against the answer.

    On a timeout the failure carries ``sup``'s report on its worker.
    """
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    zones: dict = {}
    total = distinct = 0
    alerts: dict = {}
    logs = ""
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            zones = await graphql_zones(ns, port)
        total, distinct, alerts = db_answer(ns.dsn)
        if zones == want.zones and total == want.crossings and alerts == want.alerts:
            break
        await asyncio.sleep(1.0)
    else:
        logs = await asyncio.to_thread(sup.report) if sup else ""
    assert zones == want.zones, f"GraphQL zones {zones} != truth {want.zones}\n{logs}"
    assert total == distinct == want.crossings, (
        f"crossings stored {total} ({distinct} distinct), truth {want.crossings}\n{logs}"
    )
    assert alerts == want.alerts, f"alerts {alerts} != fault-free {want.alerts}"
    assert await occupancy_topic_answer(ns) == want.zones


@contextlib.contextmanager
def api_process(ns: Namespace, log_dir: Path, processes: list[Process]) -> Iterator[int]:
    proc, port = start_api(ns, log_dir)
    processes.append(proc)
    proc.wait_for_log("Application startup complete", timeout=60)
    yield port


async def ready(ns: Namespace, tmp_path: Path, processes: list[Process]) -> tuple[Supervisor, int]:
    ns.env["OCC_SESSION_TIMEOUT_S"] = "6"  # a dead worker's partitions move on quickly
    await asyncio.to_thread(create_topics, ns)
    sup = Supervisor(ns, tmp_path, processes, "worker")
    proc, port = start_api(ns, tmp_path)
    processes.append(proc)
    await asyncio.to_thread(proc.wait_for_log, "Application startup complete", 60)
    await sup.wait_ready()
    return sup, port


# --------------------------------------------------------------------- faults


async def test_worker_killed_20_times_at_random_instants(namespace, processes, tmp_path):
    want = expected_for(seed=31)
    sup, port = await ready(namespace, tmp_path, processes)
    rng = random.Random(20261201)
    publisher = asyncio.create_task(publish_paced(namespace, want.frames, speed=1.5))
    kills = 0
    while kills < 20:
        await sup.wait_ready()
        await asyncio.sleep(rng.uniform(0.2, 3.0))
        sup.kill()
        kills += 1
        await asyncio.sleep(0.3)  # the supervisor starts the next one
    await publisher
    await assert_drained_exact(namespace, port, want, sup)
    assert sup.starts == 21
    await sup.stop()


async def test_two_workers_one_killed_rebalance(namespace, processes, tmp_path):
    want = expected_for(seed=32)
    first, port = await ready(namespace, tmp_path, processes)
    second = Supervisor(namespace, tmp_path, processes, "second")
    await asyncio.to_thread(second.current.wait_for_log, "Worker ready", 120)
    publisher = asyncio.create_task(publish_paced(namespace, want.frames, speed=4.0))
    await asyncio.sleep(12)
    await second.stop()  # not restarted: the group rebalances onto the first
    second.kill()
    await publisher
    await assert_drained_exact(namespace, port, want, first)
    await first.stop()


async def test_broker_killed_and_restarted_mid_stream(namespace, processes, tmp_path):
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        pytest.skip("an external broker is not ours to kill")
    want = expected_for(seed=33)
    sup, port = await ready(namespace, tmp_path, processes)
    publisher = asyncio.create_task(publish_paced(namespace, want.frames, speed=4.0))
    await asyncio.sleep(10)
    pid = broker_pid()
    os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(5)
    await asyncio.to_thread(deploy, "kafka.sh", "start")
    await publisher
    await assert_drained_exact(namespace, port, want, sup)
    await sup.stop()


async def test_broker_frozen_mid_stream_the_wedged_worker_restarts_itself(
    namespace, processes, tmp_path
):
    """A broker that stops answering (SIGSTOP: connections stay open, nothing comes
    back) leaves the worker's commit and sends in hand; the watchdog
    (streams.runtime.watchdog) dumps where it stood and restarts it, and the
    counts still end exact."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        pytest.skip("an external broker is not ours to freeze")
    namespace.env["OCC_COMMIT_STALL_S"] = "8"
    want = expected_for(seed=36)
    sup, port = await ready(namespace, tmp_path, processes)
    first = sup.current
    publisher = asyncio.create_task(publish_paced(namespace, want.frames, speed=4.0))
    await asyncio.sleep(10)
    pid = broker_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(25)
    finally:
        os.kill(pid, signal.SIGCONT)
    await publisher
    await assert_drained_exact(namespace, port, want, sup)
    assert first.proc.poll() == EXIT_STATUS, "the wedged worker did not stop itself"
    log = first.log.read_text(errors="replace")
    assert "watchdog: unexpected TimeoutError" in log, log[-3000:]
    assert diagnostics.MARKER in log and "consumer thread loop" in log
    assert sup.starts >= 2
    await sup.stop()


async def test_postgres_stopped_for_30_seconds_mid_stream(namespace, processes, tmp_path):
    if os.environ.get("OCC_DATABASE_URL"):
        pytest.skip("an external database is not ours to stop")
    want = expected_for(seed=34)
    sup, port = await ready(namespace, tmp_path, processes)
    publisher = asyncio.create_task(publish_paced(namespace, want.frames, speed=4.0))
    await asyncio.sleep(8)
    await asyncio.to_thread(deploy, "postgres.sh", "stop")
    await asyncio.sleep(30)
    await asyncio.to_thread(deploy, "postgres.sh", "start")
    await publisher
    await assert_drained_exact(namespace, port, want, sup)
    await sup.stop()


async def dashboard(
    url: str, newest: dict[str, dict[str, int]], connects: list[float], init: dict
) -> None:
    """A dashboard that reconnects whenever its subscription drops."""
    query = "subscription { occupancy { zoneId occupancy entries exits version } }"
    while True:
        try:
            async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
                await ws.send(json.dumps(init))
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                await ws.send(
                    json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}})
                )
                connects.append(time.monotonic())
                async for raw in ws:
                    msg = json.loads(raw)
                    if msg["type"] == "next":
                        u = msg["payload"]["data"]["occupancy"]
                        seen = newest.get(u["zoneId"])
                        if seen is None or u["version"] >= seen["version"]:
                            newest[u["zoneId"]] = u
                    elif msg["type"] == "ping":
                        await ws.send(json.dumps({"type": "pong"}))
        except (TimeoutError, OSError, websockets.ConnectionClosed):
            await asyncio.sleep(0.5)


async def test_api_restarted_under_open_subscriptions(namespace, processes, tmp_path):
    want = expected_for(seed=35)
    namespace.env["OCC_SESSION_TIMEOUT_S"] = "6"
    await asyncio.to_thread(create_topics, namespace)
    sup = Supervisor(namespace, tmp_path, processes, "worker")
    port = free_port()
    api_args = ["-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port)]
    api = Process("api-1", api_args, namespace.env, tmp_path)
    processes.append(api)
    await asyncio.to_thread(api.wait_for_log, "Application startup complete", 60)
    await sup.wait_ready()
    boards = [({}, []) for _ in range(3)]
    tasks = [
        asyncio.create_task(
            dashboard(
                f"ws://127.0.0.1:{port}/graphql",
                newest,
                connects,
                namespace.connection_init("viewer"),
            )
        )
        for newest, connects in boards
    ]
    publisher = asyncio.create_task(publish_paced(namespace, want.frames, speed=4.0))
    await asyncio.sleep(12)
    api.stop()
    await asyncio.sleep(2)
    api = Process("api-2", api_args, namespace.env, tmp_path)  # same port: clients reconnect
    processes.append(api)
    await asyncio.to_thread(api.wait_for_log, "Application startup complete", 60)
    await publisher
    await assert_drained_exact(namespace, port, want, sup)
    deadline = time.monotonic() + 30
    views: list[dict] = []
    while time.monotonic() < deadline:
        views = [
            {z: {k: u[k] for k in ("occupancy", "entries", "exits")} for z, u in newest.items()}
            for newest, _ in boards
        ]
        if all(v == want.zones for v in views):
            break
        await asyncio.sleep(0.5)
    for t in tasks:
        t.cancel()
    assert all(len(connects) >= 2 for _, connects in boards), "every dashboard reconnected"
    assert all(v == want.zones for v in views), f"dashboards ended on {views}"
    await sup.stop()
