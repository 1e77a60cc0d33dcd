"""Count a MOTChallenge tracking file against counting lines, offline.

An installer records tracks (any tracker's output in MOTChallenge text form,
see :mod:`producers.mot`), draws candidate lines, and checks what each would
have counted before going live. The counting is this project's core, exactly
as the stream processors run it; nothing is published anywhere.

Lines come from the command line::

    python -m producers.count_mot tracks.txt --line door=100,300,500,300

(``ID=X1,Y1,X2,Y2`` in pixels; "in" is crossing from the left-hand to the
right-hand side of the first point -> second point as drawn, y down), or from
a TOML file with ``--lines FILE``: either a plant configuration (then
``--camera`` picks that camera's lines) or just ``[[lines]]`` tables with the
fields of ``LineConfig`` (``camera_id``, ``from_zone`` and ``to_zone`` may be
left out). The per-line counts are printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from producers.mot import read_mot
from schemas.config import LineConfig, PlantConfig
from streams.core.counting import LineCounter

__all__ = ["count", "main", "parse_line"]

CAMERA = "mot"
START = datetime(2000, 1, 1, tzinfo=UTC)  # any fixed origin: only differences matter


def parse_line(spec: str, defaults: dict[str, Any]) -> LineConfig:
    """``ID=X1,Y1,X2,Y2`` -> a line with the given defaults (camera and zones
    default to placeholders: only the geometry matters offline)."""
    try:
        line_id, coords = spec.split("=", 1)
        x1, y1, x2, y2 = (float(v) for v in coords.split(","))
    except ValueError:
        raise ValueError(f"--line {spec!r}: expected ID=X1,Y1,X2,Y2") from None
    fields = {"camera_id": CAMERA, "from_zone": "outside", "to_zone": "inside", **defaults}
    return LineConfig.model_validate({**fields, "id": line_id, "points": ((x1, y1), (x2, y2))})


def lines_from_toml(path: Path, camera: str | None, defaults: dict[str, Any]) -> list[LineConfig]:
    """Lines from a plant configuration or from bare ``[[lines]]`` tables."""
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    if "zones" in doc or "cameras" in doc:
        plant = PlantConfig.model_validate(doc)
        cameras = [c.id for c in plant.cameras]
        if camera is None:
            if len(cameras) != 1:
                raise ValueError(f"{path}: several cameras ({', '.join(cameras)}); pick --camera")
            camera = cameras[0]
        if camera not in cameras:
            raise ValueError(f"{path}: no camera {camera!r} (known: {', '.join(cameras)})")
        return list(plant.lines_for(camera))
    tables = doc.get("lines")
    if not isinstance(tables, list) or not tables:
        raise ValueError(f"{path}: no [[lines]] tables")
    base = {"camera_id": CAMERA, "from_zone": "outside", "to_zone": "inside", **defaults}
    return [LineConfig.model_validate({**base, **t}) for t in tables]


def count(
    path: str | Path,
    lines: Iterable[LineConfig],
    fps: float,
    *,
    width: int = 16384,
    height: int = 16384,
    events: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """Per-line ``{"in": n, "out": n}`` of the tracks in a MOT file.

    Args:
        path: The MOTChallenge text file.
        lines: The lines to count against (their ``camera_id`` is ignored).
        fps: Frame rate of the recording: the core's time windows (track
            expiry, id-switch tolerance) are in seconds.
        width: Frame width, pixels: only used to validate the boxes.
        height: Frame height, pixels: only used to validate the boxes.
        events: Also list every crossing (line, track, direction, frame).
        **options: Keyword options of :class:`streams.core.counting.LineCounter`.
    """
    lines = [ln.model_copy(update={"camera_id": CAMERA}) for ln in lines]
    counter = LineCounter(CAMERA, lines, "offline", **options)
    per_line = {ln.id: {"in": 0, "out": 0} for ln in lines}
    crossings = []
    frames = 0
    track_ids: set[int] = set()
    for frame in read_mot(path, CAMERA, width, height, fps=fps, start=START):
        frames += 1
        track_ids.update(t.id for t in frame.tracks)
        for e in counter.trigger(frame):
            per_line[e.line_id][e.direction] += 1
            if events:
                crossings.append(
                    {
                        "line": e.line_id,
                        "track": e.track_id,
                        "direction": e.direction,
                        "frame": e.frame_seq,
                    }
                )
    result: dict[str, Any] = {"lines": per_line, "frames": frames, "tracks": len(track_ids)}
    if events:
        result["crossings"] = crossings
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line; prints JSON, returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m producers.count_mot",
        description="Count a MOTChallenge tracking file against lines; print JSON.",
    )
    parser.add_argument("path", help="MOTChallenge text file (frame,id,x,y,w,h,conf,...)")
    parser.add_argument(
        "--line", action="append", default=[], metavar="ID=X1,Y1,X2,Y2", help="a line (repeat)"
    )
    parser.add_argument("--lines", type=Path, help="TOML file with [[lines]] or a plant config")
    parser.add_argument("--camera", help="camera of a plant config whose lines to use")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate (default 30)")
    parser.add_argument("--width", type=int, default=16384, help="frame width, pixels")
    parser.add_argument("--height", type=int, default=16384, help="frame height, pixels")
    parser.add_argument(
        "--anchor",
        default="bottom_center",
        choices=["bottom_center", "center", "top_center", "bottom_left", "bottom_right"],
        help="box point that must cross (--line lines)",
    )
    parser.add_argument("--min-distance", type=float, default=6.0, help="hysteresis, pixels")
    parser.add_argument("--min-frames", type=int, default=1, help="hysteresis, frames")
    parser.add_argument("--allowed", choices=["both", "in", "out"], default="both")
    parser.add_argument("--from-zone", default="outside", help="zone an 'in' crossing leaves")
    parser.add_argument("--to-zone", default="inside", help="zone an 'in' crossing enters")
    parser.add_argument("--extend", action="store_true", help="count beyond the drawn ends")
    parser.add_argument("--ttl", type=float, default=10.0, help="track expiry, seconds")
    parser.add_argument(
        "--id-switch-s",
        type=float,
        default=1.5,
        help="id-switch tolerance window, seconds; 0 turns it off",
    )
    parser.add_argument("--events", action="store_true", help="also list every crossing")
    args = parser.parse_args(argv)
    defaults: dict[str, Any] = {
        "camera_id": CAMERA,
        "from_zone": args.from_zone,
        "to_zone": args.to_zone,
        "allowed": args.allowed,
        "anchor": args.anchor,
        "min_distance_px": args.min_distance,
        "min_frames": args.min_frames,
    }
    try:
        lines = [parse_line(spec, defaults) for spec in args.line]
        if args.lines is not None:
            lines += lines_from_toml(args.lines, args.camera, defaults)
        if not lines:
            parser.error("give at least one --line or a --lines file")
        ids = [ln.id for ln in lines]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate line ids: {sorted({i for i in ids if ids.count(i) > 1})}")
        result = count(
            args.path,
            lines,
            args.fps,
            width=args.width,
            height=args.height,
            events=args.events,
            track_ttl_s=args.ttl,
            extend_lines=args.extend,
            id_switch_s=args.id_switch_s,
        )
    except (OSError, ValueError) as e:  # pydantic's ValidationError is a ValueError
        print(f"count_mot: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
