"""What ``provd serve`` prints: provd's own INFO lines by default, everything with ``-v``;
as text lines, or as one JSON object per line for a log collector (``--log-format json``).

Libraries (tortoise, aiosqlite, asyncpg, aiohttp) log routine events at INFO, such as
every ORM start and shutdown; in a newcomer's terminal they drown the lines that say
where provd listens and what went wrong, so they show only at WARNING unless asked for.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from typing import Any

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Everything a LogRecord carries on its own; the rest of its attributes came from ``extra``.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", logging.INFO, "", 0, "", (), None).__dict__
) | {"message", "asctime", "taskName"}
# The formatter's own fields: an extra of the same name (a forged "exc") is left out.
_FIELDS = frozenset({"time", "level", "logger", "message", "exc", "stack"})


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (ISO 8601, UTC), ``level``, ``logger``,
    ``message``, ``exc`` (the traceback) and ``stack`` when there is one, and the
    ``extra`` values provd's own loggers pass.

    The message is the same text the text format prints, so what keeps secrets out of
    one (nothing that authenticates is logged; the database loggers' filters rewrite
    or drop their records) keeps them out of the other. Extras are taken from provd's
    loggers only: those filters act on a record's message, and a library's extras
    (aiohttp's access logger passes request headers that way) are no one's review.
    ASCII-escaped, so a control or line-separator character in an untrusted value
    (a user name a phone sent) cannot split a record over two lines.
    """

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        if record.name == "provd" or record.name.startswith("provd."):
            for key, value in record.__dict__.items():
                if key not in _RECORD_ATTRIBUTES and key not in _FIELDS:
                    out[key] = _jsonable(value)
        return json.dumps(out, ensure_ascii=True, allow_nan=False)


def _jsonable(value: object) -> Any:
    """``value`` as JSON can carry it: numbers, strings, lists and objects as they are,
    anything else (a path, an address, a time) as its text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def configure_logging(verbose: bool, log_format: str = "text") -> None:
    level = logging.DEBUG if verbose else logging.WARNING
    if log_format == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=level, handlers=[handler])
    else:
        logging.basicConfig(level=level, format=_FORMAT)
    if not verbose:
        logging.getLogger("provd").setLevel(logging.INFO)
