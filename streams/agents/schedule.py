"""The worker's event-time clock: camera liveness and scheduled resets.

The crossings agent feeds every frame's capture time (heartbeats included) to
:data:`watermark` and :data:`liveness`, and calls :func:`on_frame` for each.
Whenever the watermark has moved on by a second of event time (and once a
second of wall time, from a timer, for when nothing arrives at all), the rules
run against it: cameras silent for ``camera_offline_after_s`` of event time
raise "camera offline"; zones whose ``daily_reset`` local time the watermark
has passed get an ``OccupancyReset`` command. Driving this by event time keeps
a replay at full speed as correct as live operation. Reset ids are deterministic, so every worker
(and every restart) that notices the same reset emits the same event and the
zone applies it once.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from schemas.operations import OccupancyReset, reset_id
from streams.agents.occupancy import send_alerts
from streams.app import app, plant, settings, topics
from streams.core.alerts import CameraLiveness
from streams.core.event_time import Watermark, next_local_time

__all__ = ["liveness", "on_frame", "on_watermark", "seed", "watermark"]

logger = logging.getLogger(__name__)

watermark = Watermark(lateness_s=settings.allowed_lateness_s, idle_after_s=settings.idle_after_s)
liveness = CameraLiveness(plant.camera_offline_after_s)

_tz = ZoneInfo(plant.timezone)
_resets = {
    z.id: datetime.strptime(z.daily_reset, "%H:%M").time() for z in plant.zones if z.daily_reset
}
_next_reset: dict[str, datetime] = {}
_last_evaluated = 0.0
# camera -> the detections partition its frames came from, for rebalances.
_partition_of: dict[str, int] = {}


def _on_revoked(sender: Any, /, *args: Any, **kwargs: Any) -> None:
    # A revoked partition's cameras now belong to another worker: watching them
    # here would raise "camera offline" alerts that nothing ever resolves.
    revoked = args[0] if args else kwargs.get("revoked", set())
    partitions = {tp.partition for tp in revoked if tp.topic == _detections}
    watermark.forget(partitions)
    cameras = [c for c, p in _partition_of.items() if p in partitions]
    liveness.forget(cameras)
    for c in cameras:
        del _partition_of[c]


_detections = topics.detections.get_topic_name()
app.on_partitions_revoked.connect(_on_revoked)


def seed(camera_id: str, last_time: float, partition: int) -> None:
    """Resume a camera's clock from its stored state (the ``track-state`` table).

    Called by the crossings agent the first time this process sees a camera: the
    watermark starts where the camera's frames had got to, not at its first
    frame after a restart, and a camera that went silent before the restart and
    speaks again after it raises (and resolves) its outage in hindsight.
    """
    if camera_id in liveness.last_seen or last_time <= 0.0:
        return
    liveness.last_seen[camera_id] = last_time
    watermark.observe(last_time, time.time(), partition)


async def on_frame(camera_id: str, captured_at: float, partition: int) -> None:
    """Account for one frame: advance the clock, evaluate rules, mark the camera seen."""
    wall = time.time()
    _partition_of[camera_id] = partition
    watermark.observe(captured_at, wall, partition)
    wm = watermark.value(wall)
    if wm - _last_evaluated >= 1.0:
        # Before marking the camera seen: a camera whose frames resume after a
        # gap was silent over the gap, and this is the moment to notice.
        await on_watermark(wm)
    back_online = liveness.seen(camera_id, captured_at)
    if back_online:
        await send_alerts(back_online)


async def on_watermark(now: float) -> None:
    """Evaluate the clock-driven rules at watermark ``now`` (UTC seconds)."""
    global _last_evaluated
    if now <= 0.0:
        return  # no event seen yet: no notion of time
    _last_evaluated = max(_last_evaluated, now)
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
            body = command.model_dump_json().encode()
            # commands.v1 is the audit trail. The zone applies the copy on its
            # deltas topic: there it comes after every delta this worker produced
            # from frames before the reset instant (ordering within a partition).
            await topics.commands.send(key=zone_id.encode(), value=body, force=True)
            await topics.zone_deltas.send(key=zone_id.encode(), value=body, force=True)
            _next_reset[zone_id] = next_local_time(due, local, _tz)


@app.timer(interval=1.0)
async def clock_timer() -> None:
    await on_watermark(watermark.value(time.time()))
