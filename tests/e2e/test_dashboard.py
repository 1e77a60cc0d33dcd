"""The dashboard in a real browser (headless Chromium) on the real stack.

Simulated cameras (frames and heartbeats, as ``make up`` plays them) ->
Kafka -> worker -> PostgreSQL and occupancy.v1 -> API -> the page. The test
reads what an operator would read: the live zone cards equal the scene's
ground truth, the zone chart draws the scene's minute buckets, the cameras
page shows both cameras with their lines, the evacuation view warns about the
cameras that stopped, and resolving an alert on the page removes it.

Debian's ``chromium`` is driven by Playwright (the ``browser`` fixture in
tests/conftest.py); deploy/test.sh installs it. Set ``OCC_SCREENSHOTS=DIR`` to
keep screenshots of every view (the README's pictures are made that way).
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from playwright.async_api import Browser, Page

from producers.publish import publish
from producers.simulation.scene import Scene
from schemas.config import load_plant_config
from tests.harness import ROOT, Namespace, Process, create_topics
from tests.harness import api as start_api
from tests.harness import worker as start_worker

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(os.environ["OCC_SCREENSHOTS"]) if os.environ.get("OCC_SCREENSHOTS") else None
# A fixed daytime start: the demo plant resets its zones at 03:00 local time.
START = datetime(2026, 1, 6, 10, 0, tzinfo=UTC)


async def graphql(client: httpx.AsyncClient, query: str, **variables: object) -> dict:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


async def until(what: str, check, within_s: float = 120.0, every: float = 0.5):
    """Poll the async ``check`` until it returns something truthy."""
    deadline = time.monotonic() + within_s
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"{what}: never happened (last: {last!r})")


async def screenshot(page: Page, name: str) -> None:
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def test_the_dashboard_shows_the_scene_its_history_cameras_and_resolves_an_alert(
    namespace: Namespace, processes: list[Process], tmp_path: Path, browser: Browser
) -> None:
    plant = load_plant_config(ROOT / "config" / "demo-plant.toml")
    scene = Scene(plant, people=80, seed=23, start=START)
    truth = scene.truth
    assert truth.crossings > 100

    await asyncio.to_thread(create_topics, namespace)
    worker = start_worker(namespace, tmp_path)
    processes.append(worker)
    api, port = start_api(namespace, tmp_path)
    processes.append(api)
    api.wait_for_log("Application startup complete", timeout=60)
    worker.wait_for_log("Worker ready", timeout=120)
    base = f"http://127.0.0.1:{port}"

    # Frames and heartbeats as the simulator sends them; the cameras end with the scene.
    await publish(
        scene.frames(),
        namespace.bootstrap,
        namespace.topic("detections"),
        False,
        START,
        health_topic=namespace.topic("camera-health"),
        final_status="ended",
    )

    page = await browser.new_page(viewport={"width": 1100, "height": 720})
    page_errors: list[str] = []
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.on("console", lambda m: page_errors.append(m.text) if m.type == "error" else None)
    await page.goto(base + "/")
    # Signed out: nothing but the sign-in form. A wrong key is refused on the page.
    login = page.locator("#login")
    await login.locator("input[name=key]").fill("occ_000000000000_" + "x" * 43)
    await login.locator("button[type=submit]").click()
    await login.locator(".error", has_text="refused").wait_for(timeout=10_000)
    await login.locator("input[name=key]").fill(namespace.keys["operator"])
    await login.locator("button[type=submit]").click()
    await page.locator("#who", has_text="key:test-operator (operator)").wait_for(timeout=10_000)
    # The refused key's 401 is the only console error the page may have had so far.
    assert page_errors == [
        "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
    ], page_errors
    page_errors.clear()

    # -- live: every zone card reaches the ground truth over the subscription --
    for zone, want in truth.zones.items():
        card = page.locator(f"#zone-{zone}")
        await card.locator(f"xpath=self::*[@data-occupancy='{want['occupancy']}']").wait_for(
            timeout=180_000
        )
        text = await card.inner_text()
        assert f"in {want['entries']} · out {want['exits']}" in text, text
    await screenshot(page, "live")

    async with httpx.AsyncClient(
        base_url=base, timeout=10, headers=namespace.headers("operator")
    ) as client:
        # -- the zone page draws the stored minute buckets of the scene ---------
        end = START + timedelta(minutes=math.ceil(scene.duration / 60) + 1)
        frm, to = START.isoformat(), end.isoformat()
        history_q = """query ($f: DateTime!, $t: DateTime!) {
            history(zone: "lobby", granularity: MINUTE, from: $f, to: $t) {
              series { start entries exits avgOccupancy } } }"""

        async def stored() -> dict | None:
            s = (await graphql(client, history_q, f=frm, t=to))["history"]["series"]
            done = sum(s["entries"]) == truth.zones["lobby"]["entries"]
            return s if done and sum(s["exits"]) == truth.zones["lobby"]["exits"] else None

        series = await until("the sink stored every lobby crossing", stored)
        assert len(series["start"]) >= 3 and max(series["entries"]) > 0

        link = urlencode({"from": frm, "to": to, "granularity": "MINUTE"})
        await page.goto(f"{base}/#/zone/lobby?{link}")
        try:
            await page.wait_for_function(
                "document.getElementById('flow-chart')?.data?.length === 2", timeout=30_000
            )
        except Exception:
            raise AssertionError(
                f"no chart: {await page.locator('#zone-error').inner_text()!r} {page_errors}"
            ) from None
        flow = await page.evaluate(
            "document.getElementById('flow-chart').data.map(t => ({name: t.name, x: t.x, y: t.y}))"
        )
        assert [t["name"] for t in flow] == ["entries", "exits"]
        assert flow[0]["y"] == series["entries"] and flow[1]["y"] == series["exits"]
        assert flow[0]["x"] == [s[:19] for s in series["start"]]  # plant wall time
        curve = await page.evaluate(
            "document.getElementById('occupancy-chart').data.find(t => t.name === 'average').y"
        )
        assert curve == pytest.approx(series["avgOccupancy"])
        # The plot is drawn (SVG bars exist), not just handed its data.
        assert await page.locator("#flow-chart .bars path").count() > 0
        csv_href = await page.locator("#export-csv").get_attribute("href")
        assert csv_href is not None
        csv = (await client.get(csv_href)).text.splitlines()
        assert csv[0].startswith("start,end,entries,exits")
        assert sum(int(row.split(",")[2]) for row in csv[1:]) == truth.zones["lobby"]["entries"]
        await screenshot(page, "zone")

        # -- cameras: both, with their lines, offline once their scene ended ----
        await page.goto(base + "/#/cameras")
        for camera in plant.cameras:
            card = page.locator(f'.camera[data-camera="{camera.id}"]')
            await card.locator(".pill.offline").wait_for(timeout=30_000)
            assert "10.0 fps" in await card.locator(".fps").inner_text()
        lines = await graphql(client, "{ cameras { id lines { id } } }")
        assert {c["id"]: len(c["lines"]) for c in lines["cameras"]} == {
            c.id: sum(1 for ln in plant.lines if ln.camera_id == c.id) for c in plant.cameras
        }
        await screenshot(page, "cameras")

        # -- evacuation: the headcount, and a warning for the stopped cameras ---
        await page.goto(base + "/#/evacuation")
        for zone, want in truth.zones.items():
            row = page.locator(f'#evacuation tr[data-zone="{zone}"]')
            assert await row.locator(".headcount").inner_text() == str(want["occupancy"])
            assert "not online" in await row.locator(".feeds").inner_text()
        await screenshot(page, "evacuation")

        # -- alerts: over capacity raises one; resolving it on the page removes it
        office = next(z for z in plant.zones if z.id == "office")
        assert office.capacity is not None
        await graphql(
            client,
            'mutation ($n: Int!) { calibrateZone(zoneId: "office", occupancy: $n, '
            'reason: "headcount") { zoneId } }',
            n=office.capacity + 5,
        )

        async def exceeded() -> str | None:
            found = await graphql(client, '{ alerts(subjectId: "office") { alertId kind } }')
            ids = [a["alertId"] for a in found["alerts"] if a["kind"] == "capacity_exceeded"]
            return ids[0] if ids else None

        alert_id = await until("a capacity_exceeded alert", exceeded, within_s=60)
        await page.goto(base + "/")
        row = page.locator(f'#open-alerts tr[data-alert-id="{alert_id}"]')
        await row.wait_for(timeout=30_000)
        await screenshot(page, "alerts")
        await row.locator("input[name=reason]").fill("counted by hand")
        await row.locator("button[type=submit]").click()
        await row.wait_for(state="detached", timeout=10_000)

        async def resolved() -> dict | None:
            found = await graphql(
                client,
                '{ alerts(openOnly: false, subjectId: "office") { alertId resolvedBy } }',
            )
            return next(
                (a for a in found["alerts"] if a["alertId"] == alert_id and a["resolvedBy"]),
                None,
            )

        assert (await until("the resolution is stored", resolved))["resolvedBy"] == (
            "key:test-operator"
        )
        await page.reload()
        await page.locator("#zones .zone").first.wait_for()
        await page.wait_for_timeout(500)  # the open alerts load with the zones
        assert await row.count() == 0

    assert page_errors == [], page_errors
