"""Batches with manual acks: how every agent of the worker reads its stream.

Per event, Faust's stream machinery costs more than our work, and an awaited
send or a table write per event costs more still. So each agent takes its
input in batches (:func:`consume_batches`): it handles a whole batch, sends
all of the batch's outputs and awaits their acknowledgements together, writes
each table key once, and only then acks the batch's events. "Acknowledged
before recorded" holds per batch: after a crash either the table is behind
(the batch is read again and yields the same event ids, which consumers
de-duplicate) or its outputs are already in Kafka.

**Why not ``Stream.take_events``.** It yields each batch inside
``try/finally`` and acks every event of it in the ``finally``, which runs
whenever the generator is closed: when an exception leaves the loop body,
and also when the stream stops (``Stream.on_stop`` calls ``aclose()``) while
the body still waits. The consumer commits acked offsets on
``on_task_error`` and when it stops, so such a batch would be skipped for
good. Hence:

- batches come from ``Stream.noack_take``, which never acks; events are
  acked one by one after the handler returned, and only those it returns
  (the offset-gap guard's refusals must stay unacked, see
  :mod:`streams.runtime.gaps`). A cancellation (the worker stopping) leaves
  the batch unacked: it is read again after the restart.
- any other exception from the handler is a bug. Letting it crash the agent
  would leave the batch unacked in the middle of acked offsets (commits stop
  there, the agent silently stalls until a restart), so :func:`stop_hard`
  logs it as CRITICAL and ends the process with :func:`os._exit` (status 70,
  ``EX_SOFTWARE``) right there: no ``finally`` runs, nothing more is acked or
  committed, and the restarted worker reads the batch again from the last
  commit. A crash loop on one message cannot come from this rule, since each
  agent dead-letters bad content instead of raising.

**Tables.** Faust picks a table write's changelog partition from the *current
event* of the task (``faust.streams.current_event``), which ``noack_take``
does not set in the agent's task. :func:`table_set` sets it to the event the
value comes from, so the changelog record lands in that event's partition,
as it would in ``async for event in stream.events()``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn

from faust.streams import Stream, _current_event
from faust.types import EventT, TableT

from streams.runtime import metrics

__all__ = ["BUSY", "EXIT_STATUS", "Handler", "consume_batches", "stop_hard", "table_set"]

logger = logging.getLogger(__name__)

#: Exit status after an unexpected error (``EX_SOFTWARE`` of sysexits.h).
EXIT_STATUS = 70

#: Agent -> when (``time.monotonic()``) the batch it is handling now came; for
#: the watchdog (:mod:`streams.runtime.watchdog`), which stops a worker whose
#: agent has been on one batch for minutes.
BUSY: dict[str, float] = {}

#: Handles one batch; returns the events to ack (those fully handled).
Handler = Callable[[Sequence[EventT]], Awaitable[Sequence[EventT]]]


def stop_hard(agent: str, exc: BaseException) -> NoReturn:
    """Log ``exc`` and end the process now, before Faust can ack anything more."""
    logger.critical(
        "%s: unexpected %r; stopping the worker with status %d before anything more is"
        " acknowledged (what is not committed is read again after the restart)",
        agent,
        exc,
        EXIT_STATUS,
        exc_info=exc,
    )
    logging.shutdown()  # flush the handlers: os._exit does not
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_STATUS)


async def consume_batches(
    stream: Stream,
    handle: Handler,
    *,
    agent: str,
    size: int,
    within: float,
    stop: Callable[[str, BaseException], NoReturn] = stop_hard,
    watched: bool = True,
) -> None:
    """Feed ``stream`` to ``handle`` in batches (``size`` events or ``within``
    seconds), acking what it returns once it has returned.

    ``watched``: the batch in hand is listed in :data:`BUSY` for the watchdog;
    off for an agent that waits on purpose (the database sink retries an
    outage of PostgreSQL for as long as it lasts, and says so in the log).

    ``stop`` is called with any exception but a cancellation, before anything
    of the batch is acked, and must not return (see the module docstring).
    """
    taken = metrics.events_in(agent)
    async for events in stream.noack_take(size, within=within):
        taken.inc(len(events))
        if watched:
            BUSY[agent] = time.monotonic()
        try:
            for event in await handle(events):
                await stream.ack(event)
        except asyncio.CancelledError:
            raise  # stopping: what is not acked yet is read again after the restart
        except BaseException as e:
            stop(agent, e)
        finally:
            BUSY.pop(agent, None)


def table_set(table: TableT[Any, Any], key: Any, value: Any, event: EventT) -> None:
    """``table[key] = value``, its changelog record in ``event``'s partition."""
    token = _current_event.set(weakref.ref(event))
    try:
        table[key] = value
    finally:
        _current_event.reset(token)
