"""Configuration models: cameras, counting lines and zones of one plant.

A line belongs to one camera and separates two zones. Crossing it "in" moves a
person from ``from_zone`` to ``to_zone``; "out" moves them back. The special
zone :data:`OUTSIDE` is everything beyond the plant and is never counted.
Zones nest through ``parent``: a room inside a floor inside the facility.

Geometry is in the camera's pixels (origin top-left, y down). The side a line
calls "in" is fixed by the order of its two points: walking from ``points[0]``
to ``points[1]``, "in" is crossing from the left-hand side to the right-hand
side *as drawn on the image*. For a horizontal line drawn left to right, "in"
is walking down the image.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from schemas.events import Identifier

__all__ = [
    "OUTSIDE",
    "Anchor",
    "CameraConfig",
    "LineConfig",
    "PlantConfig",
    "ZoneConfig",
    "load_plant_config",
]

OUTSIDE = "outside"

Anchor = Literal["bottom_center", "center", "top_center", "bottom_left", "bottom_right"]
Point = tuple[float, float]


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ZoneConfig(_Config):
    """A counted area: a room, a floor, the whole facility."""

    id: Identifier
    name: str = ""
    parent: Identifier | None = Field(default=None, description="Enclosing zone, if any.")
    capacity: Annotated[int, Field(gt=0)] | None = Field(
        default=None, description="People allowed at once; alerts use it."
    )
    warning_ratio: float = Field(
        default=0.8, gt=0.0, le=1.0, description="Capacity warning at this share of capacity."
    )
    hysteresis_ratio: float = Field(
        default=0.1,
        ge=0.0,
        le=0.5,
        description="An alert resolves only this share of capacity below its threshold.",
    )
    daily_reset: str | None = Field(
        default=None,
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local time (HH:MM, plant time zone) of a daily reset to zero.",
    )


class CameraConfig(_Config):
    """A camera whose producer publishes ``FrameDetections``."""

    id: Identifier
    name: str = ""
    width: int = Field(default=1280, gt=0, description="Frame width in pixels.")
    height: int = Field(default=720, gt=0, description="Frame height in pixels.")
    source: str = Field(default="", description="Capture URL or file (producer side).")


class LineConfig(_Config):
    """A counting line on one camera between two zones.

    Attributes:
        points: Two end points in pixels; their order fixes which way is "in".
        allowed: ``both``, or ``in``/``out`` for one-way lines (the other
            direction is ignored).
        anchor: The point of a box that must cross the line; bottom-centre is
            where feet touch the floor.
        min_distance_px: How far past the line (pixels, perpendicular) a track
            must get before a crossing is confirmed; guards against jitter.
        min_frames: How many consecutive frames a track must be seen that far
            past the line before the crossing is confirmed.
    """

    id: Identifier
    camera_id: Identifier
    points: tuple[Point, Point]
    from_zone: Identifier
    to_zone: Identifier
    allowed: Literal["both", "in", "out"] = "both"
    anchor: Anchor = "bottom_center"
    min_distance_px: float = Field(default=6.0, ge=0.0)
    min_frames: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _check(self) -> LineConfig:
        (x1, y1), (x2, y2) = self.points
        if (x1, y1) == (x2, y2):
            raise ValueError(f"line {self.id}: the two points must differ")
        if self.from_zone == self.to_zone:
            raise ValueError(f"line {self.id}: from_zone and to_zone must differ")
        return self


class PlantConfig(_Config):
    """Everything the counting side needs to know about one plant."""

    timezone: str = Field(default="UTC", description="IANA zone for days and months.")
    camera_offline_after_s: float = Field(
        default=30.0, gt=0, description="A camera silent this long (event time) is offline."
    )
    zones: tuple[ZoneConfig, ...]
    cameras: tuple[CameraConfig, ...]
    lines: tuple[LineConfig, ...]

    @model_validator(mode="after")
    def _check_references(self) -> PlantConfig:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {self.timezone!r}") from e
        zone_ids = [z.id for z in self.zones]
        if OUTSIDE in zone_ids:
            raise ValueError(f"zone id {OUTSIDE!r} is reserved for the world outside the plant")
        for kind, ids in (
            ("zone", zone_ids),
            ("camera", [c.id for c in self.cameras]),
            ("line", [ln.id for ln in self.lines]),
        ):
            dupes = {i for i in ids if ids.count(i) > 1}
            if dupes:
                raise ValueError(f"duplicate {kind} ids: {sorted(dupes)}")
        known = set(zone_ids)
        parents = {z.id: z.parent for z in self.zones}
        for z in self.zones:
            if z.parent is not None and z.parent not in known:
                raise ValueError(f"zone {z.id}: unknown parent {z.parent!r}")
            seen = {z.id}
            p = z.parent
            while p is not None:
                if p in seen:
                    raise ValueError(f"zone {z.id}: parent chain forms a cycle")
                seen.add(p)
                p = parents[p]
        cameras = {c.id for c in self.cameras}
        for ln in self.lines:
            if ln.camera_id not in cameras:
                raise ValueError(f"line {ln.id}: unknown camera {ln.camera_id!r}")
            for zone in (ln.from_zone, ln.to_zone):
                if zone != OUTSIDE and zone not in known:
                    raise ValueError(f"line {ln.id}: unknown zone {zone!r}")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def version(self) -> str:
        """Content hash; stamped on every crossing counted with this configuration."""
        body = self.model_dump_json(exclude={"version"}).encode()
        return hashlib.sha256(body).hexdigest()[:16]

    def lines_for(self, camera_id: str) -> tuple[LineConfig, ...]:
        return tuple(ln for ln in self.lines if ln.camera_id == camera_id)

    def zone(self, zone_id: str) -> ZoneConfig:
        for z in self.zones:
            if z.id == zone_id:
                return z
        raise KeyError(zone_id)


def load_plant_config(path: str | Path) -> PlantConfig:
    """Read a plant configuration from a TOML file (see ``config/demo-plant.toml``)."""
    with open(path, "rb") as f:
        return PlantConfig.model_validate(tomllib.load(f))
