"""Stream side: the pure counting core and the Faust app that runs it.

The core modules (``geometry``, ``counting``, ``occupancy``) import nothing
from Kafka, Faust, psycopg or cv2; agents, replay and benchmarks share them.
"""

__all__: list[str] = []
