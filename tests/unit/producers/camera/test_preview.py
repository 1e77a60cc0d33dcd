import asyncio
import importlib.util
import json
from datetime import UTC, datetime

import numpy as np
import pytest

from producers.camera.preview import PreviewHub, PreviewServer, draw_overlay
from schemas.config import CameraConfig, LineConfig
from schemas.events import FrameDetections, Track

if importlib.util.find_spec("cv2") is None:
    pytest.skip("needs the camera extra", allow_module_level=True)

import cv2

CAMERA = CameraConfig(id="cam-a", width=640, height=480)
LINE = LineConfig(
    id="door", camera_id="cam-a", points=((0, 240), (640, 240)), from_zone="outside", to_zone="room"
)
FRAME = FrameDetections(
    camera_id="cam-a",
    frame_seq=7,
    captured_at=datetime(2026, 3, 1, 12, tzinfo=UTC),
    frame_width=640,
    frame_height=480,
    tracks=(Track(id=3, box=(100, 100, 160, 260), confidence=0.9),),
)


def test_overlay_draws_in_the_configured_frame_size():
    small = np.zeros((240, 320, 3), np.uint8)  # detected at half size
    canvas = draw_overlay(small, FRAME, [LINE])
    assert canvas.shape == (480, 640, 3)
    assert canvas[240, 320].any()  # the line
    assert canvas[100:262, 98:162].any()  # the box
    assert not small.any()  # the producer's frame is never drawn on


async def get(port: int, path: str) -> tuple[str, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if b"multipart" in head:
        body = await reader.readuntil(b"\r\n\r\n")  # first part's headers
        length = int(body.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        body = await reader.readexactly(length)
    else:
        body = await reader.read()
    writer.close()
    return head.decode(), body


async def test_preview_serves_index_snapshots_and_mjpeg():
    hub = PreviewHub()
    hub.register(CAMERA, [LINE])
    server = PreviewServer(hub, port=0, fps=20)
    await server.start()
    try:
        head, body = await get(server.port, "/")
        assert "200 OK" in head and b'src="/cameras/cam-a.mjpg"' in body
        head, _ = await get(server.port, "/cameras/cam-a.jpg")
        assert "503" in head  # no frame yet
        hub.update("cam-a", np.full((480, 640, 3), 90, np.uint8), FRAME)
        head, body = await get(server.port, "/cameras/cam-a.jpg")
        assert "image/jpeg" in head
        assert cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR).shape == (480, 640, 3)
        head, body = await get(server.port, "/cameras/cam-a.mjpg")
        assert "multipart/x-mixed-replace" in head and body[:2] == b"\xff\xd8"
        head, _ = await get(server.port, "/cameras/nope.mjpg")
        assert "404" in head
        head, body = await get(server.port, "/health")
        assert json.loads(body) == []
    finally:
        await server.stop()
