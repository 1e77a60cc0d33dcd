"""Shared fixtures: the real Kafka broker and PostgreSQL, started by ``deploy/``.

Services start once per test session through the project's own scripts (they
honour ``KAFKA_BOOTSTRAP_SERVERS`` and ``OCC_DATABASE_URL`` when a user has
their own) and are stopped again if the session started them. Each test that
needs them gets a fresh namespace: its own topic prefix, Faust app id and
database, so tests never see each other's data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import (
    Namespace,
    Process,
    Services,
    create_namespace,
    drop_namespace,
    start_services,
    stop_services,
)


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    svc, started = start_services()
    try:
        yield svc
    finally:
        if os.environ.get("OCC_KEEP_SERVICES") != "1":
            stop_services(started)


@pytest.fixture
def namespace(services: Services) -> Iterator[Namespace]:
    ns = create_namespace(services)
    yield ns
    drop_namespace(services, ns)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[Process]]:
    """Processes a test starts; all stopped at the end."""
    started: list[Process] = []
    yield started
    for p in reversed(started):
        p.stop()
