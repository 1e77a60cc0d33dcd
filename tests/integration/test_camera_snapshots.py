"""Snapshots on request, through the real broker: API -> producer -> API.

Two camera producers play the same synthetic video; only the one started
with ``--snapshots`` answers. The dashboard's path is followed: the
``requestSnapshot`` mutation, ``Camera.snapshotRequestId`` polled, then
``GET /cameras/<id>/snapshot.jpg``, which must be a frame of the video at the
camera's configured size.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser

from tests.harness import Namespace, Process, create_topics
from tests.harness import api as start_api

if importlib.util.find_spec("cv2") is None or importlib.util.find_spec("ultralytics") is None:
    pytest.skip("needs the camera extra", allow_module_level=True)

import cv2
import numpy as np

from producers.camera.synthetic import crossing_scene
from tests.integration.test_camera_producer import FAST, H, W, write_plant, write_settings

pytestmark = pytest.mark.integration


async def graphql(client: httpx.AsyncClient, query: str, **variables: object) -> dict:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    response.raise_for_status()
    return response.json()


def camera_process(
    ns: Namespace, log_dir: Path, plant: Path, settings: Path, camera: str, *args: str
) -> Process:
    log_dir.mkdir(exist_ok=True)
    argv = ["-m", "producers.camera", "--config", str(plant), "--settings", str(settings)]
    return Process(
        "camera",
        [*argv, "--camera", camera, *args],
        {**ns.env, "OCC_RUN_DIR": str(log_dir)},
        log_dir,
    )


async def test_only_a_producer_with_snapshots_on_answers_with_a_frame_of_its_camera(
    namespace: Namespace, processes: list[Process], tmp_path: Path, browser: Browser
) -> None:
    scene, _ = crossing_scene(W, H)
    video = scene.write(tmp_path / "door.mp4")
    plant_file = tmp_path / "plant.toml"
    write_plant(plant_file, {"cam-on": str(video), "cam-off": str(video)})
    settings = write_settings(tmp_path / "producer.toml", {**FAST, "max_fps": 5, "loop": True})
    namespace.env["OCC_PLANT_CONFIG"] = str(plant_file)
    await asyncio.to_thread(create_topics, namespace)

    api, port = start_api(namespace, tmp_path)
    processes.append(api)
    on = camera_process(namespace, tmp_path / "on", plant_file, settings, "cam-on", "--snapshots")
    off = camera_process(namespace, tmp_path / "off", plant_file, settings, "cam-off")
    processes += [on, off]
    api.wait_for_log("Application startup complete", timeout=60)

    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=10, headers=namespace.headers("operator")
    ) as client:
        deadline = time.monotonic() + 90
        while True:  # both producers run and have frames (their heartbeats say online)
            body = await graphql(client, "{ cameras { id status } }")
            status = {c["id"]: c["status"] for c in body["data"]["cameras"]}
            if status == {"cam-on": "online", "cam-off": "online"}:
                break
            assert time.monotonic() < deadline, f"{status}\n{on.tail()}\n{off.tail()}"
            await asyncio.sleep(0.5)

        ask = "mutation ($c: ID!) { requestSnapshot(cameraId: $c) { id cameraId } }"
        asked = {}
        for camera in ("cam-on", "cam-off"):
            body = await graphql(client, ask, c=camera)
            assert body["data"]["requestSnapshot"]["cameraId"] == camera
            asked[camera] = body["data"]["requestSnapshot"]["id"]

        seen = "query ($c: ID!) { camera(id: $c) { snapshotRequestId snapshotAt snapshotError } }"
        deadline = time.monotonic() + 30
        while True:
            snap = (await graphql(client, seen, c="cam-on"))["data"]["camera"]
            if snap["snapshotRequestId"] == asked["cam-on"]:
                break
            assert time.monotonic() < deadline, f"no snapshot answer\n{on.tail()}"
            await asyncio.sleep(0.3)
        assert snap["snapshotError"] is None and snap["snapshotAt"]

        response = await client.get("/cameras/cam-on/snapshot.jpg")
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        assert response.headers["x-snapshot-request-id"] == asked["cam-on"]
        image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (H, W, 3)  # the camera's configured size: the lines' space
        # It is a frame of the video (JPEG-close to one of them), not a blank picture.
        capture = cv2.VideoCapture(str(video))
        best = float("inf")
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            best = min(best, float(np.abs(frame.astype(np.int16) - image).mean()))
        capture.release()
        assert best < 6.0, best
        assert float(image.std()) > 5.0

        # The producer without --snapshots never answers: nothing of its camera leaves it.
        await asyncio.sleep(3)
        off_snap = (await graphql(client, seen, c="cam-off"))["data"]["camera"]
        assert off_snap == {"snapshotRequestId": None, "snapshotAt": None, "snapshotError": None}
        missing = await client.get("/cameras/cam-off/snapshot.jpg")
        assert missing.status_code == 404 and "--snapshots" in missing.text
        assert (await client.get("/cameras/nowhere/snapshot.jpg")).status_code == 404

        bad = await graphql(client, ask, c="nowhere")
        assert bad["data"] == {"requestSnapshot": None}
        assert bad["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    # The dashboard's button asks again and draws the answer under the lines.
    page = await browser.new_page()
    await page.add_init_script(f"localStorage.setItem('occ.key', '{namespace.keys['operator']}')")
    await page.goto(f"http://127.0.0.1:{port}/#/cameras")
    card = page.locator('.camera[data-camera="cam-on"]')
    await card.locator("button.snapshot").click()
    await card.locator("canvas").wait_for()
    # Drawn: the canvas centre is the video's pixel, not the empty frame's grey.
    drawn = """el => {
        const d = el.getContext('2d').getImageData(el.width / 2, el.height / 4, 1, 1).data;
        return [d[0], d[1], d[2]]; }"""
    deadline = time.monotonic() + 30
    while (pixel := await card.locator("canvas").evaluate(drawn)) == [0x3A, 0x3F, 0x47]:
        assert time.monotonic() < deadline, "the snapshot was never drawn"
        await asyncio.sleep(0.3)
    want = image[H // 4, W // 2][::-1]  # BGR -> RGB
    assert max(abs(int(a) - int(b)) for a, b in zip(pixel, want, strict=True)) < 40, (pixel, want)
