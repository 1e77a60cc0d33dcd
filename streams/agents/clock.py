"""The worker's event-time clock: camera liveness and scheduled resets.

The crossings agent feeds every frame's capture time (heartbeats included) to
:data:`liveness` and :data:`watermark`. A timer compares them once a second:
cameras silent for ``camera_offline_after_s`` of event time raise "camera
offline"; zones whose ``daily_reset`` local time the watermark has passed get
an ``OccupancyReset`` command. Reset ids are deterministic, so every worker
(and every restart) that notices the same reset emits the same event and the
zone applies it once.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from schemas.operations import OccupancyReset, reset_id
from streams.agents.occupancy import send_alerts
from streams.alerts import CameraLiveness
from streams.app import app, plant, settings, topics
from streams.clock import Watermark, next_local_time

__all__ = ["liveness", "tick", "watermark"]

logger = logging.getLogger(__name__)

watermark = Watermark(lateness_s=settings.allowed_lateness_s, idle_after_s=settings.idle_after_s)
liveness = CameraLiveness(plant.camera_offline_after_s)

_tz = ZoneInfo(plant.timezone)
_resets = {
    z.id: datetime.strptime(z.daily_reset, "%H:%M").time() for z in plant.zones if z.daily_reset
}
_next_reset: dict[str, datetime] = {}


async def tick(wall_now: float | None = None) -> None:
    """One evaluation of the clock-driven rules (called by the timer)."""
    now = watermark.value(time.time() if wall_now is None else wall_now)
    if now <= 0.0:
        return  # no event seen yet: no notion of time
    await send_alerts(liveness.check(now))
    wm = datetime.fromtimestamp(now, tz=UTC)
    for zone_id, local in _resets.items():
        due = _next_reset.get(zone_id)
        if due is None:
            # First tick: the next reset after now. Resets missed while the worker
            # was down are not replayed (that would zero counts gathered since).
            due = _next_reset[zone_id] = next_local_time(wm, local, _tz)
        if due <= wm:
            command = OccupancyReset(
                id=reset_id(zone_id, due.timestamp()),
                zone_id=zone_id,
                at=due,
                local_time=local.strftime("%H:%M"),
                timezone=plant.timezone,
            )
            logger.info("scheduled reset of %s at %s", zone_id, due.isoformat())
            await topics.commands.send(
                key=zone_id.encode(), value=command.model_dump_json().encode(), force=True
            )
            _next_reset[zone_id] = next_local_time(due, local, _tz)


@app.timer(interval=1.0)
async def clock_timer() -> None:
    await tick()
