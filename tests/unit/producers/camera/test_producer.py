"""The whole producer on synthetic videos, publishing to memory (no Kafka)."""

import asyncio
import importlib.util
import itertools
from pathlib import Path

import pytest

from producers.camera.errors import ConfigurationError
from producers.camera.producer import CameraProducer, build_producers, run_producers
from producers.camera.publisher import MemoryPublisher
from producers.camera.settings import CameraSettings, ProducerSettings
from producers.camera.synthetic import SyntheticScene, crossing_scene
from schemas.config import CameraConfig, LineConfig, PlantConfig
from schemas.events import FrameDetections
from streams.core.counting import LineCounter

if importlib.util.find_spec("cv2") is None or importlib.util.find_spec("ultralytics") is None:
    pytest.skip("needs the camera extra", allow_module_level=True)

CAMERA = "cam-synthetic"


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, tuple[Path, SyntheticScene, LineConfig]]:
    d = tmp_path_factory.mktemp("videos")
    # 480x360 with a coarser HOG pyramid: ~12 ms a frame, and still no miss.
    scene, line = crossing_scene(width=480, height=360)
    big, big_line = crossing_scene(width=960, height=720)
    return {
        "plain": (scene.write(d / "plain.mp4"), scene, line),
        "repeated": (scene.write(d / "repeated.avi", repeat_each=2), scene, line),
        "big": (big.write(d / "big.mp4"), big, big_line),
    }


def plant_for(path: Path, scene: SyntheticScene, line: LineConfig) -> PlantConfig:
    return PlantConfig(
        zones=[{"id": "room"}],
        cameras=[{"id": CAMERA, "width": scene.width, "height": scene.height, "source": str(path)}],
        lines=[line],
    )


def count(frames: list[FrameDetections], plant: PlantConfig) -> dict[str, int]:
    counter = LineCounter(CAMERA, plant.lines_for(CAMERA), plant.version)
    counts = {"in": 0, "out": 0}
    for f in frames:
        for e in counter.trigger(f):
            counts[e.direction] += 1
    return counts


def run(producers, stop_after: float | None = None) -> tuple[dict, MemoryPublisher]:
    publisher = MemoryPublisher()

    async def main():
        stop = asyncio.Event()
        if stop_after is not None:
            asyncio.get_running_loop().call_later(stop_after, stop.set)
        return await run_producers(producers, publisher, stop=stop, handle_signals=False)

    return asyncio.run(main()), publisher


def hog(**kw) -> ProducerSettings:
    fields = {"detector": "hog", "hog_scale": 1.1, "realtime": False, "max_fps": None, **kw}
    return ProducerSettings(defaults=CameraSettings(**fields), health_interval_s=0.5)


def test_published_tracks_cross_the_line_as_the_people_did(videos):
    path, scene, line = videos["plain"]
    plant = plant_for(path, scene, line)
    statuses, pub = run(build_producers(plant, None, hog()))
    assert statuses == {CAMERA: "ended"}
    assert count(pub.frames, plant) == scene.truth(line) == {"in": 2, "out": 1}
    assert [f.frame_seq for f in pub.frames] == list(range(scene.frames))
    gaps = {
        round((b.captured_at - a.captured_at).total_seconds(), 6)
        for a, b in itertools.pairwise(pub.frames)
    }
    assert gaps == {0.1}  # video time at 10 fps
    assert all((f.frame_width, f.frame_height) == (480, 360) for f in pub.frames)
    last = pub.health[-1]
    assert last.status == "ended" and last.detector == "hog"
    assert last.frames_in == last.frames_published == scene.frames
    assert last.frames_processed + last.frames_duplicate == scene.frames
    assert pub.health[0].status in ("starting", "online")


def test_duplicate_frames_are_not_detected_but_keep_their_tracks(videos):
    path, scene, line = videos["repeated"]
    plant = plant_for(path, scene, line)
    _, pub = run(build_producers(plant, None, hog()))
    last = pub.health[-1]
    assert last.frames_in == 2 * scene.frames
    assert last.frames_duplicate >= scene.frames * 0.9  # every repeat, and the empty tail
    assert last.frames_processed <= scene.frames + 2
    # A repeated frame re-sends the previous frame's tracks.
    by_seq = {f.frame_seq: f for f in pub.frames}
    assert all(by_seq[k + 1].tracks == by_seq[k].tracks for k in range(0, 2 * scene.frames, 2))
    assert count(pub.frames, plant) == scene.truth(line)


def test_resize_and_max_fps_still_count_in_the_configured_pixels(videos):
    path, scene, line = videos["big"]
    plant = plant_for(path, scene, line)
    settings = hog(resize=(480, 360), max_fps=5.0)
    _, pub = run(build_producers(plant, None, settings))
    assert len(pub.frames) == scene.frames // 2  # 10 fps video, 5 fps detector
    assert {b.frame_seq - a.frame_seq for a, b in itertools.pairwise(pub.frames)} == {2}
    assert all((f.frame_width, f.frame_height) == (960, 720) for f in pub.frames)
    assert max(t.box[2] for f in pub.frames for t in f.tracks) > 600  # boxes scaled back up
    assert pub.health[-1].frames_skipped == scene.frames // 2
    assert count(pub.frames, plant) == scene.truth(line)


def test_stop_finishes_the_frame_in_flight_and_says_stopped(videos):
    path, scene, line = videos["plain"]
    plant = plant_for(path, scene, line)
    settings = ProducerSettings(
        defaults=CameraSettings(detector="hog", hog_scale=1.1), health_interval_s=0.2
    )
    statuses, pub = run(build_producers(plant, None, settings), stop_after=1.5)
    assert statuses == {CAMERA: "stopped"}
    assert pub.flushed == 1
    assert 3 <= len(pub.frames) < scene.frames  # realtime: ~10 fps until stopped
    assert pub.health[-1].status == "stopped"
    assert pub.health[-1].frames_published == len(pub.frames)
    stamps = [f.captured_at for f in pub.frames]
    assert stamps == sorted(stamps)


def test_missing_file_ends_the_camera_as_failed_with_the_reason(tmp_path):
    missing = tmp_path / "gone.mp4"
    scene, line = crossing_scene()
    plant = plant_for(missing, scene, line)
    statuses, pub = run(build_producers(plant, None, hog()))
    assert statuses == {CAMERA: "failed"}
    assert pub.frames == []
    assert pub.health[-1].status == "failed"
    assert "gone.mp4 does not exist" in (pub.health[-1].last_error or "")


def test_configuration_mistakes_are_reported_before_anything_runs(tmp_path):
    scene, line = crossing_scene()
    plant = plant_for(tmp_path / "v.mp4", scene, line)
    with pytest.raises(ConfigurationError, match=r"unknown camera\(s\) \['cam-x'\]"):
        build_producers(plant, ["cam-x"], hog())
    with pytest.raises(ConfigurationError, match=r"camera cam-synthetic: detector 'yolo' needs"):
        build_producers(plant, None, ProducerSettings())
    no_source = PlantConfig(zones=[{"id": "room"}], cameras=[{"id": CAMERA}], lines=[line])
    with pytest.raises(ConfigurationError, match="has no source"):
        build_producers(no_source, None, hog())


def test_health_never_shows_credentials():
    camera = CameraConfig(id="cam-a", source="rtsp://admin:hunter2@10.1.1.1/s")
    producer = CameraProducer(camera, CameraSettings(detector="hog"))
    assert producer.health.snapshot().source == "rtsp://***@10.1.1.1/s"


def test_yolo_path_runs_end_to_end_without_weights(videos):
    path, scene, line = videos["plain"]
    plant = plant_for(path, scene, line)
    settings = ProducerSettings(
        defaults=CameraSettings(
            detector="yolo", weights="yolov8n.yaml", imgsz=320, realtime=False, max_fps=2.0
        )
    )
    statuses, pub = run(build_producers(plant, None, settings))
    assert statuses == {CAMERA: "ended"}
    assert len(pub.frames) == scene.frames // 5
    assert pub.health[-1].detector == "yolo:yolov8n.yaml"
    assert pub.health[-1].frames_processed + pub.health[-1].frames_duplicate == len(pub.frames)
