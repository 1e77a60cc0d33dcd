"""Camera producer benchmark: the producer against ultralytics' own tracking loop.

Run with ``.venv/bin/python -m tests.bench.bench_producer`` (a few minutes on
2 CPU cores). Everything runs in one process on one synthetic video, so the
ratios hold on a noisy machine:

1. *ultralytics' loop*: the loop of ultralytics' tracking docs, ``cap.read()``
   then ``model.track(frame, persist=True, classes=[0])`` per frame, ByteTrack.
2. *the producer*, YOLO: capture thread, frame buffer, detection with
   ``model.predict``, the same ByteTrack, ``FrameDetections`` validated, JSON
   encoded and sent to the real Kafka broker (acks=all) and flushed; and the
   same publishing to memory, to show what Kafka costs.
3. *the producer*, HOG: OpenCV's HOG people detector instead of YOLO.

YOLO is ``yolov8n.yaml``: the network without weights (nothing to download),
so the inference cost is the real one while its detections are noise. The
duplicate filter is off and every frame is analysed (``realtime = false``,
no ``max_fps``), as ultralytics' loop does. Rounds alternate between the
loops; the table shows the best round of each (the least disturbed by other
work on the machine) and the median, and the overhead both from the best
rounds and paired round by round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from producers.camera.detection import prepare_ultralytics_env
from producers.camera.producer import CameraProducer
from producers.camera.publisher import KafkaPublisher, MemoryPublisher, Publisher
from producers.camera.settings import CameraSettings
from producers.camera.synthetic import SyntheticScene, Walker
from schemas.config import CameraConfig
from tests.harness import start_services, stop_services


def long_scene(frames: int, width: int = 640, height: int = 480) -> SyntheticScene:
    """People crossing up and down, two at a time, for ``frames`` frames at 10 fps."""
    walkers = []
    tall = height / 3
    for i, first in enumerate(range(0, frames, 15)):
        x = width * (0.2 + 0.6 * ((i * 0.37) % 1.0))
        down = i % 2 == 0
        top, bottom = height * 0.35, height * 0.96
        walkers.append(
            Walker(
                i % 3,
                first,
                first + 30,
                start=(x, top if down else bottom),
                end=(x, bottom if down else top),
                height=tall,
            )
        )
    return SyntheticScene(walkers, width, height, fps=10.0, frames=frames)


def ultralytics_loop(video: Path, imgsz: int) -> tuple[int, float]:
    """ultralytics' documented tracking loop; returns (frames, seconds)."""
    import cv2
    from ultralytics import YOLO

    model = YOLO("yolov8n.yaml", task="detect")
    cap = cv2.VideoCapture(str(video))
    ok, first = cap.read()
    assert ok
    model.track(first, persist=True, classes=[0], imgsz=imgsz, verbose=False)  # warm-up
    model.predictor.trackers[0].reset()  # type: ignore[union-attr]
    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
    n = 0
    started = time.perf_counter()
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        model.track(frame, persist=True, classes=[0], imgsz=imgsz, verbose=False)
        n += 1
    elapsed = time.perf_counter() - started
    cap.release()
    return n, elapsed


async def producer_run(
    video: Path, settings: CameraSettings, publisher: Publisher, width: int, height: int
) -> tuple[int, float]:
    """One producer over the whole video; returns (frames published, seconds)."""
    import cv2

    camera = CameraConfig(id="cam-bench", width=width, height=height, source=str(video))
    producer = CameraProducer(camera, settings, health_interval_s=5.0)
    cap = cv2.VideoCapture(str(video))
    ok, first = cap.read()
    cap.release()
    assert ok
    producer.detector.detect(first)  # warm-up, as for ultralytics' loop
    await publisher.start()
    stop = asyncio.Event()
    started = time.perf_counter()
    status = await producer.run(publisher, stop)
    await publisher.flush()
    elapsed = time.perf_counter() - started
    await publisher.stop()
    assert status == "ended", status
    return producer.health.frames_published, elapsed


async def create_topics(bootstrap: str, prefix: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(f"{prefix}{t}.v1", 1, 1) for t in ("detections", "camera-health")]
        )
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, prefix: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([f"{prefix}{t}.v1" for t in ("detections", "camera-health")])
    finally:
        await admin.close()


def machine() -> str:
    import cv2
    import torch
    import ultralytics

    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} cores, CPU only (torch threads {torch.get_num_threads()}); "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"ultralytics {ultralytics.__version__}, OpenCV {cv2.__version__}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, default=150, help="frames in the video")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each YOLO loop")
    parser.add_argument("--imgsz", type=int, default=640)
    args = parser.parse_args(argv)
    prepare_ultralytics_env()

    services, started = start_services()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            scene = long_scene(args.frames)
            video = scene.write(Path(tmp) / "bench.mp4")
            prefix = f"bench{uuid.uuid4().hex[:8]}."
            asyncio.run(create_topics(services.bootstrap, prefix))
            yolo = CameraSettings(
                detector="yolo",
                weights="yolov8n.yaml",
                imgsz=args.imgsz,
                realtime=False,
                max_fps=None,
                duplicate_threshold=0.0,
            )
            hog = yolo.model_copy(update={"detector": "hog", "weights": None})
            results: dict[str, list[tuple[int, float]]] = {}

            def record(name: str, outcome: tuple[int, float]) -> None:
                n, s = outcome
                results.setdefault(name, []).append(outcome)
                print(f"  {name}: {n} frames in {s:.2f} s = {n / s:.2f} frames/s", flush=True)

            def kafka() -> KafkaPublisher:
                return KafkaPublisher(
                    services.bootstrap, f"{prefix}detections.v1", f"{prefix}camera-health.v1"
                )

            w, h = scene.width, scene.height
            for r in range(args.rounds):
                print(f"round {r + 1}/{args.rounds}", flush=True)
                record("ultralytics model.track loop", ultralytics_loop(video, args.imgsz))
                record(
                    "producer, YOLO -> Kafka", asyncio.run(producer_run(video, yolo, kafka(), w, h))
                )
                record(
                    "producer, YOLO -> memory",
                    asyncio.run(producer_run(video, yolo, MemoryPublisher(), w, h)),
                )
            record("producer, HOG -> Kafka", asyncio.run(producer_run(video, hog, kafka(), w, h)))
            asyncio.run(delete_topics(services.bootstrap, prefix))
    finally:
        if os.environ.get("OCC_KEEP_SERVICES") != "1":
            stop_services(started)

    def rates(name: str) -> list[float]:
        return [n / s for n, s in results[name]]

    base = max(rates("ultralytics model.track loop"))
    print()
    print(f"Machine: {machine()}")
    print(
        f"Video: {args.frames} frames {w}x{h}, synthetic people; YOLO = yolov8n.yaml "
        f"(untrained), imgsz {args.imgsz}; {args.rounds} rounds, loops alternating."
    )
    print()
    print("| loop | frames/s, best round | frames/s, median | vs ultralytics loop (best) |")
    print("|---|---:|---:|---:|")
    for name in results:
        fps = max(rates(name))
        if name.startswith("ultralytics"):
            rel = "—"
        elif "HOG" in name:
            rel = "(other detector)"
        else:
            rel = f"{(base / fps - 1) * 100:+.1f}%"
        print(f"| {name} | {fps:.2f} | {statistics.median(rates(name)):.2f} | {rel} |")
    # Paired by round: each producer run against the ultralytics run just before it,
    # which cancels most of the drift of a shared machine.
    paired = [
        (b / p - 1) * 100
        for b, p in zip(
            rates("ultralytics model.track loop"), rates("producer, YOLO -> Kafka"), strict=True
        )
    ]
    overhead = (base / max(rates("producer, YOLO -> Kafka")) - 1) * 100
    print()
    print(
        f"Producer overhead (YOLO -> Kafka vs model.track loop): best {overhead:+.1f}%, "
        f"per round {', '.join(f'{x:+.1f}%' for x in paired)} (goal <= 5%; negative = faster)"
    )


if __name__ == "__main__":
    main()
