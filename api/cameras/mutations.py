"""Asking a camera for a snapshot: a ``SnapshotRequested`` event on ``snapshot-requests.v1``.

Only a producer started with snapshots on answers (``schemas.snapshots``); the
answer arrives on ``camera-snapshots.v1`` and shows in ``Camera.snapshotAt``
and ``GET /cameras/<id>/snapshot.jpg``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import strawberry
from graphql import GraphQLError

from api.auth.permissions import BY_DEPRECATION, Operator, recorded_by
from api.inputs import BY_MAX
from api.state import ApiState
from schemas.snapshots import SnapshotRequested

__all__ = ["CameraMutation", "SnapshotRequest"]


@strawberry.type(description="A snapshot request, sent to the camera's producer.")
class SnapshotRequest:
    id: strawberry.ID = strawberry.field(
        description="Matches Camera.snapshotRequestId once answered."
    )
    camera_id: strawberry.ID
    at: datetime


@strawberry.type
class CameraMutation:
    @strawberry.mutation(
        description="Ask a camera's producer for its newest frame. Producers answer only "
        "with snapshots on (off by default, for privacy); poll Camera.snapshotRequestId "
        "(operator).",
        permission_classes=[Operator],
    )
    async def request_snapshot(
        self,
        info: strawberry.Info,
        camera_id: strawberry.ID,
        by: Annotated[str | None, strawberry.argument(deprecation_reason=BY_DEPRECATION)] = None,
    ) -> SnapshotRequest | None:
        state: ApiState = info.context["state"]
        by = recorded_by(info, by, BY_MAX)
        if str(camera_id) not in {c.id for c in state.plant.cameras}:
            raise GraphQLError(f"unknown camera {camera_id!r}", extensions={"code": "NOT_FOUND"})
        event = SnapshotRequested(
            id=uuid.uuid4(), camera_id=str(camera_id), at=datetime.now(UTC), by=by
        )
        await state.publish(state.settings.topic("snapshot-requests"), event.camera_id, event)
        return SnapshotRequest(id=strawberry.ID(str(event.id)), camera_id=camera_id, at=event.at)
