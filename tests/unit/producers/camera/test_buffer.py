import threading
import time
from datetime import UTC, datetime

import numpy as np
import pytest

from producers.camera.buffer import CapturedFrame, FrameBuffer


def frame(seq: int, age: float = 0.0) -> CapturedFrame:
    return CapturedFrame(
        np.zeros((2, 2, 3), np.uint8), seq, datetime.now(UTC), time.monotonic() - age
    )


def test_live_buffer_drops_the_oldest_frames_and_reports_them():
    dropped: list[int] = []
    buf = FrameBuffer(2, block=False, on_drop=dropped.append)
    for seq in range(5):
        assert buf.put(frame(seq))
    assert [buf.get(0).seq, buf.get(0).seq] == [3, 4]
    assert buf.get(0) is None
    assert buf.dropped == 3 and sum(dropped) == 3


def test_stale_frames_are_dropped_when_taken():
    buf = FrameBuffer(4, block=False, max_age_s=1.0)
    buf.put(frame(1, age=5.0))
    buf.put(frame(2))
    got = buf.get(0)
    assert got is not None and got.seq == 2
    assert buf.dropped == 1


def test_file_buffer_blocks_instead_of_dropping():
    buf = FrameBuffer(1, block=True)
    assert buf.put(frame(1))
    assert not buf.put(frame(2), timeout=0.05)  # full: waits, then gives up
    taken: list[int] = []

    def consume() -> None:
        time.sleep(0.05)
        f = buf.get(1)
        assert f is not None
        taken.append(f.seq)

    t = threading.Thread(target=consume)
    t.start()
    assert buf.put(frame(3), timeout=2)  # room made by the consumer
    t.join()
    assert taken == [1] and buf.get(0).seq == 3 and buf.dropped == 0


def test_closed_buffer_drains_then_ends_and_refuses_frames():
    buf = FrameBuffer(3, block=True)
    buf.put(frame(1))
    buf.close()
    assert not buf.put(frame(2))
    assert buf.get(0.01).seq == 1
    assert buf.get(None) is None  # no wait once closed and empty


def test_buffer_needs_room_for_one_frame():
    with pytest.raises(ValueError):
        FrameBuffer(0, block=False)
