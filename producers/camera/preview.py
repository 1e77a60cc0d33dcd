"""MJPEG preview for installers placing lines: boxes, track ids and lines drawn.

``GET /`` lists the cameras; ``GET /cameras/<id>.mjpg`` streams one camera as
``multipart/x-mixed-replace`` JPEGs (any browser shows it in an ``<img>``);
``GET /cameras/<id>.jpg`` is one snapshot; ``GET /health`` is the latest
heartbeat of every camera as JSON. The picture is shown in the camera's
configured frame size, the pixel space its lines are drawn in, so what you see
is what the counter sees.

Frames are encoded only while somebody watches, at most ``fps`` per viewer,
in a worker thread. The server has no authentication: it binds to loopback
unless told otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote

from schemas.config import CameraConfig, LineConfig
from schemas.events import FrameDetections
from schemas.health import CameraHealth

__all__ = ["PreviewHub", "PreviewServer", "draw_overlay"]

logger = logging.getLogger(__name__)

_BOUNDARY = "occupancyframe"


def _colour(track_id: int) -> tuple[int, int, int]:
    # A stable, bright colour per id (BGR).
    h = (track_id * 2654435761) & 0xFFFFFF
    return (64 + (h & 0xBF), 64 + ((h >> 8) & 0xBF), 64 + ((h >> 16) & 0xBF))


def draw_overlay(image: Any, frame: FrameDetections, lines: Sequence[LineConfig]) -> Any:
    """A copy of ``image`` at the frame's configured size with lines, boxes and ids drawn."""
    import cv2

    size = (frame.frame_width, frame.frame_height)
    if (image.shape[1], image.shape[0]) != size:
        canvas = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    else:
        canvas = image.copy()
    for ln in lines:
        (x1, y1), (x2, y2) = ln.points
        p1, p2 = (round(x1), round(y1)), (round(x2), round(y2))
        cv2.line(canvas, p1, p2, (0, 255, 255), 2, cv2.LINE_AA)
        # The "in" side is to the right of points[0] -> points[1]: mark it.
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        dx, dy = x2 - x1, y2 - y1
        norm = max((dx * dx + dy * dy) ** 0.5, 1e-9)
        tip = (round(mx - dy / norm * 25), round(my + dx / norm * 25))
        cv2.arrowedLine(canvas, (round(mx), round(my)), tip, (0, 255, 255), 2, cv2.LINE_AA)
        cv2.putText(
            canvas, f"{ln.id} ({ln.to_zone})", (tip[0] + 4, tip[1]), 0, 0.5, (0, 255, 255), 1
        )
    for t in frame.tracks:
        x1, y1, x2, y2 = (round(v) for v in t.box)
        colour = _colour(t.id)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 2)
        cv2.circle(canvas, ((x1 + x2) // 2, y2), 4, colour, -1)
        cv2.putText(canvas, f"#{t.id} {t.confidence:.2f}", (x1, max(y1 - 5, 12)), 0, 0.5, colour, 2)
    stamp = f"{frame.camera_id}  frame {frame.frame_seq}  {frame.captured_at:%H:%M:%S.%f}"[:-3]
    cv2.putText(canvas, stamp + " UTC", (8, frame.frame_height - 10), 0, 0.5, (255, 255, 255), 1)
    return canvas


class PreviewHub:
    """The latest frame and result of every camera; producers write, the server reads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cameras: dict[str, tuple[CameraConfig, tuple[LineConfig, ...]]] = {}
        self._latest: dict[str, tuple[Any, FrameDetections]] = {}
        self._versions: dict[str, int] = {}
        self.health: Callable[[], list[CameraHealth]] = list

    def register(self, camera: CameraConfig, lines: Sequence[LineConfig]) -> None:
        with self._lock:
            self._cameras[camera.id] = (camera, tuple(lines))

    @property
    def camera_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._cameras)

    def update(self, camera_id: str, image: Any, frame: FrameDetections) -> None:
        """Called by a detector thread for every processed frame; keeps a reference only."""
        with self._lock:
            self._latest[camera_id] = (image, frame)
            self._versions[camera_id] = self._versions.get(camera_id, 0) + 1

    def version(self, camera_id: str) -> int:
        with self._lock:
            return self._versions.get(camera_id, 0)

    def render_jpeg(self, camera_id: str, quality: int = 80) -> bytes | None:
        """The newest annotated frame as JPEG, or ``None`` when there is none yet."""
        import cv2

        with self._lock:
            latest = self._latest.get(camera_id)
            entry = self._cameras.get(camera_id)
        if latest is None or entry is None:
            return None
        image, frame = latest
        canvas = draw_overlay(image, frame, entry[1])
        ok, buf = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, quality])
        return buf.tobytes() if ok else None


class PreviewServer:
    """A small asyncio HTTP server for the :class:`PreviewHub`.

    Args:
        hub: Frames to show.
        host: Address to bind (loopback by default: no authentication).
        port: Port; 0 picks a free one (see :attr:`port` after :meth:`start`).
        fps: Most frames per second sent to each viewer.
    """

    def __init__(self, hub: PreviewHub, host: str = "127.0.0.1", port: int = 0, fps: float = 5.0):
        self.hub = hub
        self.host = host
        self.port = port
        self.fps = fps
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        logger.info("preview on http://%s:%d/", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            parts = request.split(b"\r\n", 1)[0].decode("latin-1").split()
            if len(parts) < 2 or parts[0] != "GET":
                await self._reply(writer, 405, "text/plain", b"GET only\n")
                return
            path = unquote(parts[1].split("?", 1)[0])
            await self._route(path, writer)
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            TimeoutError,
            asyncio.LimitOverrunError,
        ):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _route(self, path: str, writer: asyncio.StreamWriter) -> None:
        ids = self.hub.camera_ids
        if path == "/":
            items = "".join(
                f'<h2>{c}</h2><img src="/cameras/{c}.mjpg" style="max-width:100%">' for c in ids
            )
            body = f"<!doctype html><title>camera preview</title><body>{items}</body>".encode()
            await self._reply(writer, 200, "text/html; charset=utf-8", body)
        elif path == "/health":
            body = json.dumps([h.model_dump(mode="json") for h in self.hub.health()]).encode()
            await self._reply(writer, 200, "application/json", body)
        elif path.startswith("/cameras/") and path.endswith((".jpg", ".mjpg")):
            camera_id = path[len("/cameras/") :].rsplit(".", 1)[0]
            if camera_id not in ids:
                await self._reply(writer, 404, "text/plain", f"no camera {camera_id}\n".encode())
            elif path.endswith(".mjpg"):
                await self._stream(camera_id, writer)
            else:
                jpeg = await asyncio.to_thread(self.hub.render_jpeg, camera_id)
                if jpeg is None:
                    await self._reply(writer, 503, "text/plain", b"no frame yet\n")
                else:
                    await self._reply(writer, 200, "image/jpeg", jpeg)
        else:
            await self._reply(writer, 404, "text/plain", b"not found\n")

    async def _reply(
        self, writer: asyncio.StreamWriter, code: int, ctype: str, body: bytes
    ) -> None:
        reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Unavailable"}
        writer.write(
            f"HTTP/1.1 {code} {reason.get(code, '')}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
            "Connection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()

    async def _stream(self, camera_id: str, writer: asyncio.StreamWriter) -> None:
        writer.write(
            "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nConnection: close\r\n"
            f"Content-Type: multipart/x-mixed-replace; boundary={_BOUNDARY}\r\n\r\n".encode()
        )
        await writer.drain()
        period = 1.0 / self.fps
        seen = -1
        while True:
            version = self.hub.version(camera_id)
            if version != seen:
                jpeg = await asyncio.to_thread(self.hub.render_jpeg, camera_id)
                if jpeg is not None:
                    seen = version
                    writer.write(
                        f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                        f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                        + jpeg
                        + b"\r\n"
                    )
                    await writer.drain()
            await asyncio.sleep(period)
