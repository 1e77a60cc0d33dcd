"""Plain helpers shared by the test fixtures and the benchmarks.

Start the real services through ``deploy/``, carve out a private namespace
(topic prefix, Faust app id, database) and run project processes with logs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from api.auth.keys import create_key_sync
from api.auth.principals import Role
from schemas.events import FrameDetections
from streams.cli.migrate import migrate_with
from streams.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def deploy(script: str, *args: str) -> str:
    result = subprocess.run(
        ["bash", str(ROOT / "deploy" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"deploy/{script} {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout.strip()


@dataclass(frozen=True)
class Services:
    bootstrap: str
    dsn: str


def start_services() -> tuple[Services, list[str]]:
    """Start Kafka and PostgreSQL unless running; return them and what was started."""
    started = []
    for script in ("kafka.sh", "postgres.sh"):
        running = (
            subprocess.run(
                ["bash", str(ROOT / "deploy" / script), "status"], capture_output=True, check=False
            ).returncode
            == 0
        )
        deploy(script, "start")
        if not running:
            started.append(script)
    bootstrap = deploy("kafka.sh", "bootstrap").splitlines()[-1]
    dsn = deploy("postgres.sh", "dsn").splitlines()[-1]
    return Services(bootstrap=bootstrap, dsn=dsn), started


def stop_services(started: list[str]) -> None:
    for script in reversed(started):
        deploy(script, "stop")


@dataclass(frozen=True)
class Namespace:
    """One test's private slice of the services, as environment variables."""

    env: dict[str, str]
    dsn: str
    bootstrap: str
    prefix: str
    db: str
    #: An API key per role (``viewer``, ``operator``, ``admin``) in this database.
    keys: dict[str, str] = field(default_factory=dict)

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}.v1"

    def headers(self, role: str = "admin") -> dict[str, str]:
        """HTTP headers of a caller with ``role``."""
        return {"authorization": f"Bearer {self.keys[role]}"}

    def connection_init(self, role: str = "admin") -> dict[str, object]:
        """A graphql-transport-ws ``connection_init`` message of a caller with ``role``."""
        return {
            "type": "connection_init",
            "payload": {"Authorization": f"Bearer {self.keys[role]}"},
        }


def create_namespace(services: Services, plant_config: Path | None = None) -> Namespace:
    """A fresh database and topic prefix for one test or benchmark run."""
    tag = uuid.uuid4().hex[:10]
    db = f"occ_test_{tag}"
    with psycopg.connect(services.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    dsn = services.dsn.rsplit("/", 1)[0] + "/" + db
    migrate_with(Settings(), dsn)  # as deploy/up.sh does before starting anything
    with psycopg.connect(dsn, autocommit=True) as conn:  # as `python -m api.auth create` does
        keys = {r.value: create_key_sync(conn, f"test-{r.value}", r, "tests")[0] for r in Role}
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": services.bootstrap,
        "OCC_DATABASE_URL": dsn,
        "OCC_TOPIC_PREFIX": f"t{tag}.",
        "OCC_APP_ID": f"occupancy-test-{tag}",
        "OCC_PLANT_CONFIG": str(plant_config or ROOT / "config" / "demo-plant.toml"),
        # Test scenes are pinned to fixed past dates and their records carry the
        # capture time: with the default 14 days the broker's retention check
        # (every 5 minutes) could delete a scene's frames in the middle of a test.
        "OCC_DETECTIONS_RETENTION_HOURS": str(24 * 365 * 20),
        # Many workers run at once (tests, benchmarks, a developer's own): the
        # metrics exporter is off unless a test asks for a port (worker()).
        "OCC_WORKER_METRICS_PORT": "0",
        "PYTHONUNBUFFERED": "1",
    }
    return Namespace(
        env=env, dsn=dsn, bootstrap=services.bootstrap, prefix=f"t{tag}.", db=db, keys=keys
    )


def drop_namespace(services: Services, ns: Namespace) -> None:
    with psycopg.connect(services.dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{ns.db}" WITH (FORCE)')


def create_topics(ns: Namespace) -> None:
    subprocess.run([sys.executable, "-m", "streams.admin"], env=ns.env, check=True, cwd=ROOT)


async def read_topic(ns: Namespace, name: str) -> list[dict]:
    """Every record of a namespace's topic so far, as JSON (the test's own view)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        ns.topic(name), bootstrap_servers=ns.bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=3000)
        return [json.loads(r.value) for records in batches.values() for r in records]
    finally:
        await consumer.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """A child process of the project, its output kept in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        self._fh = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=self._fh, stderr=subprocess.STDOUT
        )

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def wait_for_log(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            time.sleep(0.2)
        raise TimeoutError(f"{self.name}: no {text!r} within {timeout} s:\n{self.tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._fh.close()


async def publish_frames(
    ns: Namespace,
    frames: Iterable[FrameDetections],
    inject: dict[int, tuple[bytes, bytes]] | None = None,
) -> int:
    """Publish frames keyed by camera; ``inject`` puts raw (key, value) before frame i."""
    from aiokafka import AIOKafkaProducer

    inject = inject or {}
    producer = AIOKafkaProducer(bootstrap_servers=ns.bootstrap, linger_ms=5, acks="all")
    await producer.start()
    n = 0
    try:
        for i, frame in enumerate(frames):
            if i in inject:
                key, value = inject[i]
                await producer.send(ns.topic("detections"), key=key, value=value)
            await producer.send(
                ns.topic("detections"),
                key=frame.camera_id.encode(),
                value=frame.model_dump_json().encode(),
                timestamp_ms=int(frame.captured_at.timestamp() * 1000),
            )
            n += 1
        await producer.flush()
    finally:
        await producer.stop()
    return n


def worker(
    ns: Namespace, log_dir: Path, name: str = "worker", metrics_port: int | None = None
) -> Process:
    """The Faust worker of a namespace, as a child process; its Prometheus
    exporter on ``metrics_port`` (e.g. :func:`free_port`), or off."""
    env = dict(ns.env)
    if metrics_port is not None:
        env["OCC_WORKER_METRICS_PORT"] = str(metrics_port)
    return Process(name, ["-m", "streams", "worker", "-l", "info", "--without-web"], env, log_dir)


#: uvicorn's logging configuration: JSON lines or text (streams.logs), as deploy/up.sh uses.
API_LOG_CONFIG = ROOT / "deploy" / "uvicorn-logging.json"


def api(ns: Namespace, log_dir: Path) -> tuple[Process, int]:
    """The GraphQL API of a namespace under uvicorn on a free port."""
    port = free_port()
    args = ["-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--log-config", str(API_LOG_CONFIG)]
    return Process("api", args, ns.env, log_dir), port
