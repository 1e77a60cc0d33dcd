"""Which partition a key lands in: the producer's own partitioner.

Progress marks (:class:`~schemas.events.SourceProgress`) go to a partition
of ``zone-deltas.v1`` rather than to a key, one record for all the zones of
that partition. They must land exactly where those zones' deltas land, so
the partition is computed with the partitioner the producer uses for keyed
records (aiokafka's ``DefaultPartitioner``, murmur2 as in the Java client;
Faust does not replace it). The partition count is ``OCC_PARTITIONS``, which
the admin step enforces for every topic (:mod:`streams.admin`).
"""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

__all__ = ["partition_of"]

_partitioner = DefaultPartitioner()


def partition_of(key: bytes, partitions: int) -> int:
    """The partition of a record keyed ``key`` in a topic of ``partitions`` partitions."""
    every = list(range(partitions))
    return int(_partitioner(key, every, every))
