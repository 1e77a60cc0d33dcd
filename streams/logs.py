"""Log lines for every process: JSON when stderr is not a terminal, text on one.

A log shipper (journald, Loki, Elasticsearch) wants one JSON object per line;
a person at a terminal wants text. :func:`json_wanted` picks JSON unless the
stream is a terminal; ``OCC_LOG_FORMAT=json`` or ``text`` overrides it.

A JSON line holds ``ts`` (ISO 8601, UTC, milliseconds), ``level``, ``logger``,
``pid``, ``message`` (the formatted message, exactly the text a text line
would carry, so that ``grep "occupancy worker ready"`` matches either form),
``exc_info`` (the formatted traceback, when there is one) and every field
passed with ``extra=``::

    {"ts":"2026-01-06T10:00:00.123Z","level":"INFO","logger":"streams.readiness",
     "pid":4242,"message":"occupancy worker ready: owns 28/28 source partitions (...)"}

Where each process sets it up:

* the worker: :func:`faust_logging_config` is the Faust app's
  ``logging_config`` (:func:`streams.faust_app.create_app`); in text mode
  Faust keeps its own format;
* the API: ``uvicorn --log-config deploy/uvicorn-logging.json`` (its
  formatter is :class:`AutoFormatter`);
* the command-line tools: :func:`configure` instead of ``logging.basicConfig``.

Standard library only, so that any process (API, producers, tools) may import it.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from typing import IO, Any

import orjson

__all__ = [
    "ENV",
    "AutoFormatter",
    "JsonFormatter",
    "configure",
    "faust_logging_config",
    "json_wanted",
]

#: The environment variable that overrides the choice: ``json`` or ``text``.
ENV = "OCC_LOG_FORMAT"

#: The attributes every ``LogRecord`` has; anything else came with ``extra=``.
_STANDARD = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)
#: Fields of the JSON line that an ``extra=`` key must not replace, and extras
#: left out (uvicorn's ``color_message``: the message again, with ANSI colours).
_OWN = frozenset({"ts", "level", "logger", "pid", "message", "exc_info", "stack_info"})
_LEFT_OUT = frozenset({"color_message"})

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def json_wanted(stream: IO[Any] | None = None) -> bool:
    """True for JSON lines: ``OCC_LOG_FORMAT`` if set, else whether ``stream``
    (by default the process's real stderr) is not a terminal."""
    choice = os.environ.get(ENV, "").strip().lower()
    if choice in ("json", "text"):
        return choice == "json"
    if choice:
        raise ValueError(f"{ENV}={choice!r}: expected 'json' or 'text'")
    stream = stream if stream is not None else sys.__stderr__
    try:
        return not (stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return True


def _default(value: object) -> str:
    """JSON for what orjson cannot encode itself (an ``extra=`` object): its ``str``."""
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": message,
        }
        if record.exc_info and not record.exc_text:
            # Cached on the record, as logging.Formatter does, for other handlers.
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _OWN and key not in _LEFT_OUT and key[0] != "_":
                line[key] = value
        return orjson.dumps(
            line, default=_default, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
        ).decode()


class AutoFormatter(logging.Formatter):
    """:class:`JsonFormatter` or text (``fmt``), chosen once by :func:`json_wanted`.

    For configuration files that name one formatter for both cases (uvicorn's
    ``--log-config``): ``{"()": "streams.logs.AutoFormatter"}``.
    """

    def __init__(self, fmt: str | None = TEXT_FORMAT, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)
        self._json = JsonFormatter() if json_wanted() else None

    def format(self, record: logging.LogRecord) -> str:
        if self._json is not None:
            return self._json.format(record)
        return super().format(record)


def configure(level: int | str = logging.INFO, fmt: str = TEXT_FORMAT) -> None:
    """Set up the root logger on stderr, as ``logging.basicConfig(level=..., format=fmt)``
    would, with JSON lines where :func:`json_wanted` says so."""
    handler = logging.StreamHandler()
    handler.setFormatter(AutoFormatter(fmt))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def faust_logging_config() -> dict[str, Any] | None:
    """The worker's Faust ``logging_config``: JSON lines on stderr, or ``None``
    (Faust's own text format, which carries the pid that ``deploy/up.sh`` looks for).

    ``merge``: mode merges it into its own configuration, so the root logger
    keeps the level given with ``-l``.
    """
    if not json_wanted():
        return None
    return {
        "merge": True,
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "streams.logs.JsonFormatter"}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
    }
