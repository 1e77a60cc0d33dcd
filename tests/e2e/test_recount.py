"""Recount by replay: moved lines on recorded detections, against ground truth."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from producers.simulation.scene import Scene
from schemas.config import LineConfig, load_plant_config
from tests.harness import ROOT, Namespace, Process, create_topics, publish_frames
from tests.harness import worker as start_worker

pytestmark = pytest.mark.e2e


def replay(ns: Namespace, start: datetime, end: datetime, config: Path, *extra: str) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams.cli.recount",
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
            "--config",
            str(config),
            "--json",
            *extra,
        ],
        env=ns.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


async def test_recount_with_a_moved_line_matches_ground_truth_and_is_repeatable(
    namespace: Namespace, processes: list[Process], tmp_path: Path
):
    plant = load_plant_config(ROOT / "config" / "demo-plant.toml")
    start = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
    scene = Scene(plant, people=120, seed=5, start=start)
    end = start + timedelta(seconds=scene.duration + 1)
    await asyncio.to_thread(create_topics, namespace)
    worker = start_worker(namespace, tmp_path)
    processes.append(worker)
    await asyncio.to_thread(worker.wait_for_log, "Worker ready", 120)
    await publish_frames(namespace, scene.frames())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with psycopg.connect(namespace.dsn) as conn:
            (n,) = conn.execute("SELECT count(*) FROM crossings").fetchone()
        if n == scene.truth.crossings:
            break
        await asyncio.sleep(0.5)
    assert n == scene.truth.crossings

    # The installer moves the north gate's line: lower, and only the left half.
    moved_text = (
        (ROOT / "config" / "demo-plant.toml")
        .read_text()
        .replace(
            'points = [[40.0, 360.0], [600.0, 360.0]]\nfrom_zone = "outside"\nto_zone = "lobby"',
            'points = [[40.0, 385.0], [320.0, 385.0]]\nfrom_zone = "outside"\nto_zone = "lobby"',
            1,
        )
    )
    moved = tmp_path / "moved.toml"
    moved.write_text(moved_text)
    moved_plant = load_plant_config(moved)
    gate: LineConfig = next(ln for ln in moved_plant.lines if ln.id == "gate-north")
    assert gate.points == ((40.0, 385.0), (320.0, 385.0))
    truth_moved = scene.truth_for(gate)
    assert truth_moved != scene.truth.lines["gate-north"]  # the move matters

    first = await asyncio.to_thread(replay, namespace, start, end, moved)
    assert first["lines"]["recount"]["gate-north"] == truth_moved
    for line in ("door-workshop", "gate-south", "door-office"):
        assert first["lines"]["recount"][line] == scene.truth.lines[line]
    assert first["lines"]["live"] == {k: v for k, v in scene.truth.lines.items()}

    with psycopg.connect(namespace.dsn) as conn:
        ids_first = sorted(
            r[0]
            for r in conn.execute(
                "SELECT id FROM recount_crossings WHERE run_id = %s", (first["run_id"],)
            )
        )
    second = await asyncio.to_thread(replay, namespace, start, end, moved)
    assert second["run_id"] == first["run_id"]
    assert second["lines"] == first["lines"] and second["zones"] == first["zones"]
    with psycopg.connect(namespace.dsn) as conn:
        ids_second = sorted(
            r[0]
            for r in conn.execute(
                "SELECT id FROM recount_crossings WHERE run_id = %s", (first["run_id"],)
            )
        )
        (live_ids,) = conn.execute("SELECT count(*) FROM crossings").fetchone()
    assert ids_second == ids_first and len(ids_first) == first["crossings"]
    assert live_ids == scene.truth.crossings  # live counts untouched

    # Applying the difference moves the live occupancy by the recount's net change.
    applied = await asyncio.to_thread(replay, namespace, start, end, moved, "--apply", "--by", "qa")
    diffs = {
        z: applied["zones"]["recount"].get(z, {}).get("net", 0)
        - applied["zones"]["live"].get(z, {}).get("net", 0)
        for z in scene.truth.zones
    }
    expected = {z: max(0, scene.truth.zones[z]["occupancy"] + d) for z, d in diffs.items()}
    assert {c["zone_id"] for c in applied["calibrations"]} == {z for z, d in diffs.items() if d}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with psycopg.connect(namespace.dsn) as conn:
            got = dict(conn.execute("SELECT zone_id, occupancy FROM zone_occupancy").fetchall())
        if got == expected:
            break
        await asyncio.sleep(0.3)
    assert got == expected

    # Applying again is the same command (same id and content), applied once.
    again = await asyncio.to_thread(replay, namespace, start, end, moved, "--apply", "--by", "qa")
    assert again["calibrations"] == applied["calibrations"]
    await asyncio.sleep(5)
    with psycopg.connect(namespace.dsn) as conn:
        got = dict(conn.execute("SELECT zone_id, occupancy FROM zone_occupancy").fetchall())
        (stored,) = conn.execute("SELECT count(*) FROM commands").fetchone()
    assert got == expected
    assert stored == len(applied["calibrations"])
