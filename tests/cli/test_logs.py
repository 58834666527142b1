"""``serve --log-format json``: the formatter alone (the serve process is in
tests/test_serve_logging.py)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from provd.cli.logs import JsonFormatter
from provd.domain.errors import InvalidInput
from provd.settings import load_settings


def _record(
    name: str = "provd.test",
    msg: str = "hello %s",
    args: tuple[object, ...] = ("world",),
    level: int = logging.WARNING,
    extra: Mapping[str, object] | None = None,
    exc_info: Any = None,
) -> logging.LogRecord:
    logger = logging.getLogger(name)
    record = logger.makeRecord(
        name, level, __file__, 1, msg, args, exc_info, extra=dict(extra or {})
    )
    record.created = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC).timestamp()
    return record


def _line(record: logging.LogRecord) -> dict[str, Any]:
    text = JsonFormatter().format(record)
    assert len(text.splitlines()) == 1
    parsed = json.loads(text)
    assert isinstance(parsed, dict)
    return parsed


def test_a_record_is_one_object_with_the_fields() -> None:
    assert _line(_record()) == {
        "time": "2024-05-06T07:08:09.123Z",
        "level": "WARNING",
        "logger": "provd.test",
        "message": "hello world",
    }


def test_time_is_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        assert _line(_record())["time"] == "2024-05-06T07:08:09.123Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_provd_extras_are_fields_of_their_own() -> None:
    extra = {
        "client_ip": "192.0.2.7",
        "attempts": 3,
        "ratio": 0.5,
        "ok": False,
        "nothing": None,
        "address": ipaddress.ip_address("2001:db8::1"),
        "path": Path("/etc/provd/cert.pem"),
        "names": ("a", "b"),
        "when": dt.datetime(2030, 1, 2, tzinfo=dt.UTC),
        "nested": {1: [float("nan")]},
    }
    line = _line(_record(extra=extra))
    assert {k: line[k] for k in extra} == {
        "client_ip": "192.0.2.7",
        "attempts": 3,
        "ratio": 0.5,
        "ok": False,
        "nothing": None,
        "address": "2001:db8::1",
        "path": "/etc/provd/cert.pem",
        "names": ["a", "b"],
        "when": "2030-01-02T00:00:00+00:00",
        "nested": {"1": ["nan"]},
    }


def test_a_library_extra_is_left_out() -> None:
    # Such as aiohttp's access logger, which passes request headers as extras.
    line = _line(_record(name="aiohttp.access", extra={"authorization": "Bearer provd_x"}))
    assert "authorization" not in line
    assert "provd_x" not in json.dumps(line)


def test_an_extra_cannot_replace_a_field_every_line_has() -> None:
    # logging itself refuses "message" and "asctime"; these four are the formatter's.
    extra = {"time": "never", "level": "DEBUG", "logger": "x", "exc": "forged"}
    line = _line(_record(extra=extra))
    assert (line["time"], line["level"], line["logger"]) == (
        "2024-05-06T07:08:09.123Z",
        "WARNING",
        "provd.test",
    )
    assert "exc" not in line


def test_an_exception_is_one_string() -> None:
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        exc_info = sys.exc_info()
    line = _line(_record(exc_info=exc_info))
    assert line["exc"].startswith("Traceback (most recent call last):\n")
    assert line["exc"].endswith("ValueError: bad\nthing")


def test_untrusted_text_cannot_split_or_forge_a_line() -> None:
    # A user name a phone sent, with a newline, a Unicode line separator and a fake record.
    shown = 'x"}\n{"level": "INFO"\u2028\x1b[2J'
    line = _line(_record(msg="auth failed: user=%s", args=(shown,), extra={"user": shown}))
    assert line["message"] == f"auth failed: user={shown}"
    assert line["user"] == shown
    assert JsonFormatter().format(_record(args=(shown,))).isascii()


def test_the_settings_file_takes_a_log_format(tmp_path: Path) -> None:
    (tmp_path / "provd.json").write_text('{"public_host": "pbx.example", "log_format": "json"}')
    assert load_settings(tmp_path).log_format == "json"
    (tmp_path / "provd.json").write_text('{"public_host": "pbx.example", "log_format": "xml"}')
    with pytest.raises(InvalidInput) as e:
        load_settings(tmp_path)
    assert e.value.field == "log_format"
