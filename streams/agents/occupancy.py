"""zone-deltas.v1 + commands.v1 -> occupancy.v1 and alerts.v1.

Keyed by zone, so one partition owns a zone. Its inputs (deltas and progress
marks from the crossings agent, calibrations, scheduled resets) go to the
zone's :class:`~streams.core.zones.ZoneOccupancy`, which folds them in
event-time order once every camera feeding the zone has passed them: what
this agent publishes (and the sink stores) does not depend on how the
cameras' partitions interleaved. After every settled change the zone's alert
rules run.

Inputs are handled in batches (:mod:`streams.runtime.batches`): the changes
and alerts of a batch are acknowledged by Kafka before the table records the
zones' new states, as in the crossings agent: per partition, at most every
``STATE_FLUSH_S`` (:mod:`streams.runtime.recording`), a zone's state once for
all the inputs that changed it meanwhile. Inputs that only moved progress
marks do not need their zone recorded: after a restart the zone waits for
the next marks instead (they follow every batch of the crossings agent and
every ``progress_interval_s``), which can delay a settlement but never
reorder it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from typing import Any, cast

from faust import StreamT
from faust.streams import Stream
from faust.types import EventT
from pydantic import ValidationError

from schemas.events import OccupancyChanged, SourceProgress
from schemas.operations import AlertEvent, OccupancyReset
from streams.app import app, graph, plant, settings, topics
from streams.core.alerts import ZoneAlerts
from streams.core.zones import ZoneOccupancy, parse_zone_input
from streams.runtime.alerting import send_alerts
from streams.runtime.deadletter import dead_letter
from streams.runtime.event_clock import clock
from streams.runtime.gaps import OffsetGapGuard
from streams.runtime.metrics import ZONE_OCCUPANCY, events_out
from streams.runtime.partitioning import partition_of
from streams.runtime.produce import send
from streams.runtime.recording import Recorder
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


#: Inputs per batch, and how long a batch waits to fill (seconds).
BATCH_SIZE = 1000
BATCH_WITHIN_S = 0.005
#: Wall seconds a partition's handled inputs may wait for their zones' states
#: to be recorded (and for their acks); see :mod:`streams.runtime.recording`.
STATE_FLUSH_S = 0.5


def _remember_written(zone_id: str, state: dict[str, Any]) -> None:
    _cache[zone_id].written = state


_recorder = Recorder(app, zone_state, STATE_FLUSH_S, written=_remember_written)
app.on_partitions_revoked.connect(_recorder.on_revoked)

_changes_out = events_out("apply_zone_inputs", topics.occupancy.get_topic_name())
_alerts_out = events_out("apply_zone_inputs", topics.alerts.get_topic_name())
#: zone -> its occupancy_zone_occupancy child, while this worker owns the zone.
_gauges: dict[str, Any] = {}


def _forget_gauges(sender: Any, /, *args: Any, **kwargs: Any) -> None:
    # A revoked zone's next owner reports it; a stale value here would be a second answer.
    revoked = args[0] if args else kwargs.get("revoked", set())
    gone = {tp.partition for tp in revoked if tp.topic == _deltas_topic}
    for zone_id in [z for z in _gauges if partition_of(z.encode(), settings.partitions) in gone]:
        del _gauges[zone_id]
        ZONE_OCCUPANCY.remove(zone_id)


app.on_partitions_revoked.connect(_forget_gauges)


def _set_gauge(zone_id: str, occupancy: int) -> None:
    gauge = _gauges.get(zone_id)
    if gauge is None:
        gauge = _gauges[zone_id] = ZONE_OCCUPANCY.labels(zone=zone_id)
    gauge.set(occupancy)


async def _fold(events: Sequence[EventT]) -> None:
    """Fold one batch of zone inputs (see the module docstring)."""
    clock.heard()
    admitted: list[EventT] = []
    pending: list[Awaitable[Any]] = []
    # The receive clock, not the wall clock: a broker outage is no camera's stall.
    wall = clock.wall()
    # zone -> (its reducer, the last event that changed it materially or None)
    touched: dict[str, tuple[_Zone, EventT | None]] = {}
    n_changes = n_alerts = 0
    for event in events:
        if not await _guard.admit(event.message):
            continue
        admitted.append(event)
        try:
            item = parse_zone_input(event.value)
        except ValidationError as e:
            await dead_letter(event.message, f"invalid zone input: {e}")
            continue
        if isinstance(item, SourceProgress):
            zone_ids = [z for z in item.zone_ids if z in _zones]
            if not zone_ids:
                await dead_letter(event.message, f"unknown zones {item.zone_ids!r}")
                continue
        elif item.zone_id not in _zones:
            await dead_letter(event.message, f"unknown zone {item.zone_id!r}")
            continue
        elif isinstance(item, OccupancyReset) and event.message.topic != _deltas_topic:
            continue  # the audit copy; the ordered copy comes on the deltas topic
        else:
            zone_ids = [item.zone_id]
        for zone_id in zone_ids:
            seen = touched.get(zone_id)
            # Within a batch the reducer runs ahead of the table: use it as it is.
            zone = seen[0] if seen is not None else _zone_for(zone_id)
            before = zone.occupancy.occupancy
            changes = zone.occupancy.apply(item, wall_now=wall)
            n_changes += len(changes)
            for c in changes:
                pending.append(
                    await send(
                        app, topics.occupancy, c.zone_id.encode(), c.model_dump_json().encode()
                    )
                )
            alerts = _alerts_for(zone, before, changes)
            n_alerts += len(alerts)
            pending += await send_alerts(alerts)
            material = changes or not isinstance(item, SourceProgress)
            touched[zone_id] = (zone, event if material else (seen[1] if seen else None))
    if pending:
        await asyncio.gather(*pending)
    _changes_out.inc(n_changes)
    _alerts_out.inc(n_alerts)
    # Outputs acknowledged: the inputs wait in their partitions to be recorded.
    now = asyncio.get_running_loop().time()
    _recorder.handled(admitted, now)
    for zone_id, (zone, last) in touched.items():
        _set_gauge(zone_id, zone.occupancy.occupancy)
        if last is not None:
            _recorder.changed(zone_id, zone.state_dict, last)


@app.agent(topics.zone_inputs)
async def apply_zone_inputs(stream: StreamT[bytes]) -> None:
    await _recorder.consume(
        cast(Stream, stream),
        _fold,
        agent="apply_zone_inputs",
        size=BATCH_SIZE,
        within=BATCH_WITHIN_S,
    )


@app.timer(interval=STATE_FLUSH_S / 2)
async def record_idle_zone_partitions() -> None:
    """Record and ack what waits in partitions that got no inputs lately."""
    await _recorder.record_idle()
