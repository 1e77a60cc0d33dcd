"""Shared fixtures: the real Kafka broker and PostgreSQL, started by ``deploy/``.

Services start once per test session through the project's own scripts (they
honour ``KAFKA_BOOTSTRAP_SERVERS`` and ``OCC_DATABASE_URL`` when a user has
their own). Each test that needs them gets a fresh namespace: its own topic
prefix, Faust app id and database, so tests never see each other's data.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _deploy(script: str, *args: str) -> str:
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


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    """Kafka and PostgreSQL, started if needed and stopped again if we started them."""
    started = []
    for script in ("kafka.sh", "postgres.sh"):
        running = (
            subprocess.run(
                ["bash", str(ROOT / "deploy" / script), "status"], capture_output=True, check=False
            ).returncode
            == 0
        )
        _deploy(script, "start")
        if not running:
            started.append(script)
    bootstrap = _deploy("kafka.sh", "bootstrap").splitlines()[-1]
    dsn = _deploy("postgres.sh", "dsn").splitlines()[-1]
    try:
        yield Services(bootstrap=bootstrap, dsn=dsn)
    finally:
        if os.environ.get("OCC_KEEP_SERVICES") != "1":
            for script in reversed(started):
                _deploy(script, "stop")


@dataclass(frozen=True)
class Namespace:
    """One test's private slice of the services, as environment variables."""

    env: dict[str, str]
    dsn: str
    bootstrap: str
    prefix: str

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}.v1"


@pytest.fixture
def namespace(services: Services) -> Iterator[Namespace]:
    tag = uuid.uuid4().hex[:10]
    db = f"occ_test_{tag}"
    with psycopg.connect(services.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    dsn = services.dsn.rsplit("/", 1)[0] + "/" + db
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": services.bootstrap,
        "OCC_DATABASE_URL": dsn,
        "OCC_TOPIC_PREFIX": f"t{tag}.",
        "OCC_APP_ID": f"occupancy-test-{tag}",
        "OCC_PLANT_CONFIG": str(ROOT / "config" / "demo-plant.toml"),
        "PYTHONUNBUFFERED": "1",
    }
    yield Namespace(env=env, dsn=dsn, bootstrap=services.bootstrap, prefix=f"t{tag}.")
    with psycopg.connect(services.dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


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


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[Process]]:
    """Processes a test starts; all stopped at the end, logs printed on failure."""
    started: list[Process] = []
    yield started
    for p in reversed(started):
        p.stop()
