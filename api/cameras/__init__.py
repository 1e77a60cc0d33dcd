"""Cameras: configuration, lines and live status from the producers' heartbeats
(GraphQL types and queries). Imports :mod:`schemas` and the API's own modules."""

from api.cameras.queries import CameraQuery
from api.cameras.status import camera_status
from api.cameras.types import Camera, CountingLine

__all__ = ["Camera", "CameraQuery", "CountingLine", "camera_status"]
