"""Cameras: configuration, lines and live status from the producers' heartbeats,
and snapshots on request (GraphQL types, queries, the snapshot mutation and
route). Imports :mod:`schemas` and the API's own modules."""

from api.cameras.mutations import CameraMutation
from api.cameras.queries import CameraQuery
from api.cameras.snapshot import snapshot_route
from api.cameras.status import camera_status
from api.cameras.types import Camera, CountingLine

__all__ = [
    "Camera",
    "CameraMutation",
    "CameraQuery",
    "CountingLine",
    "camera_status",
    "snapshot_route",
]
