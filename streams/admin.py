"""Create the project's topics with their partitions and retention.

``python -m streams.admin`` is idempotent: existing topics are left alone.
Run before the first worker starts (``deploy/up.sh`` and the tests do).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.settings import Settings

__all__ = ["create_topics", "topic_specs"]

logger = logging.getLogger(__name__)

_WEEK_MS = 7 * 24 * 3600 * 1000


def topic_specs(settings: Settings) -> list[NewTopic]:
    """Every public and internal topic, with the configs that matter."""
    detections_ms = settings.detections_retention_hours * 3600 * 1000
    specs = {
        # Raw detections are the replay source: their retention is the recount horizon.
        "detections": {"retention.ms": str(detections_ms)},
        "crossings": {"retention.ms": str(4 * _WEEK_MS)},
        "zone-deltas": {"retention.ms": str(_WEEK_MS)},
        "occupancy": {"retention.ms": str(4 * _WEEK_MS)},
        "deadletter": {"retention.ms": str(4 * _WEEK_MS)},
        # Commands are the audit trail of corrections: keep them (-1 = forever).
        "commands": {"retention.ms": "-1"},
        "alerts": {"retention.ms": str(4 * _WEEK_MS)},
        "recount": {"retention.ms": str(4 * _WEEK_MS)},
        # Producer heartbeats (producers/camera): status, not history.
        "camera-health": {"retention.ms": str(_WEEK_MS)},
    }
    return [
        NewTopic(
            name=settings.topic(name),
            num_partitions=settings.partitions,
            replication_factor=1,
            topic_configs=cfg,
        )
        for name, cfg in specs.items()
    ]


async def create_topics(settings: Settings) -> list[str]:
    """Create missing topics; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topic_specs(settings) if t.name not in existing]
        if missing:
            # A concurrent creator may win the race; the result is the same.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        return [t.name for t in missing]
    finally:
        await admin.close()


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    created = asyncio.run(create_topics(Settings()))
    print(f"topics created: {', '.join(created) if created else 'none (all exist)'}")


if __name__ == "__main__":
    main()
