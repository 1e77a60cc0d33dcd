"""Stream side: the pure counting core and the Faust app that runs it.

The pure core (:mod:`streams.core`) imports nothing from
Kafka, Faust, psycopg or cv2; agents, replay and benchmarks share it.
"""

__all__: list[str] = []
