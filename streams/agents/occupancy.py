"""zone-deltas.v1 + commands.v1 -> occupancy.v1 and alerts.v1.

Keyed by zone, so one partition owns a zone and applies its deltas and
commands (calibrations, scheduled resets) in order. Duplicates (same crossing
or command id) are ignored by the reducer. After every change the zone's alert
rules run; the change and its alerts are acknowledged by Kafka before the table
records the new state, as in the crossings agent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

import orjson
from faust import StreamT
from pydantic import ValidationError

from schemas.events import OccupancyChanged, ZoneDelta
from schemas.operations import OccupancyCalibrated, OccupancyReset
from streams.agents.deadletter import dead_letter
from streams.agents.gaps import OffsetGapGuard
from streams.alerts import Alert, ZoneAlerts
from streams.app import app, plant, topics
from streams.occupancy import ZoneOccupancy
from streams.tables.state import zone_state

__all__ = ["apply_zone_inputs", "send_alerts"]

logger = logging.getLogger(__name__)

_zones = {z.id: z for z in plant.zones}
_COMMANDS: dict[str, type[OccupancyCalibrated] | type[OccupancyReset]] = {
    "OccupancyCalibrated": OccupancyCalibrated,
    "OccupancyReset": OccupancyReset,
}


def _occupancy_state(stored: dict[str, Any]) -> dict[str, Any]:
    # Before alerts existed the table held the reducer's state alone.
    occ = stored.get("occupancy")
    return occ if isinstance(occ, dict) else stored


class _Zone:
    """A zone's reducer and alert rules, cached; the table is the truth."""

    def __init__(self, zone_id: str, stored: dict[str, Any] | None) -> None:
        self.occupancy = (
            ZoneOccupancy.from_state(_occupancy_state(stored)) if stored else ZoneOccupancy(zone_id)
        )
        self.alerts = ZoneAlerts(_zones[zone_id])
        if stored:
            self.alerts.load_state(stored.get("alerts"))

    def state_dict(self) -> dict[str, Any]:
        return {"occupancy": self.occupancy.state_dict(), "alerts": self.alerts.state_dict()}


_cache: dict[str, _Zone] = {}
_guard = OffsetGapGuard(app, "apply_zone_inputs")
_deltas_topic = topics.zone_deltas.get_topic_name()


def _zone_for(zone_id: str) -> _Zone:
    stored = zone_state.get(zone_id)
    zone = _cache.get(zone_id)
    if zone is not None and (
        stored is None or _occupancy_state(stored)["version"] == zone.occupancy.version
    ):
        return zone
    zone = _cache[zone_id] = _Zone(zone_id, stored)
    return zone


async def send_alerts(alerts: list[Alert]) -> list[Awaitable[Any]]:
    """Publish alerts keyed by their subject; return the pending sends."""
    return [
        await topics.alerts.send(
            key=a.subject_id.encode(), value=a.model_dump_json().encode(), force=True
        )
        for a in alerts
    ]


def _parse(raw: bytes) -> ZoneDelta | OccupancyCalibrated | OccupancyReset:
    kind = orjson.loads(raw).get("type")
    if kind == "ZoneDelta":
        return ZoneDelta.model_validate_json(raw)
    model = _COMMANDS.get(kind)
    if model is None:
        raise ValueError(f"unknown event type {kind!r}")
    return model.model_validate_json(raw)


@app.agent(topics.zone_inputs)
async def apply_zone_inputs(stream: StreamT[bytes]) -> None:
    async for event in stream.events():
        if not await _guard.admit(event.message):
            continue
        try:
            item = _parse(event.value)
        except (ValidationError, ValueError, AttributeError, orjson.JSONDecodeError) as e:
            await dead_letter(event.message, f"invalid zone input: {e}")
            continue
        if item.zone_id not in _zones:
            await dead_letter(event.message, f"unknown zone {item.zone_id!r}")
            continue
        if isinstance(item, OccupancyReset) and event.message.topic != _deltas_topic:
            continue  # the audit copy; the ordered copy comes on the deltas topic
        zone = _zone_for(item.zone_id)
        alerts: list[Alert] = []
        change: OccupancyChanged | None
        if isinstance(item, ZoneDelta):
            change = zone.occupancy.apply(item)
        else:
            before = zone.occupancy.occupancy
            change = zone.occupancy.apply_command(item)
            if change is not None and isinstance(item, OccupancyReset):
                alerts += zone.alerts.before_reset(before, item.at.timestamp())
        if change is None:
            continue  # redelivered, or an old reset re-emitted
        if change.clamped:
            logger.warning("zone %s: exit from an empty zone (drift), clamped at 0", item.zone_id)
        alerts += zone.alerts.apply(change)
        pending: list[Awaitable[Any]] = [
            await topics.occupancy.send(
                key=item.zone_id.encode(), value=change.model_dump_json().encode(), force=True
            )
        ]
        pending += await send_alerts(alerts)
        await asyncio.gather(*pending)
        zone_state[item.zone_id] = zone.state_dict()
