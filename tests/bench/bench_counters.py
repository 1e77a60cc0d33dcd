"""Scored counting benchmark: this project against supervision and ultralytics.

Run with ``.venv/bin/python tests/bench/bench_counters.py`` (``--help`` for
options) after installing the peers (see ``bench_requirements`` below). Not a
test: pytest does not collect ``tests/bench``.

1. *Accuracy.* Every scenario of :mod:`producers.simulation.scenarios` is fed, frame by
   frame and track by track, to each counter:

   * this project's :class:`streams.core.counting.LineCounter`, with the lines as
     the scenario configures them and default options, and once more with its
     id-switch tolerance turned off, to show what that tolerance does;
   * supervision's ``LineZone`` with its default anchors (the four box
     corners) and with the bottom-centre anchor, one zone per line, its
     ``minimum_crossing_threshold`` set to the line's ``min_frames`` (its only
     hysteresis setting; it has none by distance);
   * ultralytics' ``ObjectCounter``, one per line. It is driven without a
     model or tracker: it is built with ``model="yolo26n.yaml"`` (an
     architecture file shipped in the package, so nothing is downloaded and
     no weights are loaded), and each frame runs exactly the counting part of
     ``ObjectCounter.process``: ``store_tracking_history`` then
     ``count_objects`` for every track, skipping only the detector, the
     tracker and the drawing. Like ultralytics' own tracker, it is never shown
     unconfirmed (``-1``) ids, and ``forget_tracks`` is called for ids unseen
     for 30 frames, as its ByteTrack would retire them.

   Which of a peer's two counts is our "in" is calibrated per line, once, by
   walking a box straight across the middle of the line from our "out" side to
   our "in" side. The error of a counter on a scenario is (over + under) /
   truth, summed per line and direction. "State held" is how many track
   entries a counter still keeps in memory when the scenario ends.

2. *Kernel timing.* The ``busy_floor`` scene (about 50 people in view, four
   lines) is run through ``LineCounter.trigger`` and through four
   ``LineZone.trigger`` calls per frame, in the same process, inputs prebuilt
   for both (``FrameDetections`` for ours, ``sv.Detections`` for theirs),
   best of several repeats. The ratio is reported; nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Ultralytics must never reach the network or write to the home directory.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo-config-"))
os.environ.setdefault("YOLO_VERBOSE", "False")

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from producers.simulation.scenarios import SCENARIOS, Scenario  # noqa: E402
from schemas.config import LineConfig  # noqa: E402
from schemas.events import FrameDetections  # noqa: E402
from streams.core.counting import LineCounter  # noqa: E402

bench_requirements = (
    "supervision",
    "ultralytics-opencv-headless",
    "lap",
    "shapely>=2",
    "opencv-python-headless<5",
    "torch",
    "torchvision",
)

Counts = dict[str, dict[str, int]]


class Counter:
    """One contender: fed every frame, then asked for per-line counts."""

    name = ""

    def feed(self, frame: FrameDetections) -> None:
        raise NotImplementedError

    def counts(self) -> Counts:
        raise NotImplementedError

    def held(self) -> int:
        """Track entries the counter still holds (its memory), summed over lines."""
        raise NotImplementedError


class ProjectCounter(Counter):
    def __init__(self, sc: Scenario, name: str = "this project", **options: Any) -> None:
        self.name = name
        self.counter = LineCounter(sc.camera_id, sc.lines, "bench", **options)
        self._counts: Counts = {ln.id: {"in": 0, "out": 0} for ln in sc.lines}

    def feed(self, frame: FrameDetections) -> None:
        for e in self.counter.trigger(frame):
            self._counts[e.line_id][e.direction] += 1

    def counts(self) -> Counts:
        return self._counts

    def held(self) -> int:
        return len(self.counter.track_ids)


def _calibration_walk(line: LineConfig, steps: int = 16) -> list[tuple[float, float, float, float]]:
    """Boxes (60 x 150 px) whose feet walk from our "out" side to our "in" side."""
    (ax, ay), (bx, by) = line.points
    length = ((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5
    nx, ny = -(by - ay) / length, (bx - ax) / length  # towards our "in" side
    mx, my = (ax + bx) / 2, (ay + by) / 2
    boxes = []
    for k in range(steps):
        d = -320.0 + 640.0 * k / (steps - 1)
        fx, fy = mx + nx * d, my + ny * d
        boxes.append((fx - 30.0, fy - 150.0, fx + 30.0, fy))
    return boxes


def _detections(sv: Any, frame: FrameDetections) -> Any:
    tracks = frame.tracks
    if not tracks:
        return sv.Detections.empty()
    return sv.Detections(
        xyxy=np.array([t.box for t in tracks], dtype=np.float64),
        confidence=np.array([t.confidence for t in tracks], dtype=np.float32),
        class_id=np.array([t.class_id for t in tracks], dtype=np.int64),
        tracker_id=np.array([t.id for t in tracks], dtype=np.int64),
    )


class SupervisionCounter(Counter):
    def __init__(self, sc: Scenario, bottom_center: bool) -> None:
        import supervision as sv

        self.sv = sv
        self.name = "supervision LineZone " + ("(bottom centre)" if bottom_center else "(default)")
        self.lines = sc.lines
        self.zones = [self._zone(ln, bottom_center) for ln in sc.lines]
        # Calibrate: does our "in" walk raise in_count or out_count?
        self.flipped = []
        for ln in sc.lines:
            probe = self._zone(ln, bottom_center)
            for box in _calibration_walk(ln):
                probe.trigger(
                    sv.Detections(
                        xyxy=np.array([box]), class_id=np.array([0]), tracker_id=np.array([1])
                    )
                )
            if (probe.in_count, probe.out_count) not in ((1, 0), (0, 1)):
                raise RuntimeError(f"supervision calibration failed on line {ln.id}")
            self.flipped.append(probe.out_count == 1)

    def _zone(self, line: LineConfig, bottom_center: bool) -> Any:
        sv = self.sv
        (ax, ay), (bx, by) = line.points
        kw: dict[str, Any] = {"minimum_crossing_threshold": line.min_frames}
        if bottom_center:
            kw["triggering_anchors"] = (sv.Position.BOTTOM_CENTER,)
        return sv.LineZone(start=sv.Point(ax, ay), end=sv.Point(bx, by), **kw)

    def feed(self, frame: FrameDetections) -> None:
        detections = _detections(self.sv, frame)
        for zone in self.zones:
            zone.trigger(detections)

    def counts(self) -> Counts:
        out: Counts = {}
        for ln, zone, flipped in zip(self.lines, self.zones, self.flipped, strict=True):
            a, b = zone.in_count, zone.out_count
            out[ln.id] = {"in": b, "out": a} if flipped else {"in": a, "out": b}
        return out

    def held(self) -> int:
        return sum(len(z.crossing_state_history) for z in self.zones)


class UltralyticsCounter(Counter):
    """``ObjectCounter`` fed given tracks (see the module docstring)."""

    name = "ultralytics ObjectCounter"
    FORGET_AFTER_FRAMES = 30  # ByteTrack's default track_buffer at 30 fps

    def __init__(self, sc: Scenario) -> None:
        import logging

        import torch
        from ultralytics.solutions import ObjectCounter
        from ultralytics.utils import LOGGER

        LOGGER.setLevel(logging.ERROR)
        self.torch = torch
        self.lines = sc.lines
        self.counters = [self._counter(ObjectCounter, ln) for ln in sc.lines]
        self.flipped = []
        for ln in sc.lines:
            probe = self._counter(ObjectCounter, ln)
            for box in _calibration_walk(ln):
                self._step(probe, torch.tensor([box]), [1], [0.0])
            if (probe.in_count, probe.out_count) not in ((1, 0), (0, 1)):
                raise RuntimeError(f"ultralytics calibration failed on line {ln.id}")
            self.flipped.append(probe.out_count == 1)
        self.last_seen: dict[int, int] = {}
        self.frame_no = 0

    @staticmethod
    def _counter(cls: Any, line: LineConfig) -> Any:
        region = [tuple(p) for p in line.points]
        c = cls(model="yolo26n.yaml", region=region, show=False, verbose=False)
        c.initialize_region()
        c.region_initialized = True
        return c

    @staticmethod
    def _step(c: Any, boxes: Any, track_ids: list[int], clss: list[float]) -> None:
        # The counting loop of ObjectCounter.process, minus the drawing.
        for box, track_id, cls in zip(boxes, track_ids, clss, strict=True):
            c.store_tracking_history(track_id, box)
            prev_position = None
            if len(c.track_history[track_id]) > 1:
                prev_position = c.track_history[track_id][-2]
            c.count_objects(c.track_history[track_id][-1], track_id, prev_position, int(cls))

    def feed(self, frame: FrameDetections) -> None:
        self.frame_no += 1
        tracks = [t for t in frame.tracks if t.id >= 0]
        if tracks:
            boxes = self.torch.tensor([t.box for t in tracks], dtype=self.torch.float32)
            ids = [t.id for t in tracks]
            clss = [float(t.class_id) for t in tracks]
            for c in self.counters:
                self._step(c, boxes, ids, clss)
            for tid in ids:
                self.last_seen[tid] = self.frame_no
        horizon = self.frame_no - self.FORGET_AFTER_FRAMES
        retired = [tid for tid, seen in self.last_seen.items() if seen < horizon]
        if retired:
            for c in self.counters:
                c.forget_tracks(retired)
            for tid in retired:
                del self.last_seen[tid]

    def counts(self) -> Counts:
        out: Counts = {}
        for ln, c, flipped in zip(self.lines, self.counters, self.flipped, strict=True):
            a, b = c.in_count, c.out_count
            out[ln.id] = {"in": b, "out": a} if flipped else {"in": a, "out": b}
        return out

    def held(self) -> int:
        return sum(len(c.track_history) + len(c.counted_ids) for c in self.counters)


@dataclass
class Score:
    name: str
    counts: Counts
    seconds: float
    held: int

    def totals(self) -> tuple[int, int]:
        return (
            sum(v["in"] for v in self.counts.values()),
            sum(v["out"] for v in self.counts.values()),
        )

    def errors(self, truth: Counts) -> tuple[int, int]:
        over = under = 0
        for line, t in truth.items():
            for d in ("in", "out"):
                c = self.counts.get(line, {}).get(d, 0)
                over += max(0, c - t[d])
                under += max(0, t[d] - c)
        return over, under


def contenders(sc: Scenario, peers: bool) -> list[Counter]:
    out: list[Counter] = [
        ProjectCounter(sc),
        ProjectCounter(sc, "this project, id-switch tolerance off", id_switch_s=0.0),
    ]
    if peers:
        out += [
            SupervisionCounter(sc, bottom_center=False),
            SupervisionCounter(sc, bottom_center=True),
            UltralyticsCounter(sc),
        ]
    return out


def score(sc: Scenario, counters: Iterable[Counter]) -> list[Score]:
    scores = []
    for counter in counters:
        t0 = time.perf_counter()
        for frame in sc.frames():
            counter.feed(frame)
        seconds = time.perf_counter() - t0
        scores.append(Score(counter.name, counter.counts(), seconds, counter.held()))
    return scores


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def table(sc: Scenario, scores: list[Score]) -> str:
    truth_in = sum(v["in"] for v in sc.truth.values())
    truth_out = sum(v["out"] for v in sc.truth.values())
    total = truth_in + truth_out
    rows = [
        f"### {sc.name}: {sc.description}",
        "",
        f"{sc.n_frames} frames at {sc.fps:g} fps ({sc.duration_s / 60:.1f} min), "
        f"{len(sc.people)} people, {len(sc.lines)} line(s).",
        "",
        "| counter | in | out | over | under | error | state held at the end | run time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| ground truth | {truth_in} | {truth_out} | | | | | |",
    ]
    for s in scores:
        i, o = s.totals()
        over, under = s.errors(sc.truth)
        err = (over + under) / total if total else 0.0
        rows.append(
            f"| {s.name} | {i} | {o} | {over} | {under} | {_pct(err)} | {s.held} "
            f"| {s.seconds:.1f} s |"
        )
    return "\n".join(rows)


def summary(results: list[tuple[Scenario, list[Score]]]) -> str:
    names = [s.name for s in results[0][1]]
    rows = [
        "| scenario | truth | " + " | ".join(names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    for sc, scores in results:
        cells = []
        for s in scores:
            over, under = s.errors(sc.truth)
            cells.append(_pct((over + under) / sc.crossings if sc.crossings else 0.0))
        rows.append(f"| {sc.name} | {sc.crossings} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def kernel_timing(repeats: int = 5) -> str:
    """``LineCounter.trigger`` vs four ``LineZone.trigger`` calls per frame."""
    import supervision as sv

    sc = SCENARIOS["busy_floor"]()
    frames = list(sc.frames())[:3000]
    detections = [_detections(sv, f) for f in frames]
    per_frame = sum(len(f.tracks) for f in frames) / len(frames)

    clock = time.perf_counter

    def ours(**options: Any) -> Callable[[], list[float]]:
        def run() -> list[float]:
            counter = LineCounter(sc.camera_id, sc.lines, "bench", **options)
            out = []
            for f in frames:
                t0 = clock()
                counter.trigger(f)
                out.append(clock() - t0)
            return out

        return run

    def theirs() -> list[float]:
        zones = [
            sv.LineZone(start=sv.Point(*ln.points[0]), end=sv.Point(*ln.points[1]))
            for ln in sc.lines
        ]
        out = []
        for d in detections:
            t0 = clock()
            for z in zones:
                z.trigger(d)
            out.append(clock() - t0)
        return out

    counter = LineCounter(sc.camera_id, sc.lines, "bench")
    crossings = sum(len(counter.trigger(f)) for f in frames) / len(frames)
    # Each frame's best time over the repeats, summed: a busy machine slows
    # some frames of some runs, rarely the same frame in every run.
    best: dict[str, list[float]] = {}
    runs: list[tuple[str, Callable[[], list[float]]]] = [
        ("ours", ours()),
        ("ours, no id switches", ours(id_switch_s=0.0)),
        ("theirs", theirs),
    ]
    for _ in range(repeats):  # interleaved, so drift of the machine hits all alike
        for name, fn in runs:
            gc.collect()
            gc.disable()  # as timeit does: a collection is nobody's kernel time
            try:
                times = fn()
            finally:
                gc.enable()
            prev = best.get(name)
            best[name] = times if prev is None else list(map(min, prev, times))
    us = {name: sum(t) / len(frames) * 1e6 for name, t in best.items()}
    return "\n".join(
        [
            "### Crossing kernel, per frame",
            "",
            f"{len(frames)} frames of busy_floor: {per_frame:.1f} tracks and "
            f"{crossings:.2f} crossings per frame, {len(sc.lines)} lines. Each frame's best of "
            f"{repeats} interleaved runs, averaged over the frames. Inputs prebuilt for both "
            "(`FrameDetections`, `sv.Detections`).",
            "",
            "| kernel | per frame | vs LineZone |",
            "|---|---:|---:|",
            f"| this project `LineCounter.trigger` | {us['ours']:.0f} µs | "
            f"{us['theirs'] / us['ours']:.1f}x faster |",
            f"| same, id-switch tolerance off | {us['ours, no id switches']:.0f} µs | "
            f"{us['theirs'] / us['ours, no id switches']:.1f}x faster |",
            f"| supervision `LineZone.trigger` x {len(sc.lines)} | {us['theirs']:.0f} µs | 1x |",
        ]
    )


def machine() -> str:
    import importlib.metadata as md

    def version(pkg: str) -> str:
        try:
            return md.version(pkg)
        except md.PackageNotFoundError:
            return "absent"

    return (
        f"Python {platform.python_version()}, {os.cpu_count()} cores, numpy {version('numpy')}, "
        f"supervision {version('supervision')}, "
        f"ultralytics {version('ultralytics-opencv-headless')}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    parser.add_argument("--no-peers", action="store_true", help="score this project only")
    parser.add_argument("--no-kernel", action="store_true", help="skip the kernel timing")
    parser.add_argument("--repeats", type=int, default=5, help="kernel timing repeats")
    args = parser.parse_args(argv)
    print(f"## Counting benchmark\n\n{machine()}\n")
    results = []
    for name in args.scenario or list(SCENARIOS):
        sc = SCENARIOS[name]()
        scores = score(sc, contenders(sc, peers=not args.no_peers))
        results.append((sc, scores))
        print(table(sc, scores), end="\n\n", flush=True)
    print("### Error per scenario\n")
    print(summary(results), end="\n\n")
    if not args.no_kernel and not args.no_peers:
        print(kernel_timing(args.repeats))


if __name__ == "__main__":
    main()
