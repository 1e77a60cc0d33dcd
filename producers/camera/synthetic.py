"""A synthetic camera scene with exact ground truth, for tests, benchmarks and demos.

People cut from a photograph that ships inside the ultralytics wheel
(``assets/bus.jpg``) walk in straight lines across a textured floor; every
walker's box is known in every frame, so the true in/out count of any line
follows from the paths. OpenCV's HOG people detector finds these people, so
the whole producer (capture, detection, ByteTrack, publishing) can be checked
against the truth without model weights or a camera.

``python -m producers.camera.synthetic OUT.mp4`` writes the default scene and
prints a plant configuration that counts it.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from schemas.config import LineConfig

__all__ = ["SyntheticScene", "Walker", "crossing_scene", "person_sprites"]

#: The person in the beige coat in ultralytics' ``bus.jpg`` (x1, y1, x2, y2).
_BUS_PERSON = (40, 385, 250, 915)


def _asset(name: str) -> Path:
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("ultralytics is not installed: its sample images are the sprites")
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / name


def person_sprites() -> list[Any]:
    """Three looks of one photographed person (BGR): as shot, mirrored, darker."""
    import cv2

    path = _asset("bus.jpg")
    image = cv2.imread(str(path))
    if image is None:
        raise FileNotFoundError(f"cannot read {path}")
    x1, y1, x2, y2 = _BUS_PERSON
    person = image[y1:y2, x1:x2]
    return [person, cv2.flip(person, 1), cv2.convertScaleAbs(person, alpha=0.7, beta=10)]


@dataclass(frozen=True)
class Walker:
    """One person walking a straight line at constant speed.

    Attributes:
        sprite: Index into the scene's sprites.
        first: First frame the person is in view.
        last: Last frame the person is in view.
        start: Bottom-centre (feet) at ``first``, pixels.
        end: Bottom-centre at ``last``, pixels.
        height: Box height, pixels.
    """

    sprite: int
    first: int
    last: int
    start: tuple[float, float]
    end: tuple[float, float]
    height: float = 160.0

    def feet(self, k: int) -> tuple[float, float] | None:
        if not self.first <= k <= self.last:
            return None
        f = (k - self.first) / max(self.last - self.first, 1)
        return (
            self.start[0] + f * (self.end[0] - self.start[0]),
            self.start[1] + f * (self.end[1] - self.start[1]),
        )


@dataclass
class SyntheticScene:
    """Walkers over a static, slightly noisy floor.

    Attributes:
        walkers: Who walks where.
        width: Frame width, pixels.
        height: Frame height, pixels.
        fps: Frames per second of the written video.
        frames: Number of frames.
        noise: Standard deviation of per-frame sensor noise, grey levels.
        seed: Seed of the floor texture and noise.
    """

    walkers: Sequence[Walker]
    width: int = 640
    height: int = 480
    fps: float = 10.0
    frames: int = 80
    noise: float = 2.0
    seed: int = 0
    _sprites: list[Any] = field(default_factory=list, repr=False)
    _floor: Any = field(default=None, repr=False)
    _noise: list[Any] = field(default_factory=list, repr=False)

    def _prepare(self) -> None:
        if self._floor is not None:
            return
        import cv2

        rng = np.random.default_rng(self.seed)
        flat = np.full((self.height, self.width, 3), 118, np.uint8)
        floor: Any = cv2.add(flat, rng.integers(0, 24, flat.shape, dtype=np.uint8))
        for _ in range(6):  # some static clutter: crates, marks on the floor
            x, y = int(rng.integers(0, self.width - 40)), int(rng.integers(0, self.height - 40))
            w, h = int(rng.integers(20, 60)), int(rng.integers(10, 40))
            shade = tuple(int(v) for v in rng.integers(60, 200, 3))
            cv2.rectangle(floor, (x, y), (x + w, y + h), shade, -1)
        self._floor = floor
        self._sprites = person_sprites()
        if self.noise > 0:
            # A few noise fields, cycled: as good as fresh noise for a
            # detector, and much cheaper to render.
            shape = floor.shape
            self._noise = [
                np.clip(rng.normal(0, self.noise, shape), -127, 127).astype(np.int16)
                for _ in range(7)
            ]

    def box(self, walker: Walker, k: int) -> tuple[float, float, float, float] | None:
        """The walker's true box in frame ``k`` (pixels), or ``None`` when out of view."""
        self._prepare()
        feet = walker.feet(k)
        if feet is None:
            return None
        sprite = self._sprites[walker.sprite % len(self._sprites)]
        w = walker.height * sprite.shape[1] / sprite.shape[0]
        x, y = feet
        return (x - w / 2, y - walker.height, x + w / 2, y)

    def render(self, k: int) -> Any:
        """Frame ``k`` as a BGR image."""
        import cv2

        self._prepare()
        frame = self._floor.copy()
        for walker in self.walkers:
            b = self.box(walker, k)
            if b is None:
                continue
            sprite = self._sprites[walker.sprite % len(self._sprites)]
            x1, y1 = round(b[0]), round(b[1])
            w, h = round(b[2] - b[0]), round(b[3] - b[1])
            patch = cv2.resize(sprite, (w, h), interpolation=cv2.INTER_AREA)
            # Clip to the frame: people enter and leave at the borders.
            fx1, fy1 = max(x1, 0), max(y1, 0)
            fx2, fy2 = min(x1 + w, self.width), min(y1 + h, self.height)
            if fx1 >= fx2 or fy1 >= fy2:
                continue
            frame[fy1:fy2, fx1:fx2] = patch[fy1 - y1 : fy2 - y1, fx1 - x1 : fx2 - x1]
        if self._noise:
            noisy = frame.astype(np.int16) + self._noise[k % len(self._noise)]
            frame = np.clip(noisy, 0, 255).astype(np.uint8)
        return frame

    def write(self, path: str | Path, *, repeat_each: int = 1) -> Path:
        """Write the scene as a video (``.avi``: MJPG, anything else: mp4v).

        Args:
            path: Output file.
            repeat_each: Write every frame this many times (a camera repeating
                pictures: what the duplicate filter is for). The video's fps
                is multiplied by the same factor so walking speed stays.
        """
        import cv2

        path = Path(path)
        codec = "MJPG" if path.suffix.lower() == ".avi" else "mp4v"
        writer = cv2.VideoWriter(
            str(path),
            cv2.VideoWriter.fourcc(*codec),
            self.fps * repeat_each,
            (self.width, self.height),
        )
        if not writer.isOpened():
            raise OSError(f"cannot write video {path} with codec {codec}")
        try:
            for k in range(self.frames):
                frame = self.render(k)
                for _ in range(repeat_each):
                    writer.write(frame)
        finally:
            writer.release()
        return path

    def truth(self, line: LineConfig) -> dict[str, int]:
        """True ``{"in": n, "out": m}`` of a line: walkers whose feet path crosses it."""
        (ax, ay), (bx, by) = line.points
        counts = {"in": 0, "out": 0}
        for w in self.walkers:
            p, q = w.start, w.end

            def side(pt: tuple[float, float]) -> float:
                return (bx - ax) * (pt[1] - ay) - (by - ay) * (pt[0] - ax)

            def orient(
                a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]
            ) -> float:
                return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

            sp, sq = side(p), side(q)
            if sp * sq >= 0:
                continue
            # The feet path must meet the drawn segment, not only its extension.
            o1, o2 = orient(p, q, (ax, ay)), orient(p, q, (bx, by))
            if o1 * o2 > 0:
                continue
            direction = "in" if sq > 0 else "out"
            if line.allowed in ("both", direction):
                counts[direction] += 1
        return counts


def crossing_scene(
    width: int = 640, height: int = 480, fps: float = 10.0, seed: int = 0
) -> tuple[SyntheticScene, LineConfig]:
    """Three people across a horizontal door line: two walk in (down), one out (up).

    People are a third of the frame tall (160 pixels at 480), which the HOG
    detector finds reliably.

    Returns:
        The scene (80 frames at ``fps``) and its line, from zone ``outside``
        to ``room``, across the middle of the frame.
    """
    top, bottom, tall = height * 0.35, height * 0.96, height / 3
    walkers = (
        Walker(0, 0, 34, start=(width * 0.25, top), end=(width * 0.25, bottom), height=tall),
        Walker(1, 10, 44, start=(width * 0.73, bottom), end=(width * 0.73, top), height=tall),
        Walker(2, 40, 74, start=(width * 0.47, top), end=(width * 0.47, bottom), height=tall),
    )
    line = LineConfig(
        id="door",
        camera_id="cam-synthetic",
        points=((0.0, height / 2), (float(width), height / 2)),
        from_zone="outside",
        to_zone="room",
    )
    return SyntheticScene(walkers, width, height, fps, frames=80, seed=seed), line


def main(argv: list[str] | None = None) -> None:
    """Command line: write the default scene and print a plant configuration for it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", help="video file to write (.mp4 or .avi)")
    parser.add_argument("--fps", type=float, default=10.0)
    args = parser.parse_args(argv)
    scene, line = crossing_scene(fps=args.fps)
    path = scene.write(args.out)
    (ax, ay), (bx, by) = line.points
    print(
        f"""# wrote {path}: {scene.frames} frames; truth for line door: {scene.truth(line)}
[[zones]]
id = "room"

[[cameras]]
id = "cam-synthetic"
width = {scene.width}
height = {scene.height}
source = "{path.resolve()}"

[[lines]]
id = "door"
camera_id = "cam-synthetic"
points = [[{ax}, {ay}], [{bx}, {by}]]
from_zone = "outside"
to_zone = "room\""""
    )


if __name__ == "__main__":
    main()
