"""A small batching base: ``add`` events, ``flush`` them as one write."""

from __future__ import annotations

import abc
from typing import Generic, TypeVar

__all__ = ["BatchingSink", "SinkError"]

T = TypeVar("T")


class SinkError(Exception):
    """A batch could not be written; the events stay unacknowledged."""


class BatchingSink(abc.ABC, Generic[T]):
    """Collects events and writes them in one go.

    The caller acknowledges the source offsets only after :meth:`flush`
    returns, so a failed write is retried from Kafka, never lost. Writes must be
    idempotent because the same batch may be written again after a restart.
    """

    def __init__(self) -> None:
        self._batch: list[T] = []

    def add(self, item: T) -> None:
        self._batch.append(item)

    def __len__(self) -> int:
        return len(self._batch)

    async def flush(self) -> int:
        """Write everything added since the last flush; return how many."""
        if not self._batch:
            return 0
        batch, self._batch = self._batch, []
        try:
            await self.write(batch)
        except Exception:
            self._batch = batch + self._batch  # keep them for the retry
            raise
        return len(batch)

    @abc.abstractmethod
    async def write(self, batch: list[T]) -> None:
        """Write one batch idempotently; raise :class:`SinkError` on failure."""
