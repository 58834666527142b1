"""The SDP the media app reads and writes: one audio stream, G.711 and telephone-events.

Offers reach provd-media through rtpengine, which rewrites them to plain RTP/AVP on
loopback, so only the audio stream's address, payload types and direction matter; the
rest (bandwidth, RTCP port, ICE, crypto) is read past. What cannot carry our audio (no
audio stream, no address, an encrypted profile) is an SdpError naming the problem, so
that the caller can refuse the call with 488 rather than fail later without media.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

__all__ = [
    "DIRECTIONS",
    "MediaOffer",
    "SdpError",
    "answer_direction",
    "answer_sdp",
    "choose_codec",
    "offer_sdp",
    "parse_sdp",
]

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_MAX_BODY = 16 * 1024  # a desk phone's offer is under 1 KiB
_PROFILES = ("RTP/AVP", "RTP/AVPF")
# RFC 3551's static audio payload types, for offers that list them without a=rtpmap.
_STATIC = {0: "PCMU", 3: "GSM", 4: "G723", 8: "PCMA", 9: "G722", 13: "CN", 18: "G729"}
_EVENTS_NAME = "TELEPHONE-EVENT"
_CLOCK = 8000


class SdpError(ValueError):
    """The body is no SDP this app can take a call with; the message says why."""


@dataclass(frozen=True, slots=True)
class MediaOffer:
    """The first audio stream of an SDP body. `codecs` are (payload type, upper-case
    encoding name) in the offer's order, telephone-event left out (it is `event_type`)."""

    host: str
    port: int
    codecs: tuple[tuple[int, str], ...]
    event_type: int | None
    direction: str

    @property
    def disabled(self) -> bool:
        """Port 0: the offerer declines the stream (RFC 3264); answer it with port 0."""
        return self.port == 0


@dataclass(slots=True)
class _Section:
    connection: str | None = None
    direction: str | None = None
    media: list[str] = field(default_factory=list)
    rtpmap: dict[int, tuple[str, int]] = field(default_factory=dict)


def _sections(body: str) -> tuple[_Section, list[_Section]]:
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    if not lines or lines[0] != "v=0":
        raise SdpError("not an SDP body: it does not begin with v=0")
    session = _Section()
    media: list[_Section] = []
    for number, line in enumerate(lines, start=1):
        if len(line) < 2 or line[1] != "=" or not line[0].islower():
            raise SdpError(f"line {number} is not an SDP line: {line[:60]!r}")
        kind, value = line[0], line[2:]
        if kind == "m":
            media.append(_Section(media=value.split()))
            continue
        current = media[-1] if media else session
        if kind == "c":
            current.connection = _connection(value, number)
        elif kind == "a":
            _attribute(current, value, number)
    return session, media


def _connection(value: str, number: int) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"line {number}: c= is not 'IN IP4|IP6 <address>': {value[:60]!r}")
    return parts[2].split("/")[0]  # a multicast TTL or count follows a slash


def _attribute(section: _Section, value: str, number: int) -> None:
    name, _, rest = value.partition(":")
    if name in DIRECTIONS:
        section.direction = name
    elif name == "rtpmap":
        pt, _, encoding = rest.partition(" ")
        parts = encoding.strip().split("/")
        try:
            section.rtpmap[int(pt)] = (parts[0].upper(), int(parts[1]))
        except (ValueError, IndexError):
            raise SdpError(f"line {number}: a bad a=rtpmap: {value[:60]!r}") from None


def _int(text: str, low: int, high: int, what: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise SdpError(f"{what} is not a number: {text[:20]!r}") from None
    if not low <= number <= high:
        raise SdpError(f"{what} {number} is out of range {low}-{high}")
    return number


def parse_sdp(body: str) -> MediaOffer:
    """The first audio stream of `body`, preferring one that is not disabled (port 0)."""
    if len(body) > _MAX_BODY:
        raise SdpError(f"SDP body of {len(body)} characters is over the {_MAX_BODY} limit")
    session, media = _sections(body)
    audio = [section for section in media if section.media[:1] == ["audio"]]
    if not audio:
        raise SdpError("no audio stream (m=audio) in the SDP")
    for section in audio:
        if len(section.media) < 4:
            raise SdpError(f"m= needs media, port, profile, formats: {' '.join(section.media)!r}")
    ports = [_int(section.media[1].split("/")[0], 0, 65535, "audio port") for section in audio]
    index = next((i for i, port in enumerate(ports) if port), 0)
    chosen, port = audio[index], ports[index]
    profile = chosen.media[2]
    if profile not in _PROFILES:
        raise SdpError(f"audio profile {profile} is not plain RTP (RTP/AVP)")
    host = chosen.connection or session.connection
    if host is None:
        raise SdpError("no connection address (c=) for the audio stream")
    codecs: list[tuple[int, str]] = []
    event_type: int | None = None
    rtpmap = session.rtpmap | chosen.rtpmap
    for pt in (_int(text, 0, 127, "payload type") for text in chosen.media[3:]):
        name, clock = rtpmap.get(pt, (_STATIC.get(pt, ""), _CLOCK))
        if name == _EVENTS_NAME:
            if clock == _CLOCK and event_type is None:
                event_type = pt
        elif name:
            codecs.append((pt, name))
    direction = chosen.direction or session.direction or "sendrecv"
    return MediaOffer(host, port, tuple(codecs), event_type, direction)


def choose_codec(
    offer: MediaOffer, preferred: tuple[str, ...] = ("PCMA", "PCMU")
) -> tuple[int, str] | None:
    """The first of our `preferred` codecs that the offer lists, with its payload type."""
    for wanted in preferred:
        for pt, name in offer.codecs:
            if name == wanted.upper():
                return pt, name
    return None


def answer_direction(offered: str) -> str:
    """Our direction for an offered one: someone who only sends is only listened to."""
    return {"sendonly": "recvonly", "recvonly": "sendonly"}.get(offered, offered)


def _session_lines(host: str, session_id: int) -> list[str]:
    family = "IP6" if ipaddress.ip_address(host).version == 6 else "IP4"
    return [
        "v=0",
        f"o=provd-media {session_id} {session_id} IN {family} {host}",
        "s=provd-media",
        f"c=IN {family} {host}",
        "t=0 0",
    ]


def _render(lines: list[str]) -> str:
    return "".join(f"{line}\r\n" for line in lines)


def _events_lines(event_type: int | None) -> list[str]:
    if event_type is None:
        return []
    return [f"a=rtpmap:{event_type} telephone-event/{_CLOCK}", f"a=fmtp:{event_type} 0-15"]


def answer_sdp(
    host: str,
    port: int,
    payload_type: int,
    codec: str,
    event_type: int | None,
    session_id: int,
    *,
    direction: str = "sendrecv",
) -> str:
    """The answer: one audio codec and, when the offer had them, telephone-events."""
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown SDP direction {direction!r}")
    formats = f"{payload_type}" if event_type is None else f"{payload_type} {event_type}"
    return _render(
        [
            *_session_lines(host, session_id),
            f"m=audio {port} RTP/AVP {formats}",
            f"a=rtpmap:{payload_type} {codec}/{_CLOCK}",
            *_events_lines(event_type),
            "a=ptime:20",
            f"a={direction}",
        ]
    )


def offer_sdp(host: str, port: int, session_id: int) -> str:
    """The offer for a leg the app calls out on: PCMA, PCMU and telephone-event 101."""
    return _render(
        [
            *_session_lines(host, session_id),
            f"m=audio {port} RTP/AVP 8 0 101",
            f"a=rtpmap:8 PCMA/{_CLOCK}",
            f"a=rtpmap:0 PCMU/{_CLOCK}",
            *_events_lines(101),
            "a=ptime:20",
            "a=sendrecv",
        ]
    )
