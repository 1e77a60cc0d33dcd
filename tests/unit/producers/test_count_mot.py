import json

import pytest

from producers.count_mot import count, main, parse_line

MOT = (
    # Track 3 walks down across y=360 between frames 2 and 3; track 4 walks back up.
    "1,3,270,180,60,150,0.9,-1,-1,-1\n"
    "2,3,270,200,60,150,0.9,-1,-1,-1\n"
    "3,3,270,240,60,150,-1,-1,-1,-1\n"
    "5,3,270,260,60,150,0.8,-1,-1,-1\n"
    "6,4,700,260,60,150,0.8,-1,-1,-1\n"
    "7,4,700,180,60,150,0.8,-1,-1,-1\n"
)


@pytest.fixture
def mot(tmp_path):
    path = tmp_path / "tracks.txt"
    path.write_text(MOT)
    return path


def test_lines_from_the_command_line(mot, capsys):
    assert main([str(mot), "--line", "gate=100,360,900,360", "--events"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lines"] == {"gate": {"in": 1, "out": 1}}
    assert out["frames"] == 7 and out["tracks"] == 2
    assert [(c["track"], c["direction"], c["frame"]) for c in out["crossings"]] == [
        (3, "in", 3),
        (4, "out", 7),
    ]


def test_lines_from_a_toml_file(mot, tmp_path, capsys):
    toml = tmp_path / "lines.toml"
    toml.write_text(
        '[[lines]]\nid = "gate"\npoints = [[900, 360], [100, 360]]\n'
        '[[lines]]\nid = "half"\npoints = [[100, 360], [500, 360]]\nallowed = "in"\n'
    )
    assert main([str(mot), "--lines", str(toml)]) == 0
    out = json.loads(capsys.readouterr().out)
    # Drawn right to left, "in" is walking up the image.
    assert out["lines"] == {"gate": {"in": 1, "out": 1}, "half": {"in": 1, "out": 0}}


def test_lines_of_one_camera_of_a_plant_config(mot, capsys):
    assert main([str(mot), "--lines", "config/demo-plant.toml", "--camera", "cam-north"]) == 0
    assert set(json.loads(capsys.readouterr().out)["lines"]) == {"gate-north", "door-workshop"}


@pytest.mark.parametrize(
    "args",
    [
        ["--line", "gate"],
        ["--line", "gate=1,2,3"],
        ["--line", "a=0,0,10,10", "--line", "a=0,5,10,5"],
        ["--lines", "config/demo-plant.toml"],  # two cameras: which one?
    ],
)
def test_bad_lines_are_reported_not_raised(mot, capsys, args):
    assert main([str(mot), *args]) == 2
    assert "count_mot:" in capsys.readouterr().err


def test_count_is_the_core_with_its_options(mot):
    gate = parse_line("gate=100,360,400,360", {"from_zone": "a", "to_zone": "b"})
    assert count(mot, [gate], fps=10)["lines"] == {"gate": {"in": 1, "out": 0}}
    wide = count(mot, [gate], fps=10, extend_lines=True)  # track 4 passes beyond x=400
    assert wide["lines"] == {"gate": {"in": 1, "out": 1}}
