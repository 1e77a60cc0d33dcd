from datetime import datetime

import pytest
from pydantic import ValidationError

from schemas.config import load_plant_config
from schemas.events import FrameDetections
from schemas.export import stale_files


def test_committed_json_schemas_are_up_to_date():
    assert stale_files() == [], "run: python -m schemas.export"


def test_demo_plant_config_loads():
    plant = load_plant_config("config/demo-plant.toml")
    assert {z.id for z in plant.zones} >= {"facility", "lobby"}
    assert len(plant.version) == 16


BASE = dict(camera_id="cam", frame_seq=1, frame_width=640, frame_height=480)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"captured_at": datetime(2026, 1, 1)}, "time zone"),
        (
            {"captured_at": "2026-01-01T00:00:00Z", "tracks": [{"id": 1, "box": [5, 5, 1, 9]}]},
            "x1 < x2",
        ),
        (
            {"captured_at": "2026-01-01T00:00:00Z", "tracks": [{"id": 1, "box": [0, 0, 9000, 10]}]},
            "outside",
        ),
        ({"captured_at": "2026-01-01T00:00:00Z", "frame_width": 0}, "greater than 0"),
        ({"captured_at": "2026-01-01T00:00:00Z", "extra": 1}, "Extra inputs"),
    ],
)
def test_frame_detections_rejects_impossible_input(change, fragment):
    with pytest.raises(ValidationError, match=fragment):
        FrameDetections.model_validate({**BASE, **change})
