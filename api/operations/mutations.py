"""Calibration: an ``OccupancyCalibrated`` command on ``commands.v1``.

The API validates (free text with :func:`api.inputs.text`) and publishes; the
zone's partition applies the command in order with its crossings, and the sink
stores it in the ``commands`` audit table.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import strawberry
from graphql import GraphQLError

from api.auth.permissions import BY_DEPRECATION, Operator, recorded_by
from api.inputs import BY_MAX, REASON_MAX, bad_input, text
from api.state import ApiState
from schemas.operations import OccupancyCalibrated

__all__ = ["Calibration", "OperationsMutation"]

MAX_OCCUPANCY = 1_000_000


@strawberry.type(description="A calibration accepted for processing.")
class Calibration:
    id: strawberry.ID
    zone_id: strawberry.ID
    occupancy: int
    at: datetime
    by: str
    reason: str


@strawberry.type
class OperationsMutation:
    @strawberry.mutation(
        description="Set a zone's occupancy to a counted value (operator).",
        permission_classes=[Operator],
    )
    async def calibrate_zone(
        self,
        info: strawberry.Info,
        zone_id: strawberry.ID,
        occupancy: int,
        reason: str,
        at: datetime | None = None,
        by: Annotated[str | None, strawberry.argument(deprecation_reason=BY_DEPRECATION)] = None,
    ) -> Calibration | None:
        state: ApiState = info.context["state"]
        by = recorded_by(info, by, BY_MAX)
        reason = text(reason, "reason", max_length=REASON_MAX, multiline=True, hint="why")
        if zone_id not in {z.id for z in state.plant.zones}:
            raise GraphQLError(f"unknown zone {zone_id!r}", extensions={"code": "NOT_FOUND"})
        if not 0 <= occupancy <= MAX_OCCUPANCY:
            raise bad_input(
                f"occupancy must be between 0 and {MAX_OCCUPANCY}, got {occupancy}", "occupancy"
            )
        now = datetime.now(UTC)
        if at is None:
            at = now
        elif at.tzinfo is None:
            raise bad_input("at must carry a time zone, e.g. 2026-03-01T08:00:00Z", "at")
        elif at > now:
            raise bad_input("at lies in the future", "at")
        command = OccupancyCalibrated(
            id=uuid.uuid4(),
            zone_id=str(zone_id),
            occupancy=occupancy,
            at=at,
            by=by,
            reason=reason,
        )
        await state.publish(state.settings.topic("commands"), command.zone_id, command)
        return Calibration(
            id=strawberry.ID(str(command.id)),
            zone_id=strawberry.ID(command.zone_id),
            occupancy=command.occupancy,
            at=command.at,
            by=command.by,
            reason=command.reason,
        )
