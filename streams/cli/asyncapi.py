"""Write (or check) the AsyncAPI 3 document of every topic: ``schemas/asyncapi.json``.

Other plant systems consume our topics, so each topic's contract is written
down in one machine-readable place: its address, what it carries (message
payloads ``$ref`` the JSON Schema files that :mod:`schemas.export` writes from
the pydantic models), its key, its partitions and its retention. The document
is generated from :data:`streams.topics.TOPICS` and :data:`schemas.export.MODELS`,
so it cannot drift from the code: a unit test fails when the committed file
is stale.

Usage::

    python -m streams.cli.asyncapi          # regenerate schemas/asyncapi.json
    python -m streams.cli.asyncapi --check  # exit 1 if the committed file is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from schemas.export import MODELS, SCHEMA_DIR
from streams.settings import Settings
from streams.topics import TOPICS

__all__ = ["CARRIES", "DOCUMENT", "KEYS", "render", "stale"]

DOCUMENT = SCHEMA_DIR.parent / "asyncapi.json"

#: topic -> (the schema files of what it carries, who writes it)
CARRIES: dict[str, tuple[tuple[str, ...], str]] = {
    "detections": (("FrameDetections.v1",), "camera producers (producers.camera, simulators)"),
    "crossings": (("CrossingEvent.v1",), "the worker's counting agent"),
    "zone-deltas": (
        ("ZoneDelta.v2", "SourceProgress.v2", "OccupancyReset.v1"),
        "the worker (counting agent, reset schedule); internal to the zone fold",
    ),
    "occupancy": (("OccupancyChanged.v1",), "the worker's zone agent"),
    "deadletter": (("DeadLetter.v1",), "every worker agent, for input it cannot process"),
    "commands": (
        ("OccupancyCalibrated.v1", "OccupancyReset.v1"),
        "the API (calibrations) and the worker (scheduled resets)",
    ),
    "alerts": (("AlertRaised.v1", "AlertResolved.v1"), "the worker (zone and camera rules)"),
    "recount": (("CrossingEvent.v1",), "the recount tool (python -m streams.cli.recount)"),
    "camera-health": (("CameraHealth.v1",), "camera producers"),
    "snapshot-requests": (("SnapshotRequested.v1",), "the API (requestSnapshot)"),
    "camera-snapshots": (("CameraSnapshot.v1",), "camera producers with snapshots on"),
}

#: topic -> what its record key is (UTF-8 text)
KEYS: dict[str, str] = {
    "detections": "camera id",
    "crossings": "camera id",
    "zone-deltas": "zone id",
    "occupancy": "zone id",
    "deadletter": "the key of the record that could not be processed (may be absent)",
    "commands": "zone id",
    "alerts": "the alert's subject: zone id or camera id",
    "recount": "camera id",
    "camera-health": "camera id",
    "snapshot-requests": "camera id",
    "camera-snapshots": "camera id",
}

_KAFKA_BINDING = "0.5.0"


def render(settings: Settings | None = None) -> str:
    """The document; by default as committed, from the defaults of :class:`Settings`
    (no topic prefix, the local broker), whatever the environment says."""
    settings = settings or Settings.model_construct()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in TOPICS:
        stems, writer = CARRIES[spec.name]
        address = settings.topic(spec.name)
        channel_messages = {}
        for stem in stems:
            name = stem.split(".")[0]  # the model, without the schema version
            mid = f"{name}-on-{spec.name}"
            messages[mid] = {
                "name": name,
                "title": f"{stem} on {address}",
                "summary": (MODELS[stem].__doc__ or "").strip().splitlines()[0],
                "contentType": "application/json",
                "payload": {"$ref": f"json/{stem}.schema.json"},
                "bindings": {
                    "kafka": {
                        "key": {"type": "string", "description": KEYS[spec.name]},
                        "bindingVersion": _KAFKA_BINDING,
                    }
                },
            }
            channel_messages[name] = {"$ref": f"#/components/messages/{mid}"}
        channels[spec.name] = {
            "address": address,
            "title": address,
            "description": f"{spec.purpose}. Written by {writer}.",
            "messages": channel_messages,
            "bindings": {
                "kafka": {
                    "topic": address,
                    "partitions": settings.partitions,
                    "replicas": 1,
                    "topicConfiguration": {
                        "cleanup.policy": ["delete"],
                        "retention.ms": int(spec.configs(settings)["retention.ms"]),
                    },
                    "bindingVersion": _KAFKA_BINDING,
                }
            },
        }
        operations[f"consume-{spec.name}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{spec.name}"},
            "summary": f"Read {address} (written by {writer}).",
            "messages": [
                {"$ref": f"#/channels/{spec.name}/messages/{name}"} for name in channel_messages
            ],
        }
    doc = {
        "asyncapi": "3.0.0",
        "info": {
            "title": "occupancy: Kafka topics",
            "version": "1",
            "description": (
                "Every topic of the people-counting and occupancy system: what it carries, "
                "its key, partitions and retention. Payloads are JSON; their JSON Schemas "
                "(draft 2020-12, generated from the pydantic models) are in json/. Topic "
                "names get the deployment's OCC_TOPIC_PREFIX in front. Records are "
                "delivered at least once: de-duplicate by the event's id."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": settings.kafka_bootstrap_servers,
                "protocol": "kafka",
                "description": "The project-local broker that deploy/kafka.sh starts.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def stale(path: Path = DOCUMENT) -> bool:
    """Whether the committed document is missing or differs from the code."""
    return not path.exists() or path.read_text() != render()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    if args.check:
        if stale():
            print(f"stale {DOCUMENT} (run python -m streams.cli.asyncapi)")
            return 1
        print(f"{DOCUMENT.name} is up to date")
        return 0
    DOCUMENT.write_text(render())
    print(f"wrote {DOCUMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
