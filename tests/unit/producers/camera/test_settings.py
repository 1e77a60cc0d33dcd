import pytest

from producers.camera.errors import ConfigurationError
from producers.camera.settings import CameraSettings, ProducerSettings, load_producer_settings


def test_camera_tables_override_defaults_field_by_field(tmp_path):
    path = tmp_path / "producer.toml"
    path.write_text(
        """
health_interval_s = 2.0

[defaults]
detector = "yolo"
weights = "/opt/models/yolov8n.pt"
max_fps = 8

[cameras.cam-north]
source = "rtsp://u:p@10.0.0.21/s1"
resize = [960, 540]

[cameras.cam-south]
detector = "hog"
max_fps = 4
"""
    )
    settings = load_producer_settings(path)
    north = settings.for_camera("cam-north")
    south = settings.for_camera("cam-south")
    other = settings.for_camera("cam-east", max_fps=None, detector="hog")
    assert (north.detector, north.max_fps, north.resize) == ("yolo", 8, (960, 540))
    assert (south.detector, south.max_fps, south.weights) == ("hog", 4, "/opt/models/yolov8n.pt")
    assert (other.detector, other.max_fps) == ("hog", 8)  # None means "not given"
    assert settings.health_interval_s == 2.0
    assert load_producer_settings(None) == ProducerSettings()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[defaults]\nmax_fps = -1", "max_fps"),
        ("[cameras.cam-a]\nresize = [0, 10]", "cameras.cam-a"),
        ("[defaults]\nconfidence = 0.05", "track_low_confidence"),
        ("[defaults]\ncolour = 'red'", "Extra inputs"),
        ("[defaults\n", "not valid TOML"),
    ],
)
def test_bad_settings_name_what_is_wrong(tmp_path, text, fragment):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=fragment):
        load_producer_settings(path)


def test_missing_settings_file(tmp_path):
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_producer_settings(tmp_path / "none.toml")


def test_detector_label():
    assert CameraSettings(weights="/m/yolov8s.pt").detector_label() == "yolo:yolov8s.pt"
    assert CameraSettings(detector="hog").detector_label() == "hog"
