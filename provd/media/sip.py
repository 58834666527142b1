"""SIP messages (RFC 3261): parsing and building, no I/O.

Only what a user agent behind Kamailio needs: requests and responses with their headers in
order (duplicates kept, names matched without case, compact forms understood), the parts
of From/To/Contact/Via/CSeq a dialog is made of, and fresh tags, branches and Call-IDs.
Bodies are opaque bytes.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

BRANCH_COOKIE = "z9hG4bK"
"""RFC 3261's magic cookie: a branch that starts with it is unique per transaction."""

_COMPACT = {
    "v": "Via",
    "f": "From",
    "t": "To",
    "i": "Call-ID",
    "m": "Contact",
    "l": "Content-Length",
    "c": "Content-Type",
    "k": "Supported",
    "s": "Subject",
}
_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
_START_REQUEST = re.compile(r"([A-Za-z0-9.!%*_+`'~-]+) (\S+) SIP/2\.0")
_START_RESPONSE = re.compile(r"SIP/2\.0 ([1-6][0-9][0-9]) ?(.*)")
# Headers whose value may be a comma-separated list (RFC 3261 7.3.1); the others may hold
# commas of their own (a display name, a date).
_LIST_HEADERS = frozenset({"via", "route", "record-route", "contact", "allow", "supported"})


class SipParseError(ValueError):
    """Not a SIP message this user agent can read."""


def canonical_name(name: str) -> str:
    """The long form of a compact header name; other names as given."""
    return _COMPACT.get(name.lower(), name) if len(name) == 1 else name


class Headers:
    """Header fields in order, duplicates kept; names compare without case."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        self._fields: list[tuple[str, str]] = [(canonical_name(n), v) for n, v in fields]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._fields == other._fields

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"

    def get(self, name: str) -> str | None:
        """The first field's value, or None."""
        wanted = canonical_name(name).lower()
        for n, v in self._fields:
            if n.lower() == wanted:
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        """Every field's value, in order, as written (a field may hold a list)."""
        wanted = canonical_name(name).lower()
        return [v for n, v in self._fields if n.lower() == wanted]

    def values(self, name: str) -> list[str]:
        """Every value in order, lists split at their commas (for Via, Route, Contact...)."""
        out: list[str] = []
        for value in self.get_all(name):
            out.extend(split_list(value) if name_is_list(name) else [value])
        return out

    def add(self, name: str, value: str) -> None:
        self._fields.append((canonical_name(name), value))

    def remove(self, name: str) -> None:
        wanted = canonical_name(name).lower()
        self._fields = [(n, v) for n, v in self._fields if n.lower() != wanted]

    def replace(self, name: str, value: str) -> None:
        """Sets one field: replaces the first in place, drops the others, or appends."""
        wanted = canonical_name(name).lower()
        out: list[tuple[str, str]] = []
        done = False
        for n, v in self._fields:
            if n.lower() != wanted:
                out.append((n, v))
            elif not done:
                out.append((n, value))
                done = True
        if not done:
            out.append((canonical_name(name), value))
        self._fields = out


def name_is_list(name: str) -> bool:
    return canonical_name(name).lower() in _LIST_HEADERS


def split_list(value: str) -> list[str]:
    """A header value split at the commas outside quotes and angle brackets."""
    parts: list[str] = []
    start, quoted, angled, i = 0, False, False, 0
    while i < len(value):
        ch = value[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            angled = True
        elif ch == ">":
            angled = False
        elif ch == "," and not angled:
            parts.append(value[start:i].strip())
            start = i + 1
        i += 1
    parts.append(value[start:].strip())
    return [p for p in parts if p]


@dataclass(slots=True)
class SipRequest:
    method: str
    uri: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def to_bytes(self) -> bytes:
        return _serialise(f"{self.method} {self.uri} SIP/2.0", self.headers, self.body)

    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID") or ""


@dataclass(slots=True)
class SipResponse:
    status: int
    reason: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def to_bytes(self) -> bytes:
        return _serialise(f"SIP/2.0 {self.status} {self.reason}", self.headers, self.body)

    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID") or ""


def _serialise(start: str, headers: Headers, body: bytes) -> bytes:
    """Refuses a line break in any line: a caller's display name passed on to a call we
    place must not add headers of its own."""
    for text in (start, *(part for pair in headers for part in pair)):
        if "\r" in text or "\n" in text:
            raise ValueError(f"line break in a SIP message line: {text[:40]!r}")
    lines = [start]
    lines.extend(f"{n}: {v}" for n, v in headers if n.lower() != "content-length")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def parse_message(data: bytes) -> SipRequest | SipResponse:
    """A request or a response; raises SipParseError on anything else.

    Over UDP a message is one datagram: a Content-Length larger than what arrived is an
    error, and bytes past it are dropped (RFC 3261 18.3)."""
    data = data.lstrip(b"\r\n")  # keep-alive CRLFs before a message are allowed
    end = data.find(b"\r\n\r\n")
    sep = 4
    if end < 0:
        end, sep = data.find(b"\n\n"), 2
    if end < 0:
        raise SipParseError("no end of headers")
    try:
        head = data[:end].decode("utf-8")
    except UnicodeDecodeError as e:
        raise SipParseError("headers are not UTF-8") from e
    body = data[end + sep :]
    lines = head.replace("\r\n", "\n").split("\n")
    start = lines[0]
    headers = Headers()
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            if not len(headers):
                raise SipParseError("continuation line before any header")
            name, value = headers._fields[-1]
            headers._fields[-1] = (name, f"{value} {line.strip()}".strip())
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not _TOKEN.fullmatch(name):
            raise SipParseError(f"bad header line {line[:40]!r}")
        headers.add(name, value.strip())
    length_field = headers.get("Content-Length")
    if length_field is not None:
        if not length_field.isdigit():
            raise SipParseError("bad Content-Length")
        length = int(length_field)
        if length > len(body):
            raise SipParseError("body shorter than Content-Length")
        body = body[:length]
    message: SipRequest | SipResponse
    if m := _START_RESPONSE.fullmatch(start):
        message = SipResponse(int(m.group(1)), m.group(2), headers, body)
    elif m := _START_REQUEST.fullmatch(start):
        message = SipRequest(m.group(1).upper(), m.group(2), headers, body)
    else:
        raise SipParseError(f"bad start line {start[:40]!r}")
    for required in ("Via", "From", "To", "Call-ID", "CSeq"):
        if headers.get(required) is None:
            raise SipParseError(f"no {required}")
    parse_cseq(headers.get("CSeq") or "")
    return message


# --- header values -------------------------------------------------------------------


def parse_params(text: str) -> dict[str, str]:
    """``;a=1;b`` → {"a": "1", "b": ""}; names lowercased."""
    out: dict[str, str] = {}
    for part in text.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            out[name.strip().lower()] = value.strip().strip('"')
    return out


@dataclass(frozen=True, slots=True)
class NameAddr:
    """A From/To/Contact/Route value: display name, URI and the header's parameters."""

    display: str
    uri: str
    params: dict[str, str]

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")


def parse_name_addr(value: str) -> NameAddr:
    """``"Alice" <sip:a@h>;tag=1``, ``Alice <sip:a@h>``, ``<sip:a@h>`` or ``sip:a@h;tag=1``
    (without brackets the parameters belong to the header, RFC 3261 20.10)."""
    value = value.strip()
    display = ""
    rest = value
    if value.startswith('"'):
        i, out = 1, []
        while i < len(value) and value[i] != '"':
            if value[i] == "\\" and i + 1 < len(value):
                i += 1
            out.append(value[i])
            i += 1
        if i >= len(value):
            raise SipParseError(f"unclosed display name in {value[:40]!r}")
        display, rest = "".join(out), value[i + 1 :].strip()
        if not rest.startswith("<"):
            raise SipParseError(f"no URI after display name in {value[:40]!r}")
    lt = rest.find("<")
    if lt >= 0:
        gt = rest.find(">", lt)
        if gt < 0:
            raise SipParseError(f"unclosed URI in {value[:40]!r}")
        if not display:
            display = rest[:lt].strip()
        uri, params = rest[lt + 1 : gt].strip(), rest[gt + 1 :]
    else:
        uri, _, params = rest.partition(";")
        params = ";" + params
    if ":" not in uri:
        raise SipParseError(f"no URI in {value[:40]!r}")
    return NameAddr(display, uri, parse_params(params))


def format_name_addr(uri: str, display: str = "", params: Sequence[tuple[str, str]] = ()) -> str:
    """The header value; a display name is always quoted (escaped)."""
    text = f"<{uri}>"
    if display:
        escaped = display.replace("\\", "\\\\").replace('"', '\\"')
        text = f'"{escaped}" {text}'
    return text + "".join(f";{n}={v}" if v else f";{n}" for n, v in params)


def with_tag(value: str, tag: str) -> str:
    """A From/To value with ``tag`` added, unless it has a tag already."""
    if parse_name_addr(value).tag is not None:
        return value
    return f"{value};tag={tag}"


@dataclass(frozen=True, slots=True)
class Via:
    transport: str
    host: str
    port: int | None
    params: dict[str, str]

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")


def parse_via(value: str) -> Via:
    """One Via value: ``SIP/2.0/UDP host[:port];params``."""
    proto, _, rest = value.strip().partition(" ")
    parts = proto.split("/")
    if len(parts) != 3 or parts[0].upper() != "SIP":
        raise SipParseError(f"bad Via {value[:40]!r}")
    sent_by, _, params = rest.strip().partition(";")
    host, port = split_host_port(sent_by.strip())
    return Via(parts[2].upper(), host, port, parse_params(params))


def via_branch(message: SipRequest | SipResponse) -> str | None:
    """The top Via's branch."""
    vias = message.headers.values("Via")
    return parse_via(vias[0]).branch if vias else None


def parse_cseq(value: str) -> tuple[int, str]:
    number, _, method = value.strip().partition(" ")
    if not number.isdigit() or not _TOKEN.fullmatch(method.strip()):
        raise SipParseError(f"bad CSeq {value[:40]!r}")
    return int(number), method.strip().upper()


def split_host_port(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port``."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError(f"bad host {text[:40]!r}")
        host, rest = text[1:end], text[end + 1 :]
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = text.partition(":")
    if not host:
        raise SipParseError("empty host")
    if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise SipParseError(f"bad port {port_text[:10]!r}")
    return host, int(port_text) if port_text else None


def uri_host_port(uri: str) -> tuple[str, int]:
    """Where a sip: URI points (its host and port, 5060 by default)."""
    scheme, colon, rest = uri.partition(":")
    if not colon or scheme.lower() not in ("sip", "sips"):
        raise SipParseError(f"not a SIP URI {uri[:40]!r}")
    rest = rest.split(";", 1)[0].split("?", 1)[0]
    hostport = rest.rsplit("@", 1)[-1]
    host, port = split_host_port(hostport)
    return host, port or 5060


def uri_params(uri: str) -> dict[str, str]:
    """A URI's own parameters (``;lr``, ``;transport=udp``)."""
    base = uri.split("?", 1)[0]
    _, _, params = base.partition(";")
    return parse_params(params)


# --- new identifiers -----------------------------------------------------------------


def new_tag() -> str:
    return secrets.token_hex(8)


def new_branch() -> str:
    return BRANCH_COOKIE + secrets.token_hex(10)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(12)}@{host}"


# --- responses -----------------------------------------------------------------------


def make_response(
    request: SipRequest,
    status: int,
    reason: str,
    *,
    to_tag: str | None = None,
    body: bytes = b"",
    content_type: str | None = None,
    extra_headers: Sequence[tuple[str, str]] = (),
) -> SipResponse:
    """A response to ``request`` (RFC 3261 8.2.6): its Vias, From, To (with ``to_tag``
    unless it has a tag), Call-ID and CSeq; its Record-Route for a 1xx/2xx to an INVITE,
    which the caller's side needs to learn the route set."""
    headers = Headers()
    for name, value in request.headers:
        lowered = name.lower()
        if lowered in ("via", "from", "call-id", "cseq"):
            headers.add(name, value)
        elif lowered == "to":
            headers.add(name, with_tag(value, to_tag) if to_tag else value)
    if request.method == "INVITE" and 100 < status < 300:
        for value in request.headers.get_all("Record-Route"):
            headers.add("Record-Route", value)
    if body and content_type:
        headers.add("Content-Type", content_type)
    for name, value in extra_headers:
        headers.add(name, value)
    return SipResponse(status, reason, headers, body)


def uri_user_host(uri: str) -> tuple[str, str]:
    """(user, host) of a ``sip:user@host:port;params`` URI; empty parts when absent."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    rest = rest.split(";", 1)[0].split("?", 1)[0]
    user, _, host = rest.rpartition("@")
    if host.startswith("["):
        return user, host.split("]", 1)[0] + "]"
    return user, host.split(":", 1)[0]
