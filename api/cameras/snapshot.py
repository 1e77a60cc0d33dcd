"""``GET /cameras/<id>/snapshot.jpg``: the camera's newest snapshot, as the live hub holds it.

404 with a reason when there is none (never asked for, no producer with
snapshots on answered, or it answered with an error).
"""

from __future__ import annotations

import base64

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from api.auth.http import refused
from api.state import ApiState

__all__ = ["snapshot_route"]


def snapshot_route(state_ref: dict[str, ApiState]) -> Route:
    async def snapshot(request: Request) -> Response:
        state = state_ref.get("state")
        if (refusal := await refused(state, request)) is not None:
            return refusal
        assert state is not None
        camera_id = request.path_params["camera_id"]
        if camera_id not in {c.id for c in state.plant.cameras}:
            return PlainTextResponse(f"unknown camera {camera_id!r}", status_code=404)
        snap = state.hub.snapshots.get(camera_id)
        if snap is None:
            return PlainTextResponse(
                f"no snapshot of {camera_id}: ask with the requestSnapshot mutation "
                "(its producer must run with --snapshots)",
                status_code=404,
            )
        if snap.jpeg_base64 is None:
            return PlainTextResponse(f"no picture: {snap.error}", status_code=404)
        return Response(
            base64.b64decode(snap.jpeg_base64),
            media_type=snap.content_type,
            headers={"cache-control": "no-store", "x-snapshot-request-id": str(snap.request_id)},
        )

    return Route("/cameras/{camera_id}/snapshot.jpg", snapshot)
