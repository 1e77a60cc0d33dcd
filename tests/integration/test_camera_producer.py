"""The camera producer command against the real Kafka broker.

Video comes from synthetic scenes (people with known paths, found by OpenCV's
HOG detector): from a file, and from a local MJPEG-over-HTTP server that the
test stops and restarts to drop the stream mid-way.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import importlib.util
import itertools
import json
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas.config import PlantConfig, load_plant_config
from schemas.events import FrameDetections
from schemas.health import CameraHealth
from streams.core.counting import LineCounter
from tests.harness import Namespace, Process, free_port

if importlib.util.find_spec("cv2") is None or importlib.util.find_spec("ultralytics") is None:
    pytest.skip("needs the camera extra", allow_module_level=True)

from producers.camera.synthetic import crossing_scene

pytestmark = pytest.mark.integration

# Small frames and a coarser HOG pyramid keep the detector at ~12 ms a frame.
W, H = 480, 360
FAST = {"detector": "hog", "hog_scale": 1.1}


def write_plant(path: Path, cameras: dict[str, str]) -> PlantConfig:
    lines = "".join(
        f"""
[[lines]]
id = "door-{cam}"
camera_id = "{cam}"
points = [[0.0, {H / 2}], [{float(W)}, {H / 2}]]
from_zone = "outside"
to_zone = "room"
"""
        for cam in cameras
    )
    cams = "".join(
        f"""
[[cameras]]
id = "{cam}"
width = {W}
height = {H}
source = "{source}"
"""
        for cam, source in cameras.items()
    )
    path.write_text(f'[[zones]]\nid = "room"\n{cams}{lines}')
    return load_plant_config(path)


def write_settings(path: Path, defaults: dict[str, Any], health_interval_s: float = 0.5) -> Path:
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in defaults.items())
    path.write_text(f"health_interval_s = {health_interval_s}\n\n[defaults]\n{body}\n")
    return path


async def create_topics(ns: Namespace) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=ns.bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(ns.topic(t), 2, 1) for t in ("detections", "camera-health")]
        )
    finally:
        await admin.close()


class Collector:
    """Reads both topics from the start into lists, in the background."""

    def __init__(self, ns: Namespace) -> None:
        self.ns = ns
        self.frames: list[FrameDetections] = []
        self.health: list[CameraHealth] = []
        self.keys: set[tuple[str, str]] = set()
        #: (record timestamp, capture time) in ms, per detections record.
        self.stamps: list[tuple[int, int]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Collector:
        from aiokafka import AIOKafkaConsumer

        self._consumer = AIOKafkaConsumer(
            self.ns.topic("detections"),
            self.ns.topic("camera-health"),
            bootstrap_servers=self.ns.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        async for msg in self._consumer:
            value = json.loads(msg.value)
            key = msg.key.decode()
            if value["type"] == "FrameDetections":
                frame = FrameDetections.model_validate(value)
                self.keys.add((key, frame.camera_id))
                self.frames.append(frame)
                self.stamps.append((msg.timestamp, int(frame.captured_at.timestamp() * 1000)))
            else:
                health = CameraHealth.model_validate(value)
                self.keys.add((key, health.camera_id))
                self.health.append(health)

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._consumer.stop()

    async def wait_for(
        self, what: str, cond: Callable[[], bool], within_s: float, proc: Process
    ) -> None:
        deadline = time.monotonic() + within_s
        while not cond():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {what} within {within_s} s:\n{proc.tail()}")
            await asyncio.sleep(0.1)

    def last_health(self, camera: str) -> CameraHealth | None:
        mine = [h for h in self.health if h.camera_id == camera]
        return mine[-1] if mine else None


def producer(ns: Namespace, tmp_path: Path, plant: Path, settings: Path, *args: str) -> Process:
    return Process(
        "camera",
        ["-m", "producers.camera", "--config", str(plant), "--settings", str(settings), *args],
        {**ns.env, "OCC_RUN_DIR": str(tmp_path)},
        tmp_path,
    )


async def test_file_camera_publishes_tracks_that_count_like_the_truth(
    namespace: Namespace, processes: list[Process], tmp_path: Path
):
    scene, line = crossing_scene(W, H)
    video = scene.write(tmp_path / "door.mp4")
    plant = write_plant(tmp_path / "plant.toml", {"cam-door": str(video)})
    settings = write_settings(tmp_path / "producer.toml", {**FAST, "max_fps": 25})
    await create_topics(namespace)
    async with Collector(namespace) as seen:
        proc = producer(namespace, tmp_path, tmp_path / "plant.toml", settings, "--no-realtime")
        processes.append(proc)
        assert await asyncio.to_thread(proc.proc.wait, 120) == 0, proc.tail()
        await seen.wait_for(
            "final heartbeat",
            lambda: (h := seen.last_health("cam-door")) is not None and h.status == "ended",
            30,
            proc,
        )
        await seen.wait_for("every frame", lambda: len(seen.frames) == scene.frames, 30, proc)
    assert seen.keys == {("cam-door", "cam-door")}  # keyed by camera
    frames = sorted(seen.frames, key=lambda f: f.frame_seq)
    assert [f.frame_seq for f in frames] == list(range(scene.frames))
    # Recounts find a period's first offset by record timestamp: it is the capture time.
    assert seen.stamps and all(kafka == captured for kafka, captured in seen.stamps)
    counter = LineCounter("cam-door", plant.lines_for("cam-door"), plant.version)
    counts = {"in": 0, "out": 0}
    for frame in frames:
        for event in counter.trigger(frame):
            counts[event.direction] += 1
    truth = scene.truth(line)
    assert counts == truth == {"in": 2, "out": 1}
    final = seen.last_health("cam-door")
    assert final is not None
    assert final.frames_published == final.frames_in == scene.frames
    assert final.detector == "hog" and final.publish_errors == 0


class MjpegServer:
    """Serves frames as ``multipart/x-mixed-replace`` JPEGs on 127.0.0.1, for ever.

    :meth:`stop` closes every connection and the socket (a camera that went
    away); :meth:`start` again on the same port brings it back.
    """

    def __init__(self, jpegs: list[bytes], fps: float, port: int) -> None:
        self.jpegs = jpegs
        self.fps = fps
        self.port = port
        self.parts_sent = 0
        self._running = threading.Event()
        self._server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                with contextlib.suppress(OSError):
                    for jpeg in itertools.cycle(outer.jpegs):
                        if not outer._running.is_set():
                            break
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\n"
                            + f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                            + jpeg
                            + b"\r\n"
                        )
                        outer.parts_sent += 1
                        time.sleep(1 / outer.fps)

            def log_message(self, *args: object) -> None:
                pass

        self._running.set()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._running.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


async def test_dropped_stream_is_reconnected_and_sigterm_flushes(
    namespace: Namespace, processes: list[Process], tmp_path: Path
):
    import cv2

    scene, _ = crossing_scene(W, H)
    jpegs = [cv2.imencode(".jpg", scene.render(k))[1].tobytes() for k in range(scene.frames)]
    # A corrupt picture now and then: counted, never fatal.
    for k in range(13, len(jpegs), 29):
        jpegs[k] = b"\xff\xd8" + b"this is not a jpeg" * 40
    port = free_port()
    server = MjpegServer(jpegs, fps=15, port=port)
    server.start()
    url = f"http://user:secret@127.0.0.1:{port}/video.mjpg"
    write_plant(tmp_path / "plant.toml", {"cam-live": url})
    settings = write_settings(
        tmp_path / "producer.toml",
        {
            **FAST,
            "max_fps": 10,
            "reconnect_initial_s": 0.2,
            "reconnect_max_s": 1.0,
            "open_timeout_s": 3,
            "read_timeout_s": 3,
        },
    )
    await create_topics(namespace)
    try:
        async with Collector(namespace) as seen:
            proc = producer(namespace, tmp_path, tmp_path / "plant.toml", settings)
            processes.append(proc)
            await seen.wait_for("20 frames", lambda: len(seen.frames) >= 20, 60, proc)

            server.stop()  # the camera goes away mid-stream
            await seen.wait_for(
                "a reconnecting heartbeat",
                lambda: any(h.status == "reconnecting" for h in seen.health),
                20,
                proc,
            )
            await asyncio.sleep(1.5)  # a few refused reconnects
            before = len(seen.frames)
            server.start()
            await seen.wait_for(
                "frames after the restart",
                lambda: len(seen.frames) >= before + 20,
                30,
                proc,
            )
            await seen.wait_for(
                "a heartbeat counting the reconnect",
                lambda: (h := seen.last_health("cam-live")) is not None and h.reconnects >= 1,
                10,
                proc,
            )

            proc.proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(proc.proc.wait, 30) == 0, proc.tail()
            await seen.wait_for(
                "the last heartbeat",
                lambda: (h := seen.last_health("cam-live")) is not None and h.status == "stopped",
                10,
                proc,
            )
            published = seen.last_health("cam-live").frames_published  # type: ignore[union-attr]
            await seen.wait_for("every frame", lambda: len(seen.frames) == published, 10, proc)
    finally:
        server.stop()

    statuses = [h.status for h in seen.health]
    online_again = statuses.index("online", statuses.index("reconnecting"))
    assert online_again > 0
    final = seen.health[-1]
    assert final.reconnects >= 1 and final.read_errors >= 1
    assert final.source == f"http://***@127.0.0.1:{port}/video.mjpg"  # no password
    assert "secret" not in proc.log.read_text()
    frames = seen.frames
    assert [f.frame_seq for f in frames] == sorted(f.frame_seq for f in frames)
    assert all(a.captured_at < b.captured_at for a, b in itertools.pairwise(frames))
    assert any(f.tracks for f in frames[before:])  # people seen after the reconnect


async def test_unreadable_sources_give_clear_errors_not_crashes(
    namespace: Namespace, processes: list[Process], tmp_path: Path
):
    dead_port = free_port()  # nothing listens there
    write_plant(
        tmp_path / "plant.toml",
        {
            "cam-missing": str(tmp_path / "no-such-video.mp4"),
            "cam-dead": f"rtsp://127.0.0.1:{dead_port}/stream1",
        },
    )
    settings = write_settings(
        tmp_path / "producer.toml",
        {**FAST, "reconnect_initial_s": 0.2, "reconnect_max_s": 0.5, "open_timeout_s": 2},
    )
    await create_topics(namespace)
    async with Collector(namespace) as seen:
        proc = producer(namespace, tmp_path, tmp_path / "plant.toml", settings)
        processes.append(proc)
        await seen.wait_for(
            "both cameras' trouble",
            lambda: (
                (m := seen.last_health("cam-missing")) is not None
                and m.status == "failed"
                and (d := seen.last_health("cam-dead")) is not None
                and d.status == "reconnecting"
            ),
            60,
            proc,
        )
        proc.proc.send_signal(signal.SIGTERM)
        # One camera failed for good: the command says so with its exit status.
        assert await asyncio.to_thread(proc.proc.wait, 30) == 1, proc.tail()
        await seen.wait_for(
            "the dead camera stopped",
            lambda: (d := seen.last_health("cam-dead")) is not None and d.status == "stopped",
            10,
            proc,
        )
    missing = seen.last_health("cam-missing")
    dead = seen.last_health("cam-dead")
    assert missing is not None and dead is not None
    assert "no-such-video.mp4 does not exist" in (missing.last_error or "")
    assert f"rtsp://127.0.0.1:{dead_port}/stream1 cannot be opened" in (dead.last_error or "")
    assert seen.frames == []
    log = proc.log.read_text()
    assert "Traceback" not in log
    assert "no-such-video.mp4 does not exist" in log


def test_configuration_errors_exit_2_before_connecting(tmp_path: Path):
    import subprocess
    import sys

    from tests.harness import ROOT

    write_plant(tmp_path / "plant.toml", {"cam-a": str(tmp_path / "v.mp4")})
    settings = write_settings(tmp_path / "producer.toml", {"detector": "yolo"})
    env = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "PATH": "/usr/bin:/bin"}
    for args, message in (
        (["--camera", "cam-x"], "unknown camera(s) ['cam-x']"),
        ([], "detector 'yolo' needs weights"),
        (["--weights", str(tmp_path / "missing.pt")], "missing.pt' not found"),
    ):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "producers.camera",
                "--config",
                str(tmp_path / "plant.toml"),
                "--settings",
                str(settings),
                *args,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
