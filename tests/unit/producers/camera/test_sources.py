import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from producers.camera.buffer import FrameBuffer
from producers.camera.errors import SourceError
from producers.camera.health import HealthMonitor
from producers.camera.pacing import FramePacer
from producers.camera.settings import CameraSettings
from producers.camera.sources import (
    Backoff,
    CaptureWorker,
    classify_source,
    open_capture,
    redact_source,
)

cv2 = pytest.importorskip("cv2")


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("rtsp://cam.local:554/stream1", "stream"),
        ("RTSPS://cam/x", "stream"),
        ("http://10.0.0.5/mjpg/video.mjpg", "stream"),
        ("https://cam/snap", "stream"),
        ("rtmp://relay/live", "stream"),
        ("0", "device"),
        ("/dev/video2", "device"),
        ("/srv/videos/gate.mp4", "file"),
        ("file:///srv/videos/gate.mp4", "file"),
        ("gate.avi", "file"),
    ],
)
def test_classify_source(source, kind):
    assert classify_source(source) == kind


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("rtsp://admin:s3cret@10.0.0.21:554/s1", "rtsp://***@10.0.0.21:554/s1"),
        ("http://user@cam/video.mjpg", "http://***@cam/video.mjpg"),
        (
            "http://cam/video.cgi?user=a&password=hunter2&x=1",
            "http://cam/video.cgi?user=a&password=***&x=1",
        ),
        ("/srv/videos/gate.mp4", "/srv/videos/gate.mp4"),
    ],
)
def test_credentials_never_leave_the_producer(source, shown):
    assert redact_source(source) == shown


def test_backoff_doubles_with_jitter_up_to_the_cap_and_resets():
    b = Backoff(0.5, 4.0, random.Random(3))
    delays = [b.next_delay() for _ in range(6)]
    for d, cap in zip(delays, [0.5, 1.0, 2.0, 4.0, 4.0, 4.0], strict=True):
        assert cap / 2 <= d <= cap
    b.reset()
    assert b.next_delay() <= 0.5


# ---------------------------------------------------------------- fake captures


class FakeCapture:
    """Plays a script: an image, "corrupt" (grab ok, retrieve fails), "badgrab"."""

    def __init__(self, script: list, fps: float = 10.0, file_frames: int = 0) -> None:
        self.script = list(script)
        self.fps = fps
        self.file_frames = file_frames
        self.pos = 0
        self.current = None
        self.released = False

    def grab(self) -> bool:
        if not self.script:
            return False
        self.current = self.script.pop(0)
        self.pos += 1
        return not (isinstance(self.current, str) and self.current == "badgrab")

    def retrieve(self):
        if isinstance(self.current, str):
            return False, None
        return True, self.current

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_FPS:
            return self.fps
        if prop == cv2.CAP_PROP_FRAME_COUNT:
            return float(self.file_frames)
        if prop == cv2.CAP_PROP_POS_FRAMES:
            return float(self.pos)
        return 0.0

    def release(self) -> None:
        self.released = True


def img(v: int = 100) -> np.ndarray:
    return np.full((48, 64, 3), v, np.uint8)


class Opener:
    """Returns the prepared outcomes in turn; stops the worker when they run out."""

    def __init__(self, outcomes: list) -> None:
        self.outcomes = outcomes
        self.calls = 0
        self.worker: CaptureWorker | None = None

    def __call__(self, source, kind, settings):
        self.calls += 1
        if not self.outcomes:
            assert self.worker is not None
            self.worker.stop()
            raise SourceError("script over")
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def backwards_clock() -> Iterator[datetime]:
    t = datetime(2026, 3, 1, 12, tzinfo=UTC)
    while True:
        yield t
        t -= timedelta(milliseconds=1)  # an NTP step back at every frame


@dataclass
class Rig:
    worker: CaptureWorker
    buffer: FrameBuffer
    health: HealthMonitor
    statuses: list[str]
    opener: Opener

    def run(self) -> list:
        self.worker.start()
        self.worker.join(5)
        assert not self.worker.is_alive()
        return drain(self.buffer)


def make_worker(source: str, outcomes: list, **settings) -> Rig:
    st = CameraSettings(
        detector="hog",
        reconnect_initial_s=0.01,
        reconnect_max_s=0.02,
        max_fps=None,
        **settings,
    )
    statuses: list[str] = []
    health = HealthMonitor("cam", redact_source(source), "hog", 1.0, on_status=statuses.append)
    buffer = FrameBuffer(100, block=not st.realtime)
    opener = Opener(outcomes)
    clock = backwards_clock()
    worker = CaptureWorker(
        "cam",
        source,
        st,
        buffer,
        FramePacer(st.max_fps),
        health,
        opener=opener,
        clock=lambda: next(clock),
    )
    opener.worker = worker
    return Rig(worker, buffer, health, statuses, opener)


def drain(buffer: FrameBuffer) -> list:
    out = []
    while (f := buffer.get(0)) is not None:
        out.append(f)
    return out


def test_stream_is_reopened_after_failures_and_drops():
    rig = make_worker(
        "rtsp://u:p@cam/s",
        [
            SourceError("stream rtsp://***@cam/s cannot be opened"),
            FakeCapture([img(), img(), img()]),  # then the connection closes
            FakeCapture([img(), img()]),
        ],
    )
    frames = rig.run()
    assert [f.seq for f in frames] == [0, 1, 2, 3, 4]  # numbering goes on across reconnects
    stamps = [f.captured_at for f in frames]
    assert stamps == sorted(stamps) and len(set(stamps)) == 5  # strictly increasing
    assert rig.health.reconnects == 1 and rig.health.frames_in == 5
    assert rig.statuses[:3] == ["reconnecting", "online", "reconnecting"]
    assert "closed" in (rig.health.last_error or "") or "script over" in (
        rig.health.last_error or ""
    )
    assert rig.buffer.closed


def test_corrupt_frames_are_counted_and_the_stream_goes_on():
    rig = make_worker(
        "http://cam/video.mjpg",
        [FakeCapture([img(), "corrupt", img(), "badgrab", img()])],
    )
    assert len(rig.run()) == 3
    assert rig.health.read_errors == 2  # not the failed grabs of the closed stream at the end


def test_a_stream_that_only_sends_garbage_counts_as_dropped():
    rig = make_worker("http://cam/video.mjpg", [FakeCapture(["corrupt"] * 30)])
    assert rig.run() == []
    assert "reconnecting" in rig.statuses
    assert "undecodable" in (rig.health.last_error or "") or "script over" in (
        rig.health.last_error or ""
    )


def test_missing_file_fails_at_once_with_a_clear_error(tmp_path):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(SourceError, match=r"nope.mp4 does not exist"):
        open_capture(str(missing), "file", CameraSettings())
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00not a video" * 500)
    with pytest.raises(SourceError, match=r"garbage.mp4 cannot be decoded"):
        open_capture(str(garbage), "file", CameraSettings())

    rig = make_worker(
        str(missing), [SourceError(f"video file {missing} does not exist or is not a file")]
    )
    assert rig.run() == []
    assert rig.opener.calls == 1  # a configuration mistake is not retried
    assert rig.statuses == ["failed"] and isinstance(rig.worker.failure, SourceError)
    assert rig.buffer.closed and drain(rig.buffer) == []


def test_unreachable_stream_fails_to_open_quickly():
    with pytest.raises(SourceError, match=r"stream http://\*\*\*@127.0.0.1:9/x cannot be opened"):
        open_capture("http://user:pw@127.0.0.1:9/x", "stream", CameraSettings(open_timeout_s=2))


def test_file_frames_are_stamped_with_video_time_and_looped():
    rig = make_worker(
        "/videos/a.mp4",
        [FakeCapture([img()] * 3, file_frames=3), FakeCapture([img()] * 3, file_frames=3)],
        realtime=False,
        loop=True,
    )
    frames = rig.run()
    assert [f.seq for f in frames] == list(range(6))
    assert rig.health.reconnects == 0  # a loop is not a reconnect
    gaps = {
        round((b.captured_at - a.captured_at).total_seconds(), 6)
        for a, b in itertools.pairwise(frames)
    }
    assert gaps == {0.1}  # 10 fps video time, also across the loop


def test_damaged_packet_in_a_file_is_skipped_not_the_end():
    rig = make_worker(
        "/videos/a.mp4",
        [FakeCapture([img(), "badgrab", img(), img()], file_frames=4)],
        realtime=False,
    )
    assert len(rig.run()) == 3
    assert rig.health.read_errors == 1
    assert rig.statuses[-1] == "ended"


def test_empty_file_fails():
    rig = make_worker("/videos/empty.mp4", [FakeCapture([], file_frames=0)], realtime=False)
    assert rig.run() == []
    assert rig.statuses == ["failed"]
    assert "no decodable frame" in str(rig.worker.failure)
