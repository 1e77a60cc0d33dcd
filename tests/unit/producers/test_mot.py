import pytest

from producers.mot import MotFormatError, read_mot
from schemas.config import load_plant_config
from streams.core.counting import LineCounter


def test_mot_file_replays_through_the_core(tmp_path):
    # Track 3 walks down across gate-north (y=360) between frames 2 and 3.
    path = tmp_path / "tracks.txt"
    path.write_text(
        "1,3,270,180,60,150,0.9,-1,-1,-1\n"
        "2,3,270,200,60,150,0.9,-1,-1,-1\n"
        "3,3,270,240,60,150,-1,-1,-1,-1\n"
        "5,3,270,260,60,150,0.8,-1,-1,-1\n"
    )
    plant = load_plant_config("config/demo-plant.toml")
    frames = list(read_mot(path, "cam-north", 1280, 720, fps=10))
    assert [f.frame_seq for f in frames] == [1, 2, 3, 4, 5]
    assert frames[3].tracks == ()  # a gap becomes a heartbeat
    counter = LineCounter("cam-north", plant.lines_for("cam-north"), plant.version)
    events = [e for f in frames for e in counter.trigger(f)]
    assert [(e.line_id, e.direction, e.frame_seq) for e in events] == [("gate-north", "in", 3)]


def test_bad_mot_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("1,1,10,10,5,5,1\n2,x,10,10,5,5,1\n")
    with pytest.raises(MotFormatError, match=r"bad.txt:2"):
        list(read_mot(path, "cam", 100, 100))
