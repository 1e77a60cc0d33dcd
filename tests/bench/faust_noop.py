"""Faust's ceiling for the pipeline benchmark: an agent that does nothing.

Built with the worker's own :func:`streams.faust_app.create_app` (same broker
settings, same raw-bytes topics), it drains ``NOOP_TOPIC`` and, once it has
seen ``NOOP_COUNT`` events, writes the seconds from its first event to its
last to ``NOOP_RESULT`` (JSON). ``NOOP_MODE`` is ``events`` (one event at a
time, as ``async for event in stream.events()``) or ``batches``
(``Stream.noack_take``, as the worker's agents read). It runs on uvloop, as
the worker does.

Run by :mod:`tests.bench.bench_pipeline` as
``python -m tests.bench.faust_noop worker -l info --without-web`` with
``OCC_APP_ID`` and ``KAFKA_BOOTSTRAP_SERVERS`` set.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import uvloop

from streams.faust_app import create_app
from streams.settings import Settings

asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())  # as the worker (streams.__main__)
settings = Settings()
app = create_app(settings)
topic = app.topic(
    os.environ["NOOP_TOPIC"],
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
)
COUNT = int(os.environ["NOOP_COUNT"])
MODE = os.environ.get("NOOP_MODE", "events")
RESULT = Path(os.environ["NOOP_RESULT"])

_seen = 0
_first = 0.0


def _count(n: int) -> None:
    global _seen, _first
    if _seen == 0:
        _first = time.perf_counter()
    _seen += n
    if _seen >= COUNT and not RESULT.exists():
        RESULT.write_text(json.dumps({"events": _seen, "seconds": time.perf_counter() - _first}))


@app.agent(topic)
async def drain(stream):  # type: ignore[no-untyped-def]
    if MODE == "batches":
        async for events in stream.noack_take(1000, within=0.01):
            for event in events:
                await stream.ack(event)
            _count(len(events))
    else:
        async for _ in stream.events():
            _count(1)


if __name__ == "__main__":
    app.main()
