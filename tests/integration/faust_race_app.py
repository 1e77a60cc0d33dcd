"""A tiny Faust app for ``test_faust_recovery.py``: one table, one agent, a log of offsets.

The agent reads ``race-in`` (4 partitions), bumps a per-partition counter in
the ``race-counts`` table (so every restart has a changelog to recover: that
is what runs ``Recovery.on_recovery_completed``, where faust-streaming issue
#596 lives) and appends ``"<partition> <offset>"`` to ``RACE_OUT`` for every
message it processes, *before* the message is acknowledged. The line is
written with one ``os.write`` on an ``O_APPEND`` descriptor, so it survives
``kill -9``: an offset that Faust committed but that is missing from the file
was skipped.

Two knobs make the race window as wide as it is in a real deployment:

- ``RACE_DELAY_S`` (20 ms): time the agent spends per message, like an agent
  that waits for its outputs. Records then pile up in its queue, which is
  what Faust clears without acknowledging; and with the queue full
  (``stream_buffer_maxsize=256``) the fetcher still holds records of its
  last batch when the seek ends, which is what records the gap. (With the
  default 4096 and this small backlog, only a first restart would do.)
- ``RACE_SEEK_DELAY_S`` (1.5 s): ``Consumer.perform_seek`` waits this long
  before seeking, as it does against a real cluster: aiokafka's
  ``seek_to_committed`` asks the broker for the committed offset of each
  assigned partition in turn, one round trip each, so a worker with a few
  hundred partitions a few ms away spends a second or more there. Against
  the local broker it takes a few ms (up to 0.2 s on a busy machine), while
  Faust's fetch loop, which has no active partition at that moment, looks
  for records once a second: without the delay the window was hit in about
  one restart in twenty (2 of 6 runs of this test with 4-8 restarts failed).
  The delay changes no code path, only how long the seek takes.

Run as ``python -m tests.integration.faust_race_app worker -l info --without-web``
with ``KAFKA_BOOTSTRAP_SERVERS``, ``OCC_APP_ID``, ``OCC_TOPIC_PREFIX``,
``RACE_OUT`` and ``RACE_DATADIR`` set; ``OCC_FAUST_RECOVERY_FIX=0`` leaves
Faust unpatched (see :mod:`streams.faust_recovery`).
"""

from __future__ import annotations

import asyncio
import os

import faust
from faust.transport.consumer import Consumer

from streams.faust_recovery import install

install()

PARTITIONS = 4
INPUT_TOPIC = "race-in"
#: Seconds the agent spends per message.
DELAY_S = float(os.environ.get("RACE_DELAY_S", "0.02"))
#: Seconds ``Consumer.perform_seek`` takes before it seeks (a slow broker round trip).
SEEK_DELAY_S = float(os.environ.get("RACE_SEEK_DELAY_S", "1.5"))

if SEEK_DELAY_S > 0:
    _perform_seek = Consumer.perform_seek

    async def _slow_perform_seek(self: Consumer) -> None:
        await asyncio.sleep(SEEK_DELAY_S)
        await _perform_seek(self)

    Consumer.perform_seek = _slow_perform_seek  # type: ignore[method-assign]

app = faust.App(
    os.environ["OCC_APP_ID"],
    broker=f"kafka://{os.environ['KAFKA_BOOTSTRAP_SERVERS']}",
    store="memory://",
    datadir=os.environ["RACE_DATADIR"],
    topic_partitions=PARTITIONS,
    topic_replication_factor=1,
    broker_commit_interval=0.1,
    # The broker's minimum: a killed worker's partitions move on after 6 s.
    broker_session_timeout=6.0,
    broker_heartbeat_interval=2.0,
    consumer_auto_offset_reset="earliest",
    # A small agent queue (default 4096): the fetcher then holds records back
    # whenever the agent is behind, as with a big backlog (see above).
    stream_buffer_maxsize=256,
    web_enabled=False,
)

source = app.topic(
    os.environ["OCC_TOPIC_PREFIX"] + INPUT_TOPIC,
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
    partitions=PARTITIONS,
)
counts = app.Table("race-counts", default=int, partitions=PARTITIONS)

_out = os.open(os.environ["RACE_OUT"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


@app.agent(source)
async def process(stream: faust.StreamT[bytes]) -> None:
    async for event in stream.events():
        message = event.message
        counts[str(message.partition)] += 1
        os.write(_out, f"{message.partition} {message.offset}\n".encode())
        if DELAY_S:
            await asyncio.sleep(DELAY_S)


if __name__ == "__main__":
    app.main()
