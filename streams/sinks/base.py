"""A small batching base: ``add`` events with their origin, ``flush`` them as one write.

A flush ends in one of two ways:

- it returns a :class:`Flushed`: everything added is either stored or
  *rejected*: refused for its content (text the store cannot hold, a number
  out of range), so it will never be stored and retrying cannot help. Each
  rejection carries the origin given to :meth:`BatchingSink.add` (for a
  stream: the source message, to dead-letter) and the reason;
- it raises (:class:`SinkError` when the store is unreachable or refuses the
  whole batch for a reason that is not in its content): nothing was
  rejected, every event stays pending and the next flush writes them again.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["BatchingSink", "Flushed", "Rejected", "SinkError"]

T = TypeVar("T")
Origin = TypeVar("Origin")  #: where an event came from (for a stream: its message)


class SinkError(Exception):
    """A batch could not be written now; the events stay pending for a retry."""


@dataclass(frozen=True)
class Rejected(Generic[T, Origin]):
    """An event the store refused for its content, where it came from and why."""

    item: T
    origin: Origin | None
    reason: str


@dataclass(frozen=True)
class Flushed(Generic[T, Origin]):
    """The outcome of a flush: how many events were stored, which were rejected."""

    written: int
    rejected: list[Rejected[T, Origin]] = field(default_factory=list)


class BatchingSink(abc.ABC, Generic[T, Origin]):
    """Collects events and writes them in one go.

    The caller acknowledges the source offsets only after :meth:`flush`
    returns (and after it has dealt with the rejected events, e.g. sent them
    to a dead-letter topic), so a failed write is retried from Kafka, never
    lost. Writes must be idempotent because the same batch may be written
    again after a restart.
    """

    def __init__(self) -> None:
        self._batch: list[tuple[T, Origin | None]] = []

    def add(self, item: T, origin: Origin | None = None) -> None:
        """Queue ``item``; ``origin`` comes back with it if the store rejects it."""
        self._batch.append((item, origin))

    def __len__(self) -> int:
        return len(self._batch)

    async def flush(self) -> Flushed[T, Origin]:
        """Write everything added since the last flush: stored, or rejected with a reason."""
        if not self._batch:
            return Flushed(0)
        batch, self._batch = self._batch, []
        try:
            refused = await self.write([item for item, _ in batch])
        except BaseException:
            self._batch = batch + self._batch  # keep them for the retry
            raise
        rejected = [Rejected(*batch[i], reason) for i, reason in sorted(refused.items())]
        return Flushed(len(batch) - len(rejected), rejected)

    @abc.abstractmethod
    async def write(self, batch: list[T]) -> Mapping[int, str]:
        """Write one batch idempotently.

        Returns the positions in ``batch`` of the events refused for their
        content, each with the reason; all others are stored. Raises
        :class:`SinkError` when the batch cannot be written now (nothing of it
        may then count as stored).
        """
