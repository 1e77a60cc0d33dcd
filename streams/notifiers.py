"""Alert notifications by webhook and e-mail, off the stream's hot path.

:meth:`Notifier.offer` never blocks and never raises: alerts wait in a
bounded queue (the oldest is dropped, and counted, if a receiver is down for
long), and a background task delivers each with retries and exponential
backoff. A notification that still fails after the last retry is logged and
dropped: the alert itself is safe in ``alerts.v1`` and the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import smtplib
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage

from schemas.operations import AlertEvent, AlertRaised

__all__ = ["Notifier", "NotifierConfig"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotifierConfig:
    """Where notifications go; an empty config sends nothing.

    Attributes:
        webhook_url: POST target for a JSON body (the alert event).
        smtp_host: Mail relay; with ``smtp_to`` set, each alert is an e-mail.
        smtp_port: Relay port.
        smtp_from: Sender address.
        smtp_to: Recipients.
        retries: Attempts per notification and channel.
        backoff_s: First retry delay in seconds, doubled each time (capped at 60).
        timeout_s: Per attempt.
        max_pending: Queue bound.
    """

    webhook_url: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "occupancy@localhost"
    smtp_to: tuple[str, ...] = ()
    retries: int = 5
    backoff_s: float = 1.0
    timeout_s: float = 10.0
    max_pending: int = 1000

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url or (self.smtp_host and self.smtp_to))


@dataclass
class Notifier:
    config: NotifierConfig
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    _queue: deque[AlertEvent] = field(default_factory=deque)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def offer(self, alert: AlertEvent) -> None:
        """Queue an alert for delivery; returns at once."""
        if not self.config.enabled:
            return
        if len(self._queue) >= self.config.max_pending:
            self._queue.popleft()
            self.dropped += 1
            logger.warning("notification queue full: dropped the oldest alert")
        self._queue.append(alert)
        self._wake.set()

    def start(self) -> None:
        if self._task is None and self.config.enabled:
            self._task = asyncio.create_task(self._run(), name="alert-notifier")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def drain(self) -> None:
        """Wait until everything queued was delivered or given up (wrap in a timeout)."""
        if self._queue:
            self._idle.clear()
            await self._idle.wait()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                alert = self._queue[0]
                channels = []
                if self.config.webhook_url:
                    channels.append(("webhook", self._post))
                if self.config.smtp_host and self.config.smtp_to:
                    channels.append(("e-mail", self._mail))
                for name, send in channels:
                    if await self._with_retries(name, send, alert):
                        self.sent += 1
                    else:
                        self.failed += 1
                if self._queue and self._queue[0] is alert:
                    self._queue.popleft()
            self._idle.set()

    async def _with_retries(self, name: str, send: object, alert: AlertEvent) -> bool:
        delay = self.config.backoff_s
        for attempt in range(1, self.config.retries + 1):
            try:
                await asyncio.to_thread(send, alert)  # type: ignore[arg-type]
                return True
            except Exception as e:  # any failure of the receiver: retry, never propagate
                logger.warning(
                    "%s notification of alert %s failed (attempt %d/%d): %s",
                    name,
                    alert.alert_id,
                    attempt,
                    self.config.retries,
                    e,
                )
                if attempt < self.config.retries:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 60.0)
        logger.error("giving up on %s notification of alert %s", name, alert.alert_id)
        return False

    def _post(self, alert: AlertEvent) -> None:
        request = urllib.request.Request(
            self.config.webhook_url,
            data=alert.model_dump_json().encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.config.timeout_s) as response:
            if response.status >= 300:
                raise RuntimeError(f"webhook answered {response.status}")

    def _mail(self, alert: AlertEvent) -> None:
        msg = EmailMessage()
        if isinstance(alert, AlertRaised):
            msg["Subject"] = f"[{alert.severity}] {alert.kind}: {alert.subject_id}"
            body = alert.message
        else:
            msg["Subject"] = f"[resolved] {alert.kind}: {alert.subject_id}"
            body = f"resolved by {alert.by}: {alert.reason}"
        msg["From"] = self.config.smtp_from
        msg["To"] = ", ".join(self.config.smtp_to)
        msg.set_content(f"{body}\n\n{json.dumps(alert.model_dump(mode='json'), indent=2)}\n")
        with smtplib.SMTP(
            self.config.smtp_host, self.config.smtp_port, timeout=self.config.timeout_s
        ) as smtp:
            smtp.send_message(msg)
