"""Recording state at most every so often: handled events wait, unacked, per partition.

An agent that keeps state in a table must record it *after* the outputs of
the events it has handled are acknowledged and *before* those events are
acked (see :mod:`streams.runtime.batches`). Recording after every batch
writes each key's whole state to the changelog many times a second; a zone's
state holds thousands of entries. :class:`Recorder` spaces the writes out:

- handled events wait in their partition (:meth:`Recorder.handled`), in
  offset order, and each key's newest state is marked for its partition
  (:meth:`Recorder.changed`);
- a partition is recorded at most every ``interval_s`` (:meth:`Recorder.due`,
  after each batch and from a timer, for partitions that got nothing new):
  its keys' states are written once and its events are returned, to be acked
  in offset order. Acks must stay in order within a
  partition: Faust commits past an unacked offset when a later one is acked
  before the partition's first commit (``Consumer._new_offset``);
- a revoked partition's waiting events are dropped, unacked
  (:meth:`Recorder.forget`), and a partition that is no longer assigned when
  it falls due is neither written nor acked: its next owner reads the events
  again, and a late write to its changelog could land after the new owner's.

After a crash at most ``interval_s`` more of each partition is read again;
the agents' outputs are idempotent, so nothing counts twice.

An agent reads through :meth:`Recorder.consume` and calls
:meth:`Recorder.record_idle` from a timer; both hold the recorder's lock, so
a state is taken only when every output of the events before it is
acknowledged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from faust.streams import Stream
from faust.types import TP, AppT, EventT, TableT

from streams.runtime.batches import consume_batches, table_set

__all__ = ["Recorder"]


class _Waiting:
    def __init__(self, now: float) -> None:
        self.events: list[EventT] = []
        #: key -> (a function returning its state now, the last event that changed it)
        self.changed: dict[Any, tuple[Callable[[], Any], EventT]] = {}
        self.recorded_at = now


class Recorder:
    """Per-partition waiting room between "handled" and "recorded and acked".

    Args:
        app: The Faust app (for the consumer's current assignment).
        table: The table written.
        interval_s: Longest time (event-loop seconds) a partition waits.
        written: Called with ``(key, state)`` after each write (the agents' caches
            remember what they wrote, to know the table still holds it).
    """

    def __init__(
        self,
        app: AppT,
        table: TableT[Any, Any],
        interval_s: float,
        written: Callable[[Any, Any], None] = lambda key, state: None,
    ) -> None:
        self.app = app
        self.table = table
        self.interval_s = interval_s
        self._written = written
        self._waiting: dict[TP, _Waiting] = {}
        self._lock = asyncio.Lock()
        self._stream: Stream | None = None

    async def consume(
        self,
        stream: Stream,
        handle: Callable[[Sequence[EventT]], Awaitable[None]],
        *,
        agent: str,
        size: int,
        within: float,
    ) -> None:
        """Feed ``stream`` to ``handle`` in batches (:func:`consume_batches`); after
        each batch, ack what is recorded. ``handle`` reports what it handled and
        changed with :meth:`handled` and :meth:`changed`."""
        self._stream = stream

        async def locked(events: Sequence[EventT]) -> list[EventT]:
            async with self._lock:
                await handle(events)
                return self.due(asyncio.get_running_loop().time())

        await consume_batches(stream, locked, agent=agent, size=size, within=within)

    async def record_idle(self) -> None:
        """For a timer: record and ack what waits in partitions that got nothing new."""
        if self._stream is None:
            return
        async with self._lock:
            for event in self.due(asyncio.get_running_loop().time()):
                await self._stream.ack(event)

    def on_revoked(self, sender: Any, /, *args: Any, **kwargs: Any) -> None:
        """``app.on_partitions_revoked``: :meth:`forget` the revoked partitions."""
        self.forget(args[0] if args else kwargs.get("revoked", set()))

    def handled(self, events: Iterable[EventT], now: float) -> None:
        """Events whose outputs are acknowledged: they wait to be recorded and acked."""
        for event in events:
            tp = event.message.tp
            waiting = self._waiting.get(tp)
            if waiting is None:
                waiting = self._waiting[tp] = _Waiting(now)
            waiting.events.append(event)

    def changed(self, key: Any, state: Callable[[], Any], event: EventT) -> None:
        """``key`` changed with ``event`` (handled already); ``state()`` is its state then."""
        self._waiting[event.message.tp].changed[key] = (state, event)

    def due(self, now: float) -> list[EventT]:
        """Record every partition that waited ``interval_s``; its events, to ack in order."""
        out: list[EventT] = []
        for tp, waiting in list(self._waiting.items()):
            if waiting.events and now - waiting.recorded_at >= self.interval_s:
                out += self._record(tp, waiting, now)
        return out

    def forget(self, revoked: Iterable[TP]) -> None:
        """Drop what waits in revoked partitions, unacked."""
        for tp in revoked:
            self._waiting.pop(tp, None)

    def waiting(self) -> int:
        """Events handled and not yet recorded."""
        return sum(len(w.events) for w in self._waiting.values())

    def _record(self, tp: TP, waiting: _Waiting, now: float) -> list[EventT]:
        if tp not in self.app.consumer.assignment():
            del self._waiting[tp]
            return []
        for key, (state, event) in waiting.changed.items():
            value = state()
            table_set(self.table, key, value, event)
            self._written(key, value)
        events = waiting.events
        self._waiting[tp] = _Waiting(now)
        return events
