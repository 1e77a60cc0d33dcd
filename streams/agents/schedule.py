"""Clock-driven rules: camera liveness and scheduled resets.

They run whenever the worker's event-time clock ticks
(:mod:`streams.runtime.event_clock`: once the watermark has moved on by a
second of event time, and once a second of wall time from :func:`clock_timer`,
for when nothing arrives at all). Cameras silent for
``camera_offline_after_s`` of event time raise "camera offline"; zones whose
``daily_reset`` local time the watermark has passed get an
``OccupancyReset`` command. Reset ids are deterministic, so every worker (and
every restart) that notices the same reset emits the same event and the zone
applies it once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from schemas.operations import OccupancyReset, reset_id
from streams.app import app, plant, topics
from streams.core.event_time import next_local_time
from streams.runtime.alerting import send_alerts
from streams.runtime.event_clock import clock
from streams.runtime.metrics import events_out

__all__ = ["clock_timer", "on_watermark"]

logger = logging.getLogger(__name__)

_tz = ZoneInfo(plant.timezone)
_resets = {
    z.id: datetime.strptime(z.daily_reset, "%H:%M").time() for z in plant.zones if z.daily_reset
}
_next_reset: dict[str, datetime] = {}
_alerts_out = events_out("schedule", topics.alerts.get_topic_name())
_commands_out = events_out("schedule", topics.commands.get_topic_name())
_deltas_out = events_out("schedule", topics.zone_deltas.get_topic_name())


@clock.rule
async def on_watermark(now: float) -> None:
    """Evaluate the clock-driven rules at watermark ``now`` (UTC seconds)."""
    alerts = clock.liveness.check(now)
    await send_alerts(alerts)
    _alerts_out.inc(len(alerts))
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
            body = command.model_dump_json().encode()
            # commands.v1 is the audit trail. The zone applies the copy on its
            # deltas topic: there it comes after every delta this worker produced
            # from frames before the reset instant (ordering within a partition).
            await topics.commands.send(key=zone_id.encode(), value=body, force=True)
            await topics.zone_deltas.send(key=zone_id.encode(), value=body, force=True)
            _commands_out.inc()
            _deltas_out.inc()
            _next_reset[zone_id] = next_local_time(due, local, _tz)


@app.timer(interval=1.0)
async def clock_timer() -> None:
    await clock.tick(clock.watermark.value(clock.wall()))
