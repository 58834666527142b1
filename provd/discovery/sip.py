"""Just enough SIP for plug-and-play: parse what a phone multicasts, build what we answer.

Pure functions over bytes. A phone looking for its provisioning server multicasts a
``SUBSCRIBE`` with ``Event: ua-profile;profile-type="device";vendor=…;model=…;version=…``;
the answer is a ``200 OK`` and then a ``NOTIFY`` whose body (``application/url``) is
the URL to provision from (RFC 6080 style, as Yealink and Snom implement it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from provd.domain.mac import Mac, try_parse_mac

SIP_VERSION = "SIP/2.0"
MAX_MESSAGE = 16 * 1024
"""Anything larger is not a PnP SUBSCRIBE; refusing it bounds the work per packet."""

# RFC 3261 §7.3.3 compact forms, and the canonical spelling of the headers we handle.
_COMPACT = {
    "i": "Call-ID",
    "m": "Contact",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "k": "Supported",
    "u": "Allow-Events",
}
_CANONICAL = {
    name.lower(): name
    for name in (
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Event",
        "Expires",
        "Accept",
        "User-Agent",
        "Max-Forwards",
        "Content-Type",
        "Content-Length",
        "Subscription-State",
    )
}
_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
_PARAM = re.compile(r';\s*([^\s=;]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;]*))?')
_TAG = re.compile(r";\s*tag=([^;>\s]+)", re.IGNORECASE)
# Yealink: sip:MAC001565aabbcc@224.0.1.75; Snom: sip:MAC%3a000413A11FA7@domain.
_PNP_USER = re.compile(r"^sips?:MAC(?:%3a|:)?([0-9A-Fa-f]{12})@", re.IGNORECASE)


class SipParseError(ValueError):
    """The bytes are not a SIP message we can work with."""


def canonical_name(name: str) -> str:
    lowered = name.strip().lower()
    if lowered in _COMPACT:
        return _COMPACT[lowered]
    return _CANONICAL.get(lowered, name.strip())


@dataclass(frozen=True, slots=True)
class SipMessage:
    headers: tuple[tuple[str, str], ...]
    """(canonical name, value) in the order received; names compared case-insensitively."""
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers_named(name)
        return values[0] if values else None

    def headers_named(self, name: str) -> list[str]:
        wanted = canonical_name(name).lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def cseq(self) -> tuple[int, str]:
        raw = self.header("CSeq") or ""
        parts = raw.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise SipParseError(f"CSeq {raw!r} is not 'NUMBER METHOD'")
        return int(parts[0]), parts[1].upper()


@dataclass(frozen=True, slots=True)
class SipRequest(SipMessage):
    method: str
    uri: str


@dataclass(frozen=True, slots=True)
class SipResponse(SipMessage):
    status: int
    reason: str


def _split_headers(head: str) -> list[tuple[str, str]]:
    lines: list[str] = []
    for line in head.split("\n"):
        line = line.rstrip("\r")
        if line[:1] in (" ", "\t") and lines:
            # A folded continuation line belongs to the previous header.
            lines[-1] += " " + line.strip()
        elif line:
            lines.append(line)
    headers = []
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN.fullmatch(name.strip()):
            raise SipParseError(f"header line {line[:40]!r} has no name")
        headers.append((canonical_name(name), value.strip()))
    return headers


def parse_message(data: bytes) -> SipRequest | SipResponse:
    """Parse one SIP message received over UDP."""
    if len(data) > MAX_MESSAGE:
        raise SipParseError(f"{len(data)} bytes is larger than a PnP message")
    text = data.decode("utf-8", errors="replace")
    for separator in ("\r\n\r\n", "\n\n"):
        head, sep, rest = text.partition(separator)
        if sep:
            break
    else:
        head, rest = text, ""
    first, _, header_block = head.partition("\n")
    first = first.rstrip("\r")
    headers = tuple(_split_headers(header_block))
    body = rest.encode("utf-8")
    length = next((v for k, v in headers if k == "Content-Length"), None)
    if length is not None and length.isdigit():
        body = body[: int(length)]
    parts = first.split(" ", 2)
    if len(parts) == 3 and parts[0] == SIP_VERSION:
        if not parts[1].isdigit():
            raise SipParseError(f"status line {first[:60]!r} has no status code")
        return SipResponse(headers, body, int(parts[1]), parts[2])
    if len(parts) == 3 and parts[2] == SIP_VERSION and _TOKEN.fullmatch(parts[0]):
        return SipRequest(headers, body, parts[0].upper(), parts[1])
    raise SipParseError(f"first line {first[:60]!r} is neither a SIP request nor a response")


def parse_request(data: bytes) -> SipRequest:
    message = parse_message(data)
    if not isinstance(message, SipRequest):
        raise SipParseError("a response, not a request")
    return message


def header_params(value: str) -> tuple[str, dict[str, str]]:
    """``ua-profile;vendor="Yealink";x=1`` -> ("ua-profile", {"vendor": "Yealink", "x": "1"})."""
    first, _, _ = value.partition(";")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(value[len(first) :]):
        raw = (match.group(2) or "").strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[match.group(1).lower()] = raw
    return first.strip(), params


@dataclass(frozen=True, slots=True)
class UaProfile:
    """What a phone says about itself in its PnP ``Event`` header."""

    event: str
    """The header as sent: the NOTIFY repeats it."""
    profile_type: str
    vendor: str
    model: str
    version: str


def ua_profile(request: SipRequest) -> UaProfile | None:
    """The profile a plug-and-play SUBSCRIBE asks for, or None for any other request."""
    event = request.header("Event")
    if request.method != "SUBSCRIBE" or event is None:
        return None
    package, params = header_params(event)
    if package.lower() != "ua-profile":
        return None
    return UaProfile(
        event=event,
        profile_type=params.get("profile-type", ""),
        vendor=params.get("vendor", ""),
        model=params.get("model", ""),
        version=params.get("version", ""),
    )


def pnp_mac(request: SipRequest) -> Mac | None:
    """The MAC in the Request-URI (or, failing that, the From URI): ``sip:MAC<hex>@…``."""
    candidates = [request.uri]
    sender = request.header("From")
    if sender is not None:
        candidates.append(address_uri(sender))
    for uri in candidates:
        match = _PNP_USER.match(uri)
        if match is not None:
            mac = try_parse_mac(match.group(1))
            if mac is not None:
                return mac
    return None


def address_uri(value: str) -> str:
    """The URI of a From/To/Contact value: ``"A" <sip:x@y>;tag=1`` -> ``sip:x@y``."""
    if "<" in value:
        return value.partition("<")[2].partition(">")[0].strip()
    return value.partition(";")[0].strip()


def tag_of(value: str) -> str | None:
    after = value.rpartition(">")[2] if ">" in value else value
    match = _TAG.search(after)
    return match.group(1) if match else None


def _without_tag(value: str) -> str:
    if ">" in value:
        head, _, params = value.rpartition(">")
        return head + ">" + _TAG.sub("", params)
    return _TAG.sub("", value)


def _check_value(name: str, value: str) -> str:
    # Values we put into headers or the body must not break the message apart.
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError(f"{name} contains a control character")
    return value


def _serialise(first_line: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    lines = [first_line, *(f"{k}: {v}" for k, v in headers), f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def _required(request: SipRequest, name: str) -> str:
    value = request.header(name)
    if value is None:
        raise SipParseError(f"the request has no {name} header")
    return value


def ok_response(request: SipRequest, *, to_tag: str, contact: tuple[str, int]) -> bytes:
    """The ``200 OK`` accepting a SUBSCRIBE: its Via, From, Call-ID and CSeq copied,
    our tag added to To (RFC 3261 §8.2.6)."""
    to = _required(request, "To")
    if tag_of(to) is None:
        to = f"{to};tag={_check_value('to_tag', to_tag)}"
    headers = [("Via", via) for via in request.headers_named("Via")]
    if not headers:
        raise SipParseError("the request has no Via header")
    headers += [
        ("From", _required(request, "From")),
        ("To", to),
        ("Call-ID", _required(request, "Call-ID")),
        ("CSeq", _required(request, "CSeq")),
        ("Contact", f"<sip:{contact[0]}:{contact[1]}>"),
        ("Expires", "0"),
    ]
    return _serialise(f"{SIP_VERSION} 200 OK", headers)


def notify(
    request: SipRequest,
    url: str,
    *,
    local: tuple[str, int],
    to_tag: str,
    branch: str,
    cseq: int = 1,
    fallback_target: tuple[str, int] | None = None,
) -> bytes:
    """The NOTIFY that ends the subscription and hands the phone ``url``.

    It belongs to the dialog the ``200 OK`` created: From is the SUBSCRIBE's To with our
    tag, To is the phone's From with its tag, the Call-ID is the same. Event repeats the
    phone's ua-profile parameters, as the phones' own PnP servers do.
    """
    contact = request.header("Contact")
    target = address_uri(contact) if contact else ""
    if not target.lower().startswith(("sip:", "sips:")):
        if fallback_target is None:
            raise SipParseError("the request has no usable Contact header")
        target = f"sip:{fallback_target[0]}:{fallback_target[1]}"
    host, port = local
    headers = [
        ("Via", f"{SIP_VERSION}/UDP {host}:{port};branch={_check_value('branch', branch)};rport"),
        ("Max-Forwards", "70"),
        ("From", f"{_without_tag(_required(request, 'To'))};tag={_check_value('to_tag', to_tag)}"),
        ("To", _required(request, "From")),
        ("Call-ID", _required(request, "Call-ID")),
        ("CSeq", f"{cseq} NOTIFY"),
        ("Contact", f"<sip:{host}:{port}>"),
        ("Event", _required(request, "Event")),
        ("Subscription-State", "terminated;reason=timeout"),
        ("Content-Type", "application/url"),
    ]
    return _serialise(f"NOTIFY {target} {SIP_VERSION}", headers, _check_value("url", url).encode())
