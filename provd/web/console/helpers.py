"""What the console pages share: reading forms, showing errors by field, times, MACs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote

from aiohttp import web

from provd.domain.errors import InvalidInput, NotFound, ProvdError
from provd.domain.mac import Mac, with_colons
from provd.pbx import PbxControl
from provd.services.platform import Platform
from provd.web import api_pbx
from provd.web.app_keys import PLATFORM


def platform(request: web.Request) -> Platform:
    return request.app[PLATFORM]


def pbx_control(request: web.Request) -> PbxControl | None:
    return request.app.get(api_pbx.PBX)


async def form(request: web.Request) -> dict[str, str]:
    """The posted fields as text (file uploads and the CSRF token left out)."""
    data = await request.post()
    return {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}


def query_flashes(
    request: web.Request, messages: Sequence[tuple[str, str, str]]
) -> list[tuple[str, str]]:
    """What a redirect after a change asks the page to say (``?saved=…``): for each
    ``(query key, kind, text)`` whose key is set, the text with ``{}`` the key's value."""
    q = request.query
    return [(kind, text.replace("{}", q[key])) for key, kind, text in messages if q.get(key)]


Errors = defaultdict[str, str]
"""Messages by field; a field without one reads as "" in templates (StrictUndefined)."""


def no_errors() -> Errors:
    return defaultdict(str)


def field_errors(error: ProvdError, fallback: str = "form") -> Errors:
    """``{field: message}`` for showing a refusal next to the field it names."""
    out = no_errors()
    if isinstance(error, InvalidInput):
        out[error.field] = error.message
    elif isinstance(error, NotFound):
        out[error.field or fallback] = f"{error.kind} {error.key!r} not found"
    else:
        out[fallback] = str(error)
    return out


def when(at: datetime | None, never: str = "never") -> str:
    if at is None:
        return never
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def mac_text(mac: str) -> str:
    return with_colons(Mac(mac))


def not_found(error: NotFound) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=f"{error.kind} {error.key!r} not found")


def segment(text: str) -> str:
    """``text`` as one path segment: a schedule or number plan name may hold spaces or /."""
    return quote(text, safe="")


def whole_number(text: str, field: str) -> int:
    """A count typed in a form (seconds, a position), or InvalidInput naming ``field``."""
    cleaned = text.strip()
    if not (cleaned.isascii() and cleaned.isdigit()) or len(cleaned) > 6:
        raise InvalidInput(field, f"{text.strip()!r} is not a whole number")
    return int(cleaned)
