"""Command line: ``python -m producers.camera --config PLANT.toml [--camera ID ...]``.

Starts a producer for one camera, several, or every camera of the plant
configuration, publishes to the Kafka of ``KAFKA_BOOTSTRAP_SERVERS`` (topic
prefix ``OCC_TOPIC_PREFIX``), and runs until SIGTERM/SIGINT or, for file
sources, until every file has ended.

Exit status: 0 when every camera ended or was stopped, 1 when one failed
(missing or undecodable file, detector gave up), 2 for a configuration error
(unknown camera, no source, no weights), reported before anything connects.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from pydantic import ValidationError

from producers.camera.errors import ConfigurationError
from producers.camera.settings import ProducerSettings, load_producer_settings
from schemas.config import PlantConfig, load_plant_config
from streams import logs

__all__ = ["main", "parse_args"]

logger = logging.getLogger("producers.camera")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError as e:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT, e.g. 960x540, not {text!r}"
        ) from e


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from streams.settings import Settings

    parser = argparse.ArgumentParser(
        prog="python -m producers.camera",
        description="Capture, detect and track people on cameras; publish to Kafka.",
    )
    parser.add_argument(
        "--config", default=Settings().plant_config, help="plant configuration (TOML)"
    )
    parser.add_argument(
        "--settings", help="producer settings (TOML; see producers/camera/settings.py)"
    )
    parser.add_argument(
        "--camera",
        action="append",
        dest="cameras",
        metavar="ID",
        help="camera to run (repeat for several; default: every camera of the plant)",
    )
    over = parser.add_argument_group("overrides of the producer settings, for every camera run")
    over.add_argument("--source", help="capture source (only with a single --camera)")
    over.add_argument("--detector", choices=["yolo", "hog"])
    over.add_argument("--weights", help="YOLO weights file (never downloaded)")
    over.add_argument("--confidence", type=float)
    over.add_argument("--imgsz", type=int)
    over.add_argument("--device", help="ultralytics device: cpu, 0, mps")
    over.add_argument("--max-fps", type=float, dest="max_fps")
    over.add_argument("--frame-skip", type=int, dest="frame_skip")
    over.add_argument("--resize", type=_size, metavar="WxH")
    over.add_argument(
        "--realtime",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="behave like a live camera (default) or analyse every frame as fast as possible",
    )
    over.add_argument("--loop", action="store_true", default=None, help="replay files for ever")
    parser.add_argument("--health-interval", type=float, dest="health_interval_s")
    parser.add_argument("--preview-port", type=int, help="serve the MJPEG preview on this port")
    parser.add_argument("--preview-host", help="address of the preview (default 127.0.0.1)")
    parser.add_argument(
        "--snapshots",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="answer snapshot requests from the dashboard with the newest frame (off by default)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.source and (not args.cameras or len(args.cameras) != 1):
        parser.error("--source needs exactly one --camera")
    return args


async def _run(args: argparse.Namespace, plant: PlantConfig, settings: ProducerSettings) -> int:
    from producers.camera.producer import build_producers, run_producers
    from producers.camera.publisher import KafkaPublisher
    from streams.settings import Settings

    env = Settings()
    process_over: dict[str, Any] = {
        k: getattr(args, k)
        for k in ("health_interval_s", "preview_port", "preview_host", "snapshots")
        if getattr(args, k) is not None
    }
    if process_over:
        settings = settings.model_copy(update=process_over)
    overrides = {
        k: getattr(args, k)
        for k in (
            "source",
            "detector",
            "weights",
            "confidence",
            "imgsz",
            "device",
            "max_fps",
            "frame_skip",
            "resize",
            "realtime",
            "loop",
        )
    }
    hub = server = None
    if settings.preview_port is not None:
        from producers.camera.preview import PreviewHub, PreviewServer

        hub = PreviewHub()
        server = PreviewServer(
            hub, settings.preview_host, settings.preview_port, settings.preview_fps
        )
    producers = await asyncio.to_thread(
        build_producers, plant, args.cameras, settings, overrides=overrides, preview=hub
    )
    if hub is not None and server is not None:
        hub.health = lambda: [p.health.snapshot(advance=False) for p in producers]
        await server.start()
        print(f"preview: http://{server.host}:{server.port}/", flush=True)
    by_id = {p.camera.id: p for p in producers}

    def on_error(camera_id: str, message: str) -> None:
        if camera_id in by_id:
            by_id[camera_id].health.publish_failed(message)

    publisher = KafkaPublisher(
        env.kafka_bootstrap_servers,
        env.topic("detections"),
        env.topic("camera-health"),
        on_error=on_error,
    )
    logger.info(
        "publishing %s to %s (%s, %s)",
        ", ".join(by_id),
        env.kafka_bootstrap_servers,
        env.topic("detections"),
        env.topic("camera-health"),
    )
    responder = None
    if settings.snapshots:
        from producers.camera.snapshots import SnapshotResponder

        responder = SnapshotResponder(
            env.kafka_bootstrap_servers,
            env.topic("snapshot-requests"),
            env.topic("camera-snapshots"),
            by_id,
        )
        await responder.start()
    try:
        statuses = await run_producers(producers, publisher)
    finally:
        if responder is not None:
            await responder.stop()
        if server is not None:
            await server.stop()
    logger.info("final status: %s", statuses)
    return 1 if "failed" in statuses.values() else 0


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    args = parse_args(argv)
    # JSON lines unless stderr is a terminal (OCC_LOG_FORMAT overrides; streams.logs).
    logs.configure(logging.DEBUG if args.verbose else logging.INFO)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    try:
        plant = load_plant_config(args.config)
    except (OSError, ValueError, ValidationError) as e:
        logger.error("cannot read the plant configuration %s: %s", args.config, e)
        return 2
    try:
        settings = load_producer_settings(args.settings)
        return asyncio.run(_run(args, plant, settings))
    except ConfigurationError as e:
        logger.error("configuration error: %s", e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
