import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from producers.camera.health import HealthMonitor
from schemas.health import CameraHealth

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
BASE = dict(
    camera_id="cam-north",
    producer_id="edge-1:4242",
    status="online",
    at=NOW,
    started_at=NOW,
    interval_s=5.0,
    source="rtsp://***@10.0.0.21/s1",
    detector="yolo:yolov8n.pt",
    frames_in=10,
    frames_processed=5,
    frames_published=9,
    frames_skipped=1,
    frames_duplicate=4,
    frames_dropped=0,
    read_errors=0,
    publish_errors=0,
    reconnects=0,
    capture_fps=10.0,
    processed_fps=5.0,
)


def test_health_event_round_trips_through_json():
    event = CameraHealth(**BASE)
    again = CameraHealth.model_validate_json(event.model_dump_json())
    assert again == event
    assert json.loads(event.model_dump_json())["type"] == "CameraHealth"
    schema = CameraHealth.model_json_schema(mode="serialization")
    assert schema["additionalProperties"] is False
    assert "frames_in" in schema["required"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"at": datetime(2026, 3, 1, 12)}, "time zone"),
        ({"status": "sleeping"}, "status"),
        ({"frames_in": -1}, "greater than or equal"),
        ({"camera_id": "bad id"}, "pattern"),
        ({"colour": "red"}, "Extra inputs"),
        ({"schema_version": 2}, "schema_version"),
    ],
)
def test_health_event_rejects_impossible_input(change, fragment):
    with pytest.raises(ValidationError, match=fragment):
        CameraHealth(**{**BASE, **change})


def test_monitor_counts_rates_and_keeps_terminal_states():
    seen: list[str] = []
    mon = HealthMonitor("cam", "/v.mp4", "hog", 5.0, on_status=seen.append)
    assert mon.snapshot().status == "starting"
    for _ in range(4):
        mon.frame_in(NOW, (640, 480))
    mon.processed(0.02)
    mon.processed(0.04)
    for what in ("skipped", "duplicate", "dropped", "read_errors", "reconnects", "published"):
        mon.count(what)
    mon.error("x" * 5000)
    snap = mon.snapshot()
    assert (snap.frames_in, snap.frames_processed, snap.frames_skipped) == (4, 2, 1)
    assert (snap.frame_width, snap.frame_height) == (640, 480)
    assert snap.processing_ms == pytest.approx(30.0)
    assert snap.capture_fps > 0 and len(snap.last_error or "") == 2000
    assert mon.snapshot().capture_fps == 0.0  # rates are per interval
    mon.set_status("failed")
    mon.set_status("online")  # a late frame does not revive a failed camera
    mon.set_status("stopped")
    assert seen == ["online", "failed", "stopped"]
    with pytest.raises(ValueError):
        mon.count("nonsense")
