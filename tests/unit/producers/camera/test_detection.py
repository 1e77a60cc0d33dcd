import importlib.util

import numpy as np
import pytest

from producers.camera.detection import Detections, HogDetector, make_detector
from producers.camera.errors import ConfigurationError
from producers.camera.settings import CameraSettings
from producers.camera.synthetic import SyntheticScene, Walker, crossing_scene
from producers.camera.tracking import PersonTracker, to_tracks

# find_spec, not importorskip: importing ultralytics before the producer has
# set YOLO_CONFIG_DIR would write its settings into the home folder.
if importlib.util.find_spec("cv2") is None or importlib.util.find_spec("ultralytics") is None:
    pytest.skip("needs the camera extra", allow_module_level=True)


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_hog_finds_the_synthetic_people_where_they_are():
    scene, _ = crossing_scene()
    hog = HogDetector(confidence=0.1)
    for k in (5, 20, 50):
        dets = hog.detect(scene.render(k))
        truth = [scene.box(w, k) for w in scene.walkers if scene.box(w, k) is not None]
        for box in truth:
            best = max((iou(box, d[:4]) for d in dets.data), default=0.0)
            assert best > 0.6, (k, box, dets.data)
        assert np.all((dets.data[:, 4] > 0) & (dets.data[:, 4] <= 1))
        assert np.all(dets.data[:, 5] == 0)


def test_hog_finds_nobody_on_an_empty_floor():
    scene = SyntheticScene(walkers=())
    assert len(HogDetector(confidence=0.3).detect(scene.render(0))) == 0


def test_bytetrack_keeps_one_id_per_walker_through_missed_detections():
    scene = SyntheticScene(
        walkers=(
            Walker(0, 0, 29, start=(150, 200), end=(150, 460)),
            Walker(1, 0, 29, start=(450, 460), end=(450, 200)),
        ),
    )
    tracker = PersonTracker(confidence=0.25, low_confidence=0.1, track_buffer=30)
    ids_per_walker: dict[int, set[int]] = {0: set(), 1: set()}
    frame = np.zeros((480, 640, 3), np.uint8)
    for k in range(30):
        rows = []
        for i, w in enumerate(scene.walkers):
            if k % 7 == 3 and i == 0:
                continue  # the detector misses walker 0 now and then
            rows.append([*scene.box(w, k), 0.9, 0])
        tracked = tracker.update(Detections(np.array(rows, np.float32)), frame)
        for row in tracked:
            x = (row[0] + row[2]) / 2
            ids_per_walker[0 if x < 320 else 1].add(int(row[4]))
    assert all(len(ids) == 1 for ids in ids_per_walker.values()), ids_per_walker
    assert ids_per_walker[0] != ids_per_walker[1]


def test_tracks_are_scaled_to_the_configured_frame_and_clipped():
    tracked = np.array(
        [
            [10, 20, 110, 220, 1, 0.8, 0],  # inside
            [600, 400, 700, 500, 2, 0.5, 0],  # past the right and bottom border
            [700, 10, 800, 50, 3, 0.5, 0],  # entirely outside: dropped
        ],
        dtype=np.float64,
    )
    tracks = to_tracks(tracked, (640, 480), (1280, 960))
    assert [t.id for t in tracks] == [1, 2]
    assert tracks[0].box == (20.0, 40.0, 220.0, 440.0)
    assert tracks[1].box == (1200.0, 800.0, 1280.0, 960.0)
    assert tracks[0].confidence == pytest.approx(0.8)


def test_yolo_needs_a_weights_file_and_never_downloads(tmp_path):
    with pytest.raises(ConfigurationError, match="needs weights"):
        make_detector(CameraSettings(detector="yolo"))
    with pytest.raises(ConfigurationError, match="not found"):
        make_detector(CameraSettings(detector="yolo", weights=str(tmp_path / "yolov8n.pt")))


def test_yolo_runs_offline_on_an_untrained_model():
    # yolov8n.yaml builds the network without weights: its boxes are noise,
    # but the whole path (ultralytics, people filter, Boxes -> ByteTrack) runs.
    detector = make_detector(CameraSettings(detector="yolo", weights="yolov8n.yaml", imgsz=320))
    assert detector.label == "yolo:yolov8n.yaml"
    scene, _ = crossing_scene()
    image = scene.render(10)
    dets = detector.detect(image)
    assert dets.data.shape[1] == 6 and np.all(dets.data[:, 5] == 0)
    tracker = PersonTracker()
    assert tracker.update(dets, image).shape[1] == 7
