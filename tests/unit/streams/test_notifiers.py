"""Notifications against real local receivers (HTTP and SMTP on loopback)."""

from __future__ import annotations

import asyncio
import socketserver
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

from schemas.operations import AlertRaised
from streams.notifiers import Notifier, NotifierConfig


def alert(n: int = 0) -> AlertRaised:
    aid = uuid.uuid4()
    return AlertRaised(
        id=aid,
        alert_id=aid,
        kind="capacity_exceeded",
        severity="critical",
        subject_type="zone",
        subject_id=f"zone-{n}",
        message="over capacity",
        at=datetime(2026, 3, 1, tzinfo=UTC),
    )


class FlakyHook(BaseHTTPRequestHandler):
    failures_left = 2
    bodies: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        if FlakyHook.failures_left > 0:
            FlakyHook.failures_left -= 1
            self.send_response(500)
        else:
            FlakyHook.bodies.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def serve(server: socketserver.BaseServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


async def test_webhook_is_retried_until_the_receiver_accepts():
    server = HTTPServer(("127.0.0.1", 0), FlakyHook)
    serve(server)
    try:
        config = NotifierConfig(
            webhook_url=f"http://127.0.0.1:{server.server_port}/hook", backoff_s=0.01
        )
        notifier = Notifier(config)
        notifier.start()
        sent = alert()
        notifier.offer(sent)
        await asyncio.wait_for(notifier.drain(), 10)
        await asyncio.sleep(0.1)
        await notifier.stop()
    finally:
        server.shutdown()
    assert FlakyHook.bodies and AlertRaised.model_validate_json(FlakyHook.bodies[0]) == sent
    assert (notifier.sent, notifier.failed) == (1, 0)


async def test_an_unreachable_receiver_never_blocks_and_is_given_up():
    config = NotifierConfig(
        webhook_url="http://127.0.0.1:9/unreachable", retries=2, backoff_s=0.01, max_pending=3
    )
    notifier = Notifier(config)
    for n in range(5):  # before the sender runs: the queue keeps the newest three
        notifier.offer(alert(n))
    assert notifier.dropped == 2
    notifier.start()
    await asyncio.wait_for(notifier.drain(), 10)
    await notifier.stop()
    assert (notifier.sent, notifier.failed) == (0, 3)


class SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive one message."""

    received: list[str] = []

    def handle(self) -> None:
        self.wfile.write(b"220 test\r\n")
        data_mode, lines = False, []
        while line := self.rfile.readline():
            text = line.decode().rstrip("\r\n")
            if data_mode:
                if text == ".":
                    SmtpHandler.received.append("\n".join(lines))
                    data_mode = False
                    self.wfile.write(b"250 ok\r\n")
                else:
                    lines.append(text)
                continue
            verb = text.split(" ")[0].upper()
            if verb == "EHLO":
                self.wfile.write(b"250 test\r\n")
            elif verb == "DATA":
                data_mode = True
                self.wfile.write(b"354 go\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


async def test_email_goes_to_the_relay():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpHandler)
    serve(server)
    try:
        config = NotifierConfig(
            smtp_host="127.0.0.1",
            smtp_port=server.server_address[1],
            smtp_to=("shift-lead@plant.example",),
            backoff_s=0.01,
        )
        notifier = Notifier(config)
        notifier.start()
        notifier.offer(alert(7))
        await asyncio.wait_for(notifier.drain(), 10)
        await asyncio.sleep(0.2)
        await notifier.stop()
    finally:
        server.shutdown()
        server.server_close()
    (mail,) = SmtpHandler.received
    assert "Subject: [critical] capacity_exceeded: zone-7" in mail
    assert "To: shift-lead@plant.example" in mail
