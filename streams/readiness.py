"""The worker says it is ready only once the group owns every source partition.

Faust logs "Worker ready" after every rebalance, even when its assignor left
topics out: a consumer group that forms before a topic is in the group
leader's metadata gets no partition of it ("Ignoring missing topic"), and
before ``consumer_metadata_max_age_ms`` was short the leader noticed only at
its next metadata refresh, minutes later. The worker then looked healthy and
counted nothing.

:class:`Readiness` checks every completed rebalance (``app.on_rebalance_complete``,
sent after table recovery, just before Faust's "Worker ready"):

* the source partitions are every partition of every topic an agent reads
  (taken from the app's agents, so a new agent is covered), plus the table
  changelogs, which Faust assigns next to them;
* **one worker**: its own assignment must hold all of them;
* **several workers in one group**: each owns a share, and what matters is
  that the group as a whole owns all of them. The group leader sends every
  member the topics it assigned (Faust's topic groups, see
  ``PartitionAssignor.group_for_topic``), and it assigns every partition of
  each of them, so a topic missing there is missing for the whole group. The
  ready line then says how much this worker owns and that the group owns all.

Once the assignment covers everything it logs ``occupancy worker ready: owns
N/N source partitions (...)`` (once per process; ``deploy/up.sh`` waits for it).
When a topic is missing it logs a warning naming it and asks the consumer for
fresh metadata; if the fresh metadata has the topic it also asks the group to
rejoin (at most every ``rejoin_interval_s``), so a new assignment follows in
seconds instead of at the next periodic refresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from faust.types import TP, AppT

from streams.app import app

__all__ = ["READY_MESSAGE", "Coverage", "Readiness", "readiness"]

logger = logging.getLogger(__name__)

READY_MESSAGE = "occupancy worker ready"


@dataclass(frozen=True)
class Coverage:
    """Which source partitions this worker and its group own after a rebalance."""

    #: Topic -> partition count, of every topic an agent reads.
    sources: dict[str, int]
    #: Topic -> partition count, of every table changelog.
    changelogs: dict[str, int]
    own: frozenset[TP]
    #: Topics the group leader left out of the whole group's assignment.
    missing: tuple[str, ...] = field(default=())

    @property
    def total(self) -> int:
        return sum(self.sources.values())

    def owned(self, topics: dict[str, int]) -> int:
        return sum(1 for tp in self.own if tp.topic in topics)

    @property
    def complete(self) -> bool:
        return not self.missing

    def describe(self) -> str:
        per_topic = ", ".join(
            f"{t} {sum(1 for tp in self.own if tp.topic == t)}/{n}"
            for t, n in sorted(self.sources.items())
        )
        n_changelogs = sum(self.changelogs.values())
        owned = self.owned(self.sources)
        text = f"owns {owned}/{self.total} source partitions"
        if owned < self.total and self.complete:
            text += f", the group owns {self.total}/{self.total} (other workers hold the rest)"
        text += f" ({per_topic}"
        if self.changelogs:
            text += f"; table changelogs {self.owned(self.changelogs)}/{n_changelogs}"
        return text + ")"


class Readiness:
    """Checks each completed rebalance; see the module docstring."""

    def __init__(self, app: AppT, *, rejoin_interval_s: float = 10.0) -> None:
        self.app = app
        self.rejoin_interval_s = rejoin_interval_s
        self.ready = False
        self.last: Coverage | None = None
        self._last_rejoin = float("-inf")
        self._refreshing: asyncio.Task[None] | None = None
        app.on_rebalance_complete.connect(self._on_rebalance_complete)

    def source_topics(self) -> tuple[dict[str, int], dict[str, int]]:
        """(topics the agents read, table changelogs), each topic -> partition count."""
        default = self.app.conf.topic_partitions
        sources: dict[str, int] = {}
        for agent in self.app.agents.values():
            channel: Any = agent.channel
            for topic in getattr(channel, "topics", ()):
                sources[topic] = getattr(channel, "partitions", None) or default
        changelogs = {
            table.changelog_topic.get_topic_name(): table.partitions or default
            for table in self.app.tables.values()
        }
        return sources, changelogs

    def coverage(self) -> Coverage:
        sources, changelogs = self.source_topics()
        wanted = {**sources, **changelogs}
        own = frozenset(tp for tp in self.app.consumer.assignment() if tp.topic in wanted)
        owned_topics = {tp.topic for tp in own}
        missing = []
        for topic in wanted:
            if topic in owned_topics:
                continue
            try:
                self.app.assignor.group_for_topic(topic)
            except KeyError:
                missing.append(topic)
        # A topic this worker holds only in part is fine when the group holds the
        # rest; for a single worker, own == the group's assignment.
        return Coverage(sources, changelogs, own, tuple(sorted(missing)))

    async def _on_rebalance_complete(self, sender: Any, /, *args: Any, **kwargs: Any) -> None:
        try:
            cov = self.coverage()
        except Exception:  # never let a diagnostic break a rebalance
            logger.exception("readiness check failed")
            return
        self.last = cov
        if cov.complete:
            if not self.ready:
                self.ready = True
                logger.info("%s: %s", READY_MESSAGE, cov.describe())
            else:
                logger.debug("rebalance complete: %s", cov.describe())
            return
        logger.warning(
            "not ready: topics missing from the group's assignment: %s (%s). They were not in "
            "the group leader's metadata when it assigned partitions (created after the group "
            "formed? run python -m streams.admin); refreshing metadata and rejoining",
            ", ".join(cov.missing),
            cov.describe(),
        )
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self._refresh(cov.missing))

    async def _refresh(self, topics: tuple[str, ...]) -> None:
        """Fresh metadata in the consumer's thread; rejoin if it has the topics now."""
        try:
            thread: Any = getattr(self.app.consumer, "_thread", None)
            if thread is None:
                return
            consumer = thread._ensure_consumer()

            async def refresh() -> bool:
                await consumer._client.force_metadata_update()
                cluster = consumer._client.cluster
                return all(cluster.partitions_for_topic(t) for t in topics)

            known = await thread.call_thread(refresh)
            now = time.monotonic()
            if not known:
                logger.warning(
                    "topics %s are still not in the broker's metadata; the group is assigned "
                    "again once they appear",
                    ", ".join(topics),
                )
            elif now - self._last_rejoin >= self.rejoin_interval_s:
                self._last_rejoin = now
                logger.info(
                    "topics %s are in fresh metadata: rejoining the group", ", ".join(topics)
                )

                async def rejoin() -> None:
                    consumer._coordinator.request_rejoin()

                await thread.call_thread(rejoin)
        except Exception:
            logger.exception("metadata refresh after an incomplete assignment failed")


readiness = Readiness(app)
