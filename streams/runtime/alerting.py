"""Publishing alert events to ``alerts.v1``, keyed by their subject (zone or camera)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from schemas.operations import AlertEvent
from streams.app import topics

__all__ = ["send_alerts"]


async def send_alerts(alerts: list[AlertEvent]) -> list[Awaitable[Any]]:
    """Publish alerts keyed by their subject; return the pending sends."""
    return [
        await topics.alerts.send(
            key=a.subject_id.encode(), value=a.model_dump_json().encode(), force=True
        )
        for a in alerts
    ]
