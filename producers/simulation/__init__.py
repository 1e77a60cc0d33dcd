"""Simulated cameras with exact ground truth, for the demo, the tests and the benchmarks.

* :mod:`~producers.simulation.scene`: people walking through a plant's doors
  (:class:`Scene`), with the true entries, exits and occupancy of every zone;
* :mod:`~producers.simulation.scenarios`: named hard cases for line counters
  (dense crowds, jitter, hovering, U-turns, id switches, ...), each with its
  ground truth, scored by ``tests/bench/bench_counters.py``;
* :mod:`~producers.simulation.cli`: ``python -m producers.simulation``, which
  publishes scenes to Kafka (through :mod:`producers.publish`).

The scenes and scenarios are pure (seeded, no I/O) and import only
:mod:`schemas` and the standard library: nothing from ``streams``, so the
truth does not share the counting core's bugs.
"""

from producers.simulation.scenarios import SCENARIOS, Scenario, scenario
from producers.simulation.scene import GroundTruth, Scene, Walk

__all__ = ["SCENARIOS", "GroundTruth", "Scenario", "Scene", "Walk", "scenario"]
