"""alerts.v1 -> webhook and e-mail (optional; see ``streams.notifiers``)."""

from __future__ import annotations

import logging

import orjson
from faust import StreamT
from pydantic import ValidationError

from schemas.operations import AlertRaised, AlertResolved
from streams.app import app, settings, topics
from streams.notifiers import Notifier, NotifierConfig
from streams.runtime.metrics import events_in

__all__ = ["notifier", "notify_alerts"]

logger = logging.getLogger(__name__)

notifier = Notifier(
    NotifierConfig(
        webhook_url=settings.alert_webhook_url,
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_from=settings.smtp_from,
        smtp_to=tuple(a.strip() for a in settings.smtp_to.split(",") if a.strip()),
        retries=settings.notify_retries,
    )
)


@app.task
async def start_notifier() -> None:
    notifier.start()


@app.agent(topics.alerts)
async def notify_alerts(stream: StreamT[bytes]) -> None:
    taken = events_in("notify_alerts")  # alerts are few: one at a time
    async for raw in stream:
        taken.inc()
        try:
            kind = orjson.loads(raw).get("type")
            model = AlertRaised if kind == "AlertRaised" else AlertResolved
            notifier.offer(model.model_validate_json(raw))
        except (orjson.JSONDecodeError, AttributeError, ValidationError) as e:
            # The sink dead-letters unreadable alerts; here we only skip them.
            logger.warning("not notifying an unreadable alert: %s", e)
