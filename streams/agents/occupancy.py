"""zone-deltas.v1 -> occupancy.v1: fold each zone's deltas into its occupancy.

Keyed by zone, so one partition owns a zone and applies its deltas in order.
Duplicates (same crossing id) are ignored by the reducer. The change is
acknowledged by Kafka before the table records it, as in the crossings agent.
"""

from __future__ import annotations

import logging

from faust import StreamT
from pydantic import ValidationError

from schemas.events import ZoneDelta
from streams.agents.deadletter import dead_letter
from streams.app import app, plant, topics
from streams.occupancy import ZoneOccupancy
from streams.tables.state import zone_state

__all__ = ["apply_zone_deltas"]

logger = logging.getLogger(__name__)

_zones = {z.id for z in plant.zones}
_reducers: dict[str, ZoneOccupancy] = {}


def _reducer_for(zone_id: str) -> ZoneOccupancy:
    stored = zone_state.get(zone_id)
    zone = _reducers.get(zone_id)
    if zone is not None and (stored is None or stored["version"] == zone.version):
        return zone
    zone = ZoneOccupancy.from_state(stored) if stored is not None else ZoneOccupancy(zone_id)
    _reducers[zone_id] = zone
    return zone


@app.agent(topics.zone_deltas)
async def apply_zone_deltas(stream: StreamT[bytes]) -> None:
    async for event in stream.events():
        try:
            delta = ZoneDelta.model_validate_json(event.value)
        except ValidationError as e:
            await dead_letter(event.message, f"invalid ZoneDelta: {e}")
            continue
        if delta.zone_id not in _zones:
            await dead_letter(event.message, f"unknown zone {delta.zone_id!r}")
            continue
        zone = _reducer_for(delta.zone_id)
        change = zone.apply(delta)
        if change is None:
            continue  # redelivered
        if change.clamped:
            logger.warning("zone %s: exit from an empty zone (drift), clamped at 0", zone.zone_id)
        sent = await topics.occupancy.send(
            key=zone.zone_id.encode(), value=change.model_dump_json().encode(), force=True
        )
        await sent
        zone_state[zone.zone_id] = zone.state_dict()
