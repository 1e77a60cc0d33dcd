"""Camera side: everything that publishes ``FrameDetections`` to ``detections.v1``.

* :mod:`producers.camera`: real cameras (capture, YOLO or HOG, ByteTrack);
* :mod:`producers.simulation`: the scene simulator and the benchmark
  scenarios, with exact ground truth;
* :mod:`producers.mot`: replays a MOTChallenge tracking file;
  :mod:`producers.count_mot` counts one offline with the core;
* :mod:`producers.publish`: the Kafka publisher of the simulator and replayer.

What it may import: :mod:`schemas`, :mod:`streams.settings` and (only
``count_mot``) the pure core :mod:`streams.core`; never the stream worker.
"""

__all__: list[str] = []
