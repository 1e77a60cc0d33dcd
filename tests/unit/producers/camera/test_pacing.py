import importlib.util

import numpy as np
import pytest

from producers.camera.pacing import DuplicateFilter, FramePacer, resize_frame

# The pacer is plain Python; the duplicate filter and resizing use OpenCV.
needs_cv2 = pytest.mark.skipif(
    importlib.util.find_spec("cv2") is None,
    reason="OpenCV is in the camera extra (make camera-setup)",
)


def admitted(pacer: FramePacer, times: list[float]) -> list[int]:
    return [i for i, t in enumerate(times) if pacer.admit(t)]


@pytest.mark.parametrize(
    ("fps_in", "max_fps", "frame_skip", "seconds", "expected"),
    [
        (30.0, 10.0, 0, 3.0, 30),  # exactly a third, not 7.5 fps
        (10.0, 2.0, 0, 8.0, 16),  # exactly a fifth
        (25.0, 10.0, 0, 4.0, 40),  # uneven ratio: 10/s on average
        (10.0, 10.0, 0, 3.0, 30),  # at the limit: every frame
        (5.0, 10.0, 0, 4.0, 20),  # below the limit: every frame
        (30.0, None, 2, 3.0, 30),  # every third frame
        (30.0, 5.0, 1, 4.0, 20),  # skip, then rate
    ],
)
def test_pacer_rates(fps_in, max_fps, frame_skip, seconds, expected):
    pacer = FramePacer(max_fps, frame_skip)
    times = [i / fps_in for i in range(int(fps_in * seconds))]
    assert len(admitted(pacer, times)) == expected


def test_pacer_tolerates_jitter_and_does_not_burst_after_a_stall():
    pacer = FramePacer(10.0)
    rng = np.random.default_rng(1)
    times = [i / 30 + rng.uniform(-0.004, 0.004) for i in range(90)]
    assert len(admitted(pacer, times)) == 30
    # Nothing for 5 s, then 30 fps again: one frame per 0.1 s, not a catch-up burst.
    later = [10.0 + i / 30 for i in range(9)]
    assert admitted(pacer, later) == [0, 3, 6]


def test_pacer_rejects_nonsense():
    with pytest.raises(ValueError):
        FramePacer(0)
    with pytest.raises(ValueError):
        FramePacer(None, -1)


def scene(person_x: int | None, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((360, 640, 3), 120, np.uint8)
    img = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)  # sensor noise
    if person_x is not None:
        img[150:310, person_x : person_x + 60] = 30
    return img


@needs_cv2
def test_duplicate_filter_ignores_noise_but_sees_a_person_move():
    dup = DuplicateFilter(threshold=0.75, max_age_s=10.0)
    assert not dup.is_duplicate(scene(100, 0), 0.0)  # first frame: reference
    assert dup.is_duplicate(scene(100, 1), 0.1)  # same picture, new noise
    assert dup.is_duplicate(scene(100, 2), 0.2)
    assert not dup.is_duplicate(scene(130, 3), 0.3)  # the person moved 30 px
    assert dup.is_duplicate(scene(132, 4), 0.4)  # 2 px: below the threshold...
    assert not dup.is_duplicate(scene(140, 5), 0.5)  # ...but drift adds up against the reference


@needs_cv2
def test_duplicate_filter_redetects_a_frozen_picture_now_and_then():
    dup = DuplicateFilter(threshold=0.75, max_age_s=1.0)
    frozen = scene(100, 0)
    flags = [dup.is_duplicate(frozen, k * 0.25) for k in range(9)]
    assert flags == [False, True, True, True, False, True, True, True, False]


@needs_cv2
def test_duplicate_filter_disabled_and_size_changes():
    assert not DuplicateFilter(0.0, 1.0).is_duplicate(scene(1, 0), 0.0)
    dup = DuplicateFilter(1.0, 10.0)
    dup.is_duplicate(scene(100, 0), 0)
    assert not dup.is_duplicate(np.zeros((100, 100, 3), np.uint8), 0.1)  # new shape: new reference


@needs_cv2
def test_resize_frame():
    img = np.zeros((480, 640, 3), np.uint8)
    assert resize_frame(img, None) is img
    assert resize_frame(img, (640, 480)) is img
    assert resize_frame(img, (320, 240)).shape == (240, 320, 3)
    assert resize_frame(img, (1280, 720)).shape == (720, 1280, 3)
