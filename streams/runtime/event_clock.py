"""The worker's event-time clock: the watermark and camera liveness.

The crossings agent feeds every frame's capture time (heartbeats included) to
:data:`clock` (:meth:`EventClock.on_frame`). Whenever the watermark has moved
on by a second of event time, and once a second of wall time from the
schedule's timer (for when nothing arrives at all), the clock-driven rules
registered with :meth:`EventClock.rule` run against it (see
:mod:`streams.agents.schedule`: camera liveness and scheduled resets).
Driving them by event time keeps a replay at full speed as correct as live
operation.

The state is the worker's own: per source partition of ``detections.v1``
(the watermark) and per camera (liveness). When partitions are revoked, both
forget them: their cameras now belong to another worker.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from streams.app import app, plant, settings, topics
from streams.core.alerts import CameraLiveness
from streams.core.event_time import ReceiveClock, Watermark
from streams.runtime.alerting import send_alerts
from streams.runtime.metrics import events_out

__all__ = ["EventClock", "Rule", "clock"]

#: A clock-driven rule: called with the watermark (UTC seconds).
Rule = Callable[[float], Awaitable[None]]


class EventClock:
    """Watermark and liveness of one worker, and the rules that run on them.

    Args:
        watermark: Event time per source partition.
        liveness: When each camera was last seen (event time).
        detections_topic: The topic whose partitions the watermark follows.
    """

    def __init__(
        self,
        watermark: Watermark,
        liveness: CameraLiveness,
        detections_topic: str,
        receive: ReceiveClock | None = None,
    ) -> None:
        self.watermark = watermark
        #: The wall clock the watermark's idle rule runs on: it stands still
        #: while the worker receives nothing (a broker outage), see
        #: :class:`~streams.core.event_time.ReceiveClock`. Every agent reports
        #: what it receives with :meth:`heard`.
        self.receive = receive or ReceiveClock()
        self.liveness = liveness
        self.detections_topic = detections_topic
        self._rules: list[Rule] = []
        self._last_evaluated = 0.0
        # camera -> the detections partition its frames came from, for rebalances.
        self._partition_of: dict[str, int] = {}

    def rule(self, fun: Rule) -> Rule:
        """Register ``fun`` to run whenever the clock ticks (a decorator)."""
        self._rules.append(fun)
        return fun

    def on_revoked(self, sender: Any, /, *args: Any, **kwargs: Any) -> None:
        """``app.on_partitions_revoked``: forget the revoked partitions' cameras.

        Watching them here would raise "camera offline" alerts that nothing
        ever resolves.
        """
        revoked = args[0] if args else kwargs.get("revoked", set())
        self.forget({tp.partition for tp in revoked if tp.topic == self.detections_topic})

    def forget(self, partitions: Iterable[int]) -> None:
        partitions = set(partitions)
        self.watermark.forget(partitions)
        cameras = [c for c, p in self._partition_of.items() if p in partitions]
        self.liveness.forget(cameras)
        for c in cameras:
            del self._partition_of[c]

    def heard(self) -> None:
        """An agent received a batch: the broker is delivering."""
        self.receive.heard(time.time())

    def wall(self) -> float:
        """The receive clock now: wall seconds, minus those spent receiving nothing."""
        return self.receive.now(time.time())

    def seed(self, camera_id: str, last_time: float, partition: int) -> None:
        """Resume a camera's clock from its stored state (the ``track-state`` table).

        Called by the crossings agent the first time this process sees a camera: the
        watermark starts where the camera's frames had got to, not at its first
        frame after a restart, and a camera that went silent before the restart and
        speaks again after it raises (and resolves) its outage in hindsight.
        """
        if camera_id in self.liveness.last_seen or last_time <= 0.0:
            return
        self.liveness.last_seen[camera_id] = last_time
        self.watermark.observe(last_time, self.wall(), partition)

    async def on_frame(self, camera_id: str, captured_at: float, partition: int) -> None:
        """Account for one frame: advance the clock, run the rules, mark the camera seen."""
        now = time.time()
        self.receive.heard(now)  # a frame came: the broker is delivering
        wall = self.receive.now(now)
        self._partition_of[camera_id] = partition
        self.watermark.observe(captured_at, wall, partition)
        wm = self.watermark.value(wall)
        if wm - self._last_evaluated >= 1.0:
            # Before marking the camera seen: a camera whose frames resume after a
            # gap was silent over the gap, and this is the moment to notice.
            await self.tick(wm)
        back_online = self.liveness.seen(camera_id, captured_at)
        if back_online:
            await send_alerts(back_online)
            events_out("schedule", topics.alerts.get_topic_name()).inc(len(back_online))

    async def tick(self, now: float) -> None:
        """Run the registered rules at watermark ``now`` (UTC seconds), in order."""
        if now <= 0.0:
            return  # no event seen yet: no notion of time
        self._last_evaluated = max(self._last_evaluated, now)
        for rule in self._rules:
            await rule(now)


clock = EventClock(
    Watermark(lateness_s=settings.allowed_lateness_s, idle_after_s=settings.idle_after_s),
    CameraLiveness(plant.camera_offline_after_s),
    topics.detections.get_topic_name(),
)
app.on_partitions_revoked.connect(clock.on_revoked)
