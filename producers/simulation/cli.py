"""Command line of the scene simulator: ``python -m producers.simulation`` (``occupancy-simulate``).

Plays seeded scenes of the plant (:class:`~producers.simulation.scene.Scene`)
to ``detections.v1``, at real-time pace with ``--realtime``, new scenes
forever with ``--loop``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import UTC, datetime

from producers.publish import publish
from producers.simulation.scene import Scene
from schemas.config import load_plant_config
from streams import logs

__all__ = ["main"]

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m producers.simulation --config config/demo-plant.toml``."""
    from streams.settings import Settings

    settings = Settings()
    parser = argparse.ArgumentParser(description="Publish a simulated scene to Kafka.")
    parser.add_argument("--config", default=settings.plant_config)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--stay-fraction", type=float, default=0.2)
    parser.add_argument("--realtime", action="store_true", help="pace frames at capture time")
    parser.add_argument("--loop", action="store_true", help="play new scenes forever")
    args = parser.parse_args(argv)
    logs.configure(logging.INFO)  # JSON lines unless stderr is a terminal (OCC_LOG_FORMAT)
    plant = load_plant_config(args.config)
    seed = args.seed
    while True:
        start = datetime.now(UTC)
        scene = Scene(
            plant,
            people=args.people,
            seed=seed,
            fps=args.fps,
            stay_fraction=args.stay_fraction,
            start=start,
        )
        logger.info(
            "scene seed=%d: %d people, %d crossings over %.0f s; truth %s",
            seed,
            args.people,
            scene.truth.crossings,
            scene.duration,
            scene.truth.zones,
        )
        n = asyncio.run(
            publish(
                scene.frames(),
                settings.kafka_bootstrap_servers,
                settings.topic("detections"),
                args.realtime,
                start,
                health_topic=settings.topic("camera-health"),
                source=f"simulation://seed={seed}",
                final_status="online" if args.loop else "ended",
            )
        )
        logger.info("published %d frames", n)
        if not args.loop:
            break
        seed += 1
