"""Pipeline benchmark: throughput against a bare consumer, and live latency.

Run with ``make bench`` (or ``.venv/bin/python -m tests.bench.bench_pipeline``).
Everything is measured in one run on the same broker, so the ratios hold even
on a noisy machine:

1. *Throughput.* A simulated plant of ``--cameras`` cameras at ``--fps`` is
   published to a fresh ``detections`` topic. Then, reading that same topic:
   a bare aiokafka consumer that only drains bytes; the pure core in-process
   (JSON parse + ``LineCounter``), with no Kafka at all; and the whole Faust
   worker, timed from "Worker ready" until the sink has committed every
   crossing and every occupancy change to PostgreSQL.
2. *Latency.* With the worker and the API running and a GraphQL subscription
   open, frames are published at real-time pace. Each occupancy update the
   subscription receives is matched (by its cause id) to the frame that
   confirmed the crossing; latency is receive time minus that frame's publish
   time, p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import websockets
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from producers.simulation.scene import Scene
from schemas.config import PlantConfig, load_plant_config
from schemas.events import FrameDetections
from streams.core.counting import LineCounter
from streams.core.zones import ZoneGraph, ZoneOccupancy
from tests.harness import (
    ROOT,
    Namespace,
    Process,
    create_namespace,
    create_topics,
    drop_namespace,
    free_port,
    start_services,
    stop_services,
)


def plant_toml(cameras: int) -> str:
    """A plant with one area per camera: a gate from outside and a pass to the next area."""
    out = ['timezone = "UTC"', "", "[[zones]]", 'id = "facility"', ""]
    for i in range(cameras):
        out += ["[[zones]]", f'id = "area-{i:03d}"', 'parent = "facility"', ""]
    for i in range(cameras):
        out += ["[[cameras]]", f'id = "cam-{i:03d}"', "width = 1280", "height = 720", ""]
    for i in range(cameras):
        nxt = (i + 1) % cameras
        out += [
            "[[lines]]",
            f'id = "gate-{i:03d}"',
            f'camera_id = "cam-{i:03d}"',
            "points = [[40.0, 360.0], [600.0, 360.0]]",
            'from_zone = "outside"',
            f'to_zone = "area-{i:03d}"',
            "",
            "[[lines]]",
            f'id = "pass-{i:03d}"',
            f'camera_id = "cam-{i:03d}"',
            "points = [[680.0, 360.0], [1240.0, 360.0]]",
            f'from_zone = "area-{i:03d}"',
            f'to_zone = "area-{nxt:03d}"',
            "",
        ]
    return "\n".join(out)


def frames_for(
    plant: PlantConfig, seconds: float, fps: float, start: datetime, seed: int
) -> list[FrameDetections]:
    people = int(len(plant.cameras) * seconds * 0.4)  # a busy plant: ~0.4 arrivals/s/camera
    scene = Scene(
        plant, people=people, seed=seed, fps=fps, arrival_window_s=seconds * 0.8, start=start
    )
    limit = start + timedelta(seconds=seconds)
    return [f for f in scene.frames() if f.captured_at < limit]


def core_in_process(plant: PlantConfig, payloads: list[bytes]) -> tuple[float, list, dict]:
    """Parse and count every frame in-process.

    Returns:
        Seconds taken, the crossings, and the frame that confirmed each crossing.
    """
    counters = {
        c.id: LineCounter(c.id, plant.lines_for(c.id), plant.version) for c in plant.cameras
    }
    crossings = []
    confirmed_by: dict[str, tuple[str, int]] = {}
    t0 = time.perf_counter()
    for raw in payloads:
        frame = FrameDetections.model_validate_json(raw)
        for c in counters[frame.camera_id].trigger(frame):
            crossings.append(c)
            confirmed_by[str(c.id)] = (frame.camera_id, frame.frame_seq)
    return time.perf_counter() - t0, crossings, confirmed_by


async def publish(
    ns: Namespace, frames: list[FrameDetections], payloads: list[bytes], realtime: bool
) -> dict:
    sent_at: dict[tuple[str, int], float] = {}
    producer = AIOKafkaProducer(bootstrap_servers=ns.bootstrap, linger_ms=2, acks="all")
    await producer.start()
    try:
        wall0 = time.monotonic()
        t_start = frames[0].captured_at
        for frame, raw in zip(frames, payloads, strict=True):
            if realtime:
                due = (frame.captured_at - t_start).total_seconds() - (time.monotonic() - wall0)
                if due > 0:
                    await asyncio.sleep(due)
            sent_at[(frame.camera_id, frame.frame_seq)] = time.time()
            await producer.send(
                ns.topic("detections"),
                key=frame.camera_id.encode(),
                value=raw,
                timestamp_ms=int(frame.captured_at.timestamp() * 1000),
            )
        await producer.flush()
    finally:
        await producer.stop()
    return sent_at


async def bare_drain(ns: Namespace, n: int) -> float:
    consumer = AIOKafkaConsumer(
        ns.topic("detections"),
        bootstrap_servers=ns.bootstrap,
        group_id=f"bench-bare-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        got = 0
        t0 = time.perf_counter()
        while got < n:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10000)
            got += sum(len(v) for v in batches.values())
        return time.perf_counter() - t0
    finally:
        await consumer.stop()


def faust_noop(ns: Namespace, n: int, mode: str, workdir: Path) -> float:
    """Seconds a do-nothing Faust agent (:mod:`tests.bench.faust_noop`) takes for ``n`` frames."""
    result = workdir / f"noop-{mode}.json"
    result.unlink(missing_ok=True)
    env = {
        **ns.env,
        "OCC_APP_ID": f"{ns.env['OCC_APP_ID']}-noop-{mode}",
        "NOOP_TOPIC": ns.topic("detections"),
        "NOOP_COUNT": str(n),
        "NOOP_MODE": mode,
        "NOOP_RESULT": str(result),
    }
    args = ["-m", "tests.bench.faust_noop", "worker", "-l", "info", "--without-web"]
    proc = Process(f"bench-noop-{mode}", args, env, workdir)
    try:
        deadline = time.monotonic() + 300
        while not result.exists():
            if proc.proc.poll() is not None:
                raise RuntimeError(f"no-op agent exited:\n{proc.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no-op agent did not drain {n} frames:\n{proc.tail()}")
            time.sleep(0.1)
        return float(json.loads(result.read_text())["seconds"])
    finally:
        proc.stop()


def truth(plant: PlantConfig, crossings: list) -> dict[str, tuple[int, int, int]]:
    """zone -> (occupancy, entries, exits) after every crossing, folded in event-time order."""
    graph = ZoneGraph(plant.zones)
    zones = {z.id: ZoneOccupancy(z.id) for z in plant.zones}
    for c in sorted(crossings, key=lambda c: (c.occurred_at, c.id.hex)):
        for d in graph.deltas(c):
            zones[d.zone_id].apply(d)
    return {z: (o.occupancy, o.entries, o.exits) for z, o in zones.items() if o.version}


def check_truth(dsn: str, expected: dict[str, tuple[int, int, int]], crossings: int) -> None:
    """The stored answer must be the truth: every crossing once, every zone's final counts."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        stored = conn.execute("SELECT count(*), count(DISTINCT id) FROM crossings").fetchone()
        rows = conn.execute(
            "SELECT zone_id, occupancy, entries, exits FROM zone_occupancy"
        ).fetchall()
    got = {z: (o, e, x) for z, o, e, x in rows if z in expected}
    if stored != (crossings, crossings) or got != expected:
        wrong = {z: (got.get(z), v) for z, v in expected.items() if got.get(z) != v}
        raise AssertionError(
            f"counts differ from the truth: crossings stored {stored} of {crossings}; "
            f"zones (stored, truth): {dict(list(wrong.items())[:5])}"
        )


async def hop_latencies(ns: Namespace, cause_to_frame: dict[str, float]) -> dict[str, list[float]]:
    """p50/p99 (ms) from a frame's publish to its crossing and to its occupancy records.

    Read from the records' broker timestamps (the producer's send time), so
    each agent's share of the latency shows.
    """
    consumer = AIOKafkaConsumer(
        ns.topic("crossings"),
        ns.topic("occupancy"),
        bootstrap_servers=ns.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: dict[str, list[float]] = {"crossing record": [], "occupancy record": []}
    try:
        idle = 0
        while idle < 3:
            batches = await consumer.getmany(timeout_ms=500, max_records=10000)
            idle = 0 if batches else idle + 1
            for tp, records in batches.items():
                for r in records:
                    value = json.loads(r.value)
                    if tp.topic == ns.topic("crossings"):
                        hop, cause = "crossing record", value["id"]
                    else:
                        hop, cause = "occupancy record", value["cause_id"]
                    if cause in cause_to_frame:
                        out[hop].append(r.timestamp / 1000 - cause_to_frame[cause])
    finally:
        await consumer.stop()
    return {
        hop: [statistics.median(v) * 1000, pct(v, 99) * 1000] if v else [float("nan")] * 2
        for hop, v in out.items()
    }


def wait_rows(worker: Process, dsn: str, crossings: int, samples: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if worker.proc.poll() is not None:
                raise RuntimeError(f"worker exited:\n{worker.tail()}")
            c = conn.execute("SELECT count(*) FROM crossings").fetchone()[0]
            s = conn.execute("SELECT count(*) FROM occupancy_samples").fetchone()[0]
            if c >= crossings and s >= samples:
                return time.perf_counter()
            time.sleep(0.05)
    raise TimeoutError(
        f"sink did not write {crossings} crossings / {samples} samples in {timeout} s"
    )


async def subscription(
    port: int, received: list[tuple[float, str]], ready: asyncio.Event, init: dict
) -> None:
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"], max_queue=None
    ) as ws:
        await ws.send(json.dumps(init))
        await ws.recv()
        query = "subscription { occupancy { zoneId causeId } }"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        ready.set()
        async for raw in ws:
            now = time.time()
            msg = json.loads(raw)
            if msg["type"] == "next":
                received.append((now, msg["payload"]["data"]["occupancy"]["causeId"]))


class Profiler:
    """``py-spy record`` of one process (``--profile``), summarised as a text table."""

    def __init__(self, pid: int, out: Path) -> None:
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.out = out
        self.proc = subprocess.Popen(
            [exe, "record", "--pid", str(pid), "--format", "raw", "--rate", "200", "-o", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self, top: int = 15) -> list[tuple[str, float, float]]:
        """Stop recording; the ``top`` functions by own time: (function, own %, total %)."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)
        own: collections.Counter[str] = collections.Counter()
        total: collections.Counter[str] = collections.Counter()
        samples = 0
        for line in self.out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            n = int(count)
            frames = [
                f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1] + ")"
                for f in stack.split(";")
            ]
            samples += n
            own[frames[-1]] += n
            for f in set(frames):
                total[f] += n
        return [(f, 100 * n / samples, 100 * total[f] / samples) for f, n in own.most_common(top)]


def cpu_seconds(worker_pids: int | set[int]) -> dict[int, tuple[str, float]]:
    """pid -> (worker, kafka, postgresql or other; CPU seconds used so far)."""
    pids = {worker_pids} if isinstance(worker_pids, int) else worker_pids
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        pid = int(entry.name)
        if pid in pids:
            kind = "worker"
        elif "kafka" in cmd and "java" in cmd:
            kind = "kafka"
        elif "postgres" in cmd:
            kind = "postgresql"
        else:
            kind = "other"
        out[pid] = (kind, used)
    return out


def cores_used(
    first: dict[int, tuple[str, float]], done: dict[int, tuple[str, float]], seconds: float
) -> dict[str, float]:
    """Cores each kind of process used between two :func:`cpu_seconds` readings."""
    out = {"worker": 0.0, "kafka": 0.0, "postgresql": 0.0, "other": 0.0}
    for pid, (kind, used) in done.items():
        out[kind] += (used - first.get(pid, (kind, 0.0))[1]) / seconds
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def scaling(
    services,
    config: Path,
    frames,
    payloads,
    crossings: int,
    samples: int,
    expected: dict,
    n: int,
    workdir: Path,
) -> dict:
    """Throughput of ``n`` workers in one group: start them, wait until they own
    their shares, publish the backlog and time its first row to its last."""
    ns = create_namespace(services, plant_config=config)
    ns.env["OCC_SINK_BATCH_SIZE"] = "5000"
    workers: list[Process] = []
    try:
        create_topics(ns)
        for i in range(n):
            args = ["-m", "streams", "worker", "-l", "info", "--without-web"]
            workers.append(Process(f"bench-scaling-{n}-{i}", args, ns.env, workdir))
        for w in workers:
            await asyncio.to_thread(w.wait_for_log, "occupancy worker ready", 180)
        await asyncio.sleep(3)  # the last rebalance settles everywhere
        await publish(ns, frames, payloads, realtime=False)
        pids = {w.proc.pid for w in workers}
        t_first = await asyncio.to_thread(wait_rows, workers[0], ns.dsn, 1, 0, 180)
        cpu_first = cpu_seconds(pids)
        t_done = await asyncio.to_thread(wait_rows, workers[0], ns.dsn, crossings, samples, 900)
        cpu_done = cpu_seconds(pids)
        await asyncio.sleep(1)  # the newest-state table is written in the same transactions
        check_truth(ns.dsn, expected, crossings)
        return {
            "workers": n,
            "pipeline_fps": len(frames) / (t_done - t_first),
            "cpu_cores_used": cores_used(cpu_first, cpu_done, t_done - t_first),
        }
    finally:
        for w in reversed(workers):
            w.stop()
        drop_namespace(services, ns)


async def run(args: argparse.Namespace) -> dict:
    services, started = start_services()
    workdir = ROOT / ".run" / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / f"plant-{args.cameras}.toml"
    config.write_text(plant_toml(args.cameras))
    plant = load_plant_config(config)
    graph = ZoneGraph(plant.zones)
    ns = create_namespace(services, plant_config=config)
    ns.env["OCC_SINK_BATCH_SIZE"] = "5000"
    procs: list[Process] = []
    result: dict = {"cameras": args.cameras, "fps": args.fps}
    try:
        create_topics(ns)
        # 1. Throughput ------------------------------------------------------
        start = datetime.now(UTC) - timedelta(hours=2)
        frames = frames_for(plant, args.seconds, args.fps, start, seed=1)
        payloads = [f.model_dump_json().encode() for f in frames]
        detections = sum(len(f.tracks) for f in frames)
        core_s, crossings, _ = core_in_process(plant, payloads)
        samples = sum(len(graph.deltas(c)) for c in crossings)
        t0 = time.perf_counter()
        await publish(ns, frames, payloads, realtime=False)
        publish_s = time.perf_counter() - t0
        bare_s = await bare_drain(ns, len(frames))
        noop_events_s = await asyncio.to_thread(faust_noop, ns, len(frames), "events", workdir)
        noop_batches_s = await asyncio.to_thread(faust_noop, ns, len(frames), "batches", workdir)

        worker = Process(
            "bench-worker",
            ["-m", "streams", "worker", "-l", "info", "--without-web"],
            ns.env,
            workdir,
        )
        procs.append(worker)
        profiler = Profiler(worker.proc.pid, workdir / "worker.pyspy.txt") if args.profile else None
        t_spawn = time.perf_counter()
        # Faust logs "Worker ready" at info level only; wait for the first rows instead
        # of the log, then time from the first committed row to the last one.
        t_first = wait_rows(worker, ns.dsn, 1, 0, timeout=180)
        cpu_first = cpu_seconds(worker.proc.pid)
        t_done = wait_rows(worker, ns.dsn, len(crossings), samples, timeout=900)
        cpu_done = cpu_seconds(worker.proc.pid)
        pipeline_s = t_done - t_spawn
        if profiler is not None:
            result["profile"] = profiler.stop()
        expected = truth(plant, crossings)
        check_truth(ns.dsn, expected, len(crossings))
        # The time to the first row includes Faust's start-up; report both.
        result["throughput"] = {
            "frames": len(frames),
            "detections": detections,
            "crossings": len(crossings),
            "occupancy_changes": samples,
            "publish_fps": len(frames) / publish_s,
            "bare_consumer_fps": len(frames) / bare_s,
            "faust_noop_events_fps": len(frames) / noop_events_s,
            "faust_noop_batches_fps": len(frames) / noop_batches_s,
            "core_in_process_fps": len(frames) / core_s,
            "pipeline_fps_incl_startup": len(frames) / pipeline_s,
            "pipeline_fps": len(frames) / (t_done - t_first) if t_done > t_first else float("nan"),
            "pipeline_detections_per_s": detections / (t_done - t_first)
            if t_done > t_first
            else float("nan"),
            "worker_startup_s": t_first - t_spawn,
        }
        tp = result["throughput"]
        # Share of one core each used while the pipeline ran (2.0 = both cores of two).
        tp["cpu_cores_used"] = cores_used(cpu_first, cpu_done, t_done - t_first)
        tp["pipeline_vs_bare"] = tp["pipeline_fps"] / tp["bare_consumer_fps"]
        tp["pipeline_vs_faust_noop"] = tp["pipeline_fps"] / max(
            tp["faust_noop_events_fps"], tp["faust_noop_batches_fps"]
        )

        # 2. Latency ---------------------------------------------------------
        port = free_port()
        api = Process(
            "bench-api",
            ["-m", "uvicorn", "api.app:app", "--port", str(port), "--log-level", "info"],
            ns.env,
            workdir,
        )
        procs.append(api)
        await asyncio.to_thread(api.wait_for_log, "Application startup complete", 60)
        received: list[tuple[float, str]] = []
        ready = asyncio.Event()
        sub = asyncio.create_task(subscription(port, received, ready, ns.connection_init("viewer")))
        await asyncio.wait_for(ready.wait(), 20)
        live = frames_for(plant, args.latency_seconds, args.fps, datetime.now(UTC), seed=2)
        live_payloads = [f.model_dump_json().encode() for f in live]
        _, live_crossings, confirmed_by = core_in_process(plant, live_payloads)
        # Rebase capture times onto "now" so the pacing is real time.
        sent_at = await publish(ns, live, live_payloads, realtime=True)
        expected_changes = sum(len(graph.deltas(c)) for c in live_crossings)
        # The mailbox coalesces a zone's updates for a slow client, so fewer than
        # expected may come: wait until the subscription has been quiet for 3 s.
        deadline = time.monotonic() + 60
        seen, quiet_since = -1, time.monotonic()
        while len(received) < expected_changes and time.monotonic() < deadline:
            if len(received) != seen:
                seen, quiet_since = len(received), time.monotonic()
            elif time.monotonic() - quiet_since > 3:
                break
            await asyncio.sleep(0.2)
        sub.cancel()
        cause_to_frame = {k: sent_at[v] for k, v in confirmed_by.items()}
        latencies = [
            (recv - cause_to_frame[cause]) * 1000
            for recv, cause in received
            if cause in cause_to_frame
        ]
        hops = await hop_latencies(ns, cause_to_frame)
        result["latency"] = {
            "frames_per_s_offered": len(live) / args.latency_seconds,
            "updates_expected": expected_changes,
            "updates_received": sum(1 for _, cause in received if cause in cause_to_frame),
            "p50_ms": statistics.median(latencies) if latencies else float("nan"),
            "p99_ms": pct(latencies, 99) if latencies else float("nan"),
            "max_ms": max(latencies) if latencies else float("nan"),
            "hops": hops,
        }
        for p in reversed(procs):
            p.stop()
        procs.clear()
        # 3. Several workers in one group -------------------------------------
        result["scaling"] = [
            await scaling(
                services, config, frames, payloads, len(crossings), samples, expected, n, workdir
            )
            for n in args.workers
        ]
    finally:
        for p in reversed(procs):
            p.stop()
        drop_namespace(services, ns)
        if os.environ.get("OCC_KEEP_SERVICES") != "1":
            stop_services(started)
    return result


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cameras", type=int, default=100)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="simulated seconds for throughput"
    )
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument(
        "--workers",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[1, 2],
        help="worker counts to compare, comma-separated (default 1,2)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the worker during the throughput run"
    )
    args = parser.parse_args()
    result = asyncio.run(run(args))
    result["machine"] = machine()
    out = ROOT / ".run" / "bench" / "pipeline.json"
    out.write_text(json.dumps(result, indent=2))
    tp, lat = result["throughput"], result["latency"]
    print(f"\nPipeline benchmark, {args.cameras} cameras x {args.fps:g} fps; {result['machine']}\n")
    print("| path | frames/s | detections/s |")
    print("|---|---:|---:|")
    det_per_frame = tp["detections"] / tp["frames"]
    for name, key in (
        ("publish (aiokafka producer)", "publish_fps"),
        ("bare aiokafka consumer, drain only", "bare_consumer_fps"),
        ("no-op Faust agent, `stream.events()`", "faust_noop_events_fps"),
        ("no-op Faust agent, batches (`noack_take`)", "faust_noop_batches_fps"),
        ("pure core in-process (parse + count)", "core_in_process_fps"),
        ("whole pipeline, first to last DB row", "pipeline_fps"),
    ):
        print(f"| {name} | {tp[key]:,.0f} | {tp[key] * det_per_frame:,.0f} |")
    print(
        f"\npipeline / no-op Faust agent (the faster mode) = {tp['pipeline_vs_faust_noop']:.2f}; "
        f"pipeline / bare consumer = {tp['pipeline_vs_bare']:.3f}; "
        f"{tp['frames']:,} frames, {tp['crossings']:,} crossings, "
        f"{tp['occupancy_changes']:,} occupancy changes; "
        f"worker start-up {tp['worker_startup_s']:.1f} s"
    )
    cores = ", ".join(f"{k} {v:.2f}" for k, v in tp["cpu_cores_used"].items())
    print(f"CPU while the pipeline ran, in cores: {cores}")
    print(
        f"\nlatency publish -> subscription at {lat['frames_per_s_offered']:,.0f} frames/s: "
        f"p50 {lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms, max {lat['max_ms']:.0f} ms "
        f"({lat['updates_received']}/{lat['updates_expected']} updates received; a zone's"
        " updates coalesce when the client lags)"
    )
    for hop, (p50, p99) in lat["hops"].items():
        print(f"  publish -> {hop}: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    if result["scaling"]:
        print("\nSeveral workers in one group (workers ready, then the backlog published):\n")
        print("| workers | frames/s | vs 1 worker | CPU in cores: workers, kafka, postgresql |")
        print("|---:|---:|---:|---|")
        base = result["scaling"][0]["pipeline_fps"]
        for r in result["scaling"]:
            c = r["cpu_cores_used"]
            print(
                f"| {r['workers']} | {r['pipeline_fps']:,.0f} | {r['pipeline_fps'] / base:.2f} "
                f"| {c['worker']:.2f}, {c['kafka']:.2f}, {c['postgresql']:.2f} |"
            )
    if "profile" in result:
        print("\nworker profile (py-spy, throughput run): own % | total % | function")
        for name, own, total in result["profile"]:
            print(f"  {own:5.1f} | {total:5.1f} | {name}")
    print(f"\nraw figures: {out}")


if __name__ == "__main__":
    main()
