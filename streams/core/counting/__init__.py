"""Counting line crossings: tracked boxes in, ``CrossingEvent`` facts out.

:class:`LineCounter` (one per camera) is the public class; its verb is
:meth:`LineCounter.trigger`. It is assembled from the parts of this package,
each a base class that owns some of its attributes:

* :mod:`~streams.core.counting.state`: the per-track state rows (layout,
  allocation, expiry) and their persistence (``state_dict`` / ``load_state``);
* :mod:`~streams.core.counting.lines`: the per-line constants and anchors;
* :mod:`~streams.core.counting.switches`: the tolerance of tracker id switches;
* :mod:`~streams.core.counting.kernel`: the two crossing kernels, vectorised
  (numpy) and scalar (plain Python), equal to the bit;
* :mod:`~streams.core.counting.events`: building a ``CrossingEvent``;
* :mod:`~streams.core.counting.counter`: :class:`LineCounter` and the rules.

Part of the pure core (:mod:`streams.core`): imports only :mod:`schemas`,
numpy and the standard library.
"""

from streams.core.counting.counter import LineCounter
from streams.core.counting.state import STATE_FORMAT

__all__ = ["STATE_FORMAT", "LineCounter"]
