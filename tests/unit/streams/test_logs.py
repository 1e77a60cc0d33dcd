"""Log lines: JSON objects off a terminal, text on one, the message text unchanged."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from datetime import datetime

import pytest

from streams import logs
from streams.readiness import READY_MESSAGE


def record(
    msg: str, *args: object, level: int = logging.INFO, exc_info=None, extra=None
) -> logging.LogRecord:
    return logging.getLogger("streams.readiness").makeRecord(
        "streams.readiness", level, __file__, 1, msg, args, exc_info, extra=extra
    )


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_json_line_has_the_fields_and_the_exact_message_text():
    rec = record("%s: owns %d/%d source partitions", READY_MESSAGE, 28, 28)
    rec.created = 1767693600.123456  # 2026-01-06T10:00:00.123 UTC
    line = json.loads(logs.JsonFormatter().format(rec))
    assert line == {
        "ts": "2026-01-06T10:00:00.123Z",
        "level": "INFO",
        "logger": "streams.readiness",
        "pid": rec.process,
        "message": f"{READY_MESSAGE}: owns 28/28 source partitions",
    }
    # What deploy/up.sh and the tests grep for is in the raw line too.
    raw = logs.JsonFormatter().format(rec)
    assert "\n" not in raw
    assert re.search(rf'"pid":{rec.process},.*{READY_MESSAGE}: owns 28/28 source partitions', raw)


def test_extra_fields_and_the_traceback_come_along_as_strings():
    try:
        raise ValueError("bad frame")
    except ValueError:
        rec = record(
            "dead letter from %s",
            "det.v1",
            level=logging.WARNING,
            exc_info=sys.exc_info(),
            extra={"partition": 3, "camera": "cam-north", "at": datetime(2026, 1, 6)},
        )
    line = json.loads(logs.JsonFormatter().format(rec))
    assert line["level"] == "WARNING"
    assert line["message"] == "dead letter from det.v1"
    assert line["partition"] == 3 and line["camera"] == "cam-north"
    assert line["at"] == "2026-01-06T00:00:00"
    assert line["exc_info"].startswith("Traceback (most recent call last):")
    assert line["exc_info"].rstrip().endswith("ValueError: bad frame")


def test_an_extra_field_never_replaces_the_own_fields():
    rec = record("hello")
    rec.__dict__["level"] = "spoofed"
    assert json.loads(logs.JsonFormatter().format(rec))["level"] == "INFO"


def test_uvicorns_coloured_copy_of_the_message_is_left_out():
    rec = record("Started server process [%d]", 42, extra={"color_message": "\x1b[36m%d\x1b[0m"})
    line = json.loads(logs.JsonFormatter().format(rec))
    assert set(line) == {"ts", "level", "logger", "pid", "message"}
    assert line["message"] == "Started server process [42]"


@pytest.mark.parametrize(
    ("env", "tty", "expected"),
    [
        (None, False, True),  # a file or a pipe: JSON
        (None, True, False),  # a terminal: text
        ("json", True, True),
        ("text", False, False),
        (" JSON ", True, True),
    ],
)
def test_json_is_chosen_off_a_terminal_unless_overridden(monkeypatch, env, tty, expected):
    if env is None:
        monkeypatch.delenv(logs.ENV, raising=False)
    else:
        monkeypatch.setenv(logs.ENV, env)
    stream = Tty() if tty else io.StringIO()
    assert logs.json_wanted(stream) is expected


def test_an_unknown_format_is_an_error(monkeypatch):
    monkeypatch.setenv(logs.ENV, "yaml")
    with pytest.raises(ValueError, match="OCC_LOG_FORMAT"):
        logs.json_wanted(io.StringIO())


def test_auto_formatter_writes_text_when_text_is_wanted(monkeypatch):
    monkeypatch.setenv(logs.ENV, "text")
    text = logs.AutoFormatter().format(record("worker %s", "ready"))
    assert text.endswith(" INFO streams.readiness worker ready")
    monkeypatch.setenv(logs.ENV, "json")
    assert json.loads(logs.AutoFormatter().format(record("worker %s", "ready")))["message"] == (
        "worker ready"
    )


def test_configure_replaces_the_root_handlers(monkeypatch, capsys):
    monkeypatch.setenv(logs.ENV, "json")
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logs.configure(logging.INFO)
        assert len(root.handlers) == 1
        logging.getLogger("producers.camera").info("camera %s online", "cam-north")
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert line["logger"] == "producers.camera"
        assert line["message"] == "camera cam-north online"
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_the_worker_keeps_fausts_text_on_a_terminal_and_gets_json_off_one(monkeypatch):
    monkeypatch.setenv(logs.ENV, "text")
    assert logs.faust_logging_config() is None
    monkeypatch.setenv(logs.ENV, "json")
    config = logs.faust_logging_config()
    assert config is not None and config["merge"] is True  # keeps the level of `-l`
    formatter = config["formatters"][config["handlers"]["default"]["formatter"]]
    assert formatter["()"] == "streams.logs.JsonFormatter"
