"""zone-deltas.v1 + commands.v1 -> occupancy.v1 and alerts.v1.

Keyed by zone, so one partition owns a zone. Its inputs (deltas and progress
marks from the crossings agent, calibrations, scheduled resets) go to the
zone's :class:`~streams.core.zones.ZoneOccupancy`, which folds them in
event-time order once every camera feeding the zone has passed them: what
this agent publishes (and the sink stores) does not depend on how the
cameras' partitions interleaved. After every settled change the zone's alert
rules run; the changes and alerts are acknowledged by Kafka before the table
records the new state, as in the crossings agent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any

from faust import StreamT
from pydantic import ValidationError

from schemas.events import OccupancyChanged
from schemas.operations import AlertEvent, OccupancyReset
from streams.app import app, graph, plant, settings, topics
from streams.core.alerts import ZoneAlerts
from streams.core.zones import ZoneOccupancy, parse_zone_input
from streams.runtime.alerting import send_alerts
from streams.runtime.deadletter import dead_letter
from streams.runtime.gaps import OffsetGapGuard
from streams.tables.state import zone_state

__all__ = ["apply_zone_inputs"]

logger = logging.getLogger(__name__)

_zones = {z.id: z for z in plant.zones}


class _Zone:
    """A zone's reducer and alert rules, cached; the table is the truth."""

    def __init__(self, zone_id: str, stored: dict[str, Any] | None) -> None:
        sources = graph.sources_of(zone_id)
        stall = settings.settle_stall_s
        self.occupancy = (
            ZoneOccupancy.from_state(stored["occupancy"], sources, stall_after_s=stall)
            if stored
            else ZoneOccupancy(zone_id, sources, stall_after_s=stall)
        )
        self.alerts = ZoneAlerts(_zones[zone_id])
        if stored:
            self.alerts.load_state(stored.get("alerts"))
        #: The dict last written to the table: the cache is valid while the
        #: table still holds this very object (a recovery replaces it).
        self.written: dict[str, Any] | None = stored

    def state_dict(self) -> dict[str, Any]:
        return {"occupancy": self.occupancy.state_dict(), "alerts": self.alerts.state_dict()}


_cache: dict[str, _Zone] = {}
_guard = OffsetGapGuard(app, "apply_zone_inputs")
_deltas_topic = topics.zone_deltas.get_topic_name()


def _zone_for(zone_id: str) -> _Zone:
    stored = zone_state.get(zone_id)
    zone = _cache.get(zone_id)
    if zone is not None and stored is zone.written:
        return zone
    zone = _cache[zone_id] = _Zone(zone_id, stored)
    return zone


def _alerts_for(zone: _Zone, before: int, changes: list[OccupancyChanged]) -> list[AlertEvent]:
    """The alert rules over settled changes, in their order."""
    alerts: list[AlertEvent] = []
    for change in changes:
        if change.cause == "reset":
            alerts += zone.alerts.before_reset(before, change.at.timestamp())
        if change.clamped:
            logger.warning("zone %s: exit from an empty zone (drift), clamped at 0", change.zone_id)
        alerts += zone.alerts.apply(change)
        before = change.occupancy
    return alerts


@app.agent(topics.zone_inputs)
async def apply_zone_inputs(stream: StreamT[bytes]) -> None:
    async for event in stream.events():
        if not await _guard.admit(event.message):
            continue
        try:
            item = parse_zone_input(event.value)
        except ValidationError as e:
            await dead_letter(event.message, f"invalid zone input: {e}")
            continue
        if item.zone_id not in _zones:
            await dead_letter(event.message, f"unknown zone {item.zone_id!r}")
            continue
        if isinstance(item, OccupancyReset) and event.message.topic != _deltas_topic:
            continue  # the audit copy; the ordered copy comes on the deltas topic
        zone = _zone_for(item.zone_id)
        before = zone.occupancy.occupancy
        changes = zone.occupancy.apply(item, wall_now=time.time())
        pending: list[Awaitable[Any]] = [
            await topics.occupancy.send(
                key=c.zone_id.encode(), value=c.model_dump_json().encode(), force=True
            )
            for c in changes
        ]
        pending += await send_alerts(_alerts_for(zone, before, changes))
        if pending:
            await asyncio.gather(*pending)
        zone.written = zone.state_dict()
        zone_state[item.zone_id] = zone.written
