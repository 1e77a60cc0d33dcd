"""Shared fixtures: the real Kafka broker and PostgreSQL, started by ``deploy/``.

Services start once per test session through the project's own scripts (they
honour ``KAFKA_BOOTSTRAP_SERVERS`` and ``OCC_DATABASE_URL`` when a user has
their own) and are stopped again if the session started them. Each test that
needs them gets a fresh namespace: its own topic prefix, Faust app id and
database, so tests never see each other's data.

``browser`` is headless Chromium (Debian's ``chromium``, or ``OCC_CHROMIUM``)
driven by Playwright, for the tests that read the dashboard as a person would.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

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


CHROMIUM = Path(os.environ.get("OCC_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium"))


@pytest.fixture
def chromium() -> Path:
    assert CHROMIUM.exists(), (
        f"no Chromium at {CHROMIUM}: apt-get install chromium (deploy/test.sh does)"
    )
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        try:
            yield b
        finally:
            await b.close()
