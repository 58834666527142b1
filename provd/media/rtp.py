"""RTP for provd-media: packets and RFC 4733 events (pure), and a session on a UDP port.

The media app only ever talks to rtpengine on loopback, so this is the RTP of that one
case: G.711 at 8 kHz in 20 ms frames, telephone-events for DTMF, no SRTP, no RTCP (the
session binds the even port alone), no jitter buffer (loopback does not reorder). What a
session does with what it receives (record, report digits, relay to a bridged leg)
happens in the datagram callback, so a bridge adds no task and no queue hop.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import secrets
import struct
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from provd.media import g711

__all__ = [
    "FRAME_BYTES",
    "DtmfEvent",
    "NoFreePort",
    "RtpPacket",
    "RtpSession",
    "parse_rtp",
    "parse_telephone_event",
    "telephone_event_payload",
]

log = logging.getLogger(__name__)

FRAME_BYTES = 160
"""One 20 ms G.711 frame at 8 kHz: 160 samples, a byte each, and the timestamp step."""
_FRAME_SECONDS = 0.020
_SAMPLE_RATE = 8000
_HEADER = struct.Struct("!BBHII")
# Once the loop is this late, the schedule moves instead of sending the backlog at once.
_MAX_LATE = 3 * _FRAME_SECONDS


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False

    def pack(self) -> bytes:
        """The packet on the wire: a 12-byte header (no CSRC, extension or padding)."""
        second = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        header = _HEADER.pack(
            0x80, second, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc
        )
        return header + self.payload


def parse_rtp(data: bytes) -> RtpPacket | None:
    """The packet in `data`, or None when it is not RTP version 2, is cut short, or is
    RTCP (payload-type byte 192-223, RFC 5761) arriving on the RTP port."""
    if len(data) < _HEADER.size:
        return None
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != 2 or 192 <= second <= 223:
        return None
    offset = _HEADER.size + 4 * (first & 0x0F)  # the CSRC list
    if first & 0x10:  # a header extension: 16-bit profile, 16-bit length in words
        if len(data) < offset + 4:
            return None
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
    end = len(data)
    if first & 0x20:  # padding: the last byte counts the padding bytes, itself included
        padding = data[-1]
        if padding == 0:
            return None
        end -= padding
    if offset > end:
        return None
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(data[offset:end]),
        marker=bool(second & 0x80),
    )


_EVENT_DIGITS = "0123456789*#ABCD"


@dataclass(frozen=True, slots=True)
class DtmfEvent:
    """One telephone-event payload: `volume` is -dBm0 (0-63), `duration` in samples."""

    digit: str
    end: bool
    volume: int
    duration: int


def parse_telephone_event(payload: bytes) -> DtmfEvent | None:
    """The DTMF event in an RFC 4733 payload; None for other events or a short payload."""
    if len(payload) < 4:
        return None
    event, flags, duration = struct.unpack_from("!BBH", payload)
    if event >= len(_EVENT_DIGITS):
        return None
    return DtmfEvent(_EVENT_DIGITS[event], bool(flags & 0x80), flags & 0x3F, duration)


def telephone_event_payload(digit: str, end: bool, volume: int, duration: int) -> bytes:
    """The 4-byte RFC 4733 payload of a DTMF key (0-9, *, #, A-D)."""
    if len(digit) != 1 or digit.upper() not in _EVENT_DIGITS:
        raise ValueError(f"not a DTMF key: {digit!r}")
    if not 0 <= volume <= 63:
        raise ValueError(f"volume is 0-63 (-dBm0), got {volume}")
    if not 0 <= duration <= 0xFFFF:
        raise ValueError(f"duration is 0-65535 samples, got {duration}")
    flags = (0x80 if end else 0) | volume
    return struct.pack("!BBH", _EVENT_DIGITS.index(digit.upper()), flags, duration)


class NoFreePort(OSError):
    """Every even port of the range is taken: more calls than the range was sized for."""


@dataclass(frozen=True, slots=True)
class _Remote:
    address: tuple[str, int]
    payload_type: int
    codec: str
    event_type: int | None


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.deliver: Callable[[bytes, tuple[str, int]], None] = lambda data, addr: None

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        # IPv6 adds flow info and scope id; the host and port are what a remote is.
        self.deliver(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a leg that has hung up: the call's signalling, not
        # its media, decides when the session ends.
        log.debug("RTP send error: %s", exc)


class RtpSession:
    """One call leg's RTP on a local UDP port: plays frames, records, reports DTMF keys
    and relays to a bridged session. Made by `open`; one `play` at a time."""

    digits: asyncio.Queue[str]
    """One entry a key press, reported on the event's first packet."""

    def __init__(self, transport: asyncio.DatagramTransport, endpoint: _Endpoint) -> None:
        self._transport = transport
        self._local_port: int = transport.get_extra_info("sockname")[1]
        endpoint.deliver = self._received
        self.digits = asyncio.Queue(maxsize=64)
        self._remote: _Remote | None = None
        self._closed = False
        self._playing = False
        self._bridged: RtpSession | None = None
        self._recording: list[bytes] | None = None
        self._recorded = 0
        self._record_limit = 0
        self._seen_events: deque[tuple[int, int]] = deque(maxlen=16)
        self._ssrc = secrets.randbits(32)
        self._sequence = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)  # the next packet's, not wrapped
        self._clock: tuple[float, int] | None = None  # (loop time, timestamp) of a spurt

    @classmethod
    async def open(cls, host: str, ports: tuple[int, int]) -> RtpSession:
        """A session on the first free even UDP port in [ports[0], ports[1]) on `host`."""
        low, high = ports
        if not 0 < low < high <= 65536:
            raise ValueError(f"RTP port range [{low}, {high}) is empty or not UDP ports")
        loop = asyncio.get_running_loop()
        for port in range(low + (low & 1), high, 2):
            try:
                transport, endpoint = await loop.create_datagram_endpoint(
                    _Endpoint, local_addr=(host, port)
                )
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    continue
                raise
            return cls(transport, endpoint)
        raise NoFreePort(f"no free even UDP port in [{low}, {high}) on {host} for RTP")

    @property
    def local_port(self) -> int:
        return self._local_port

    def set_remote(
        self, host: str, port: int, payload_type: int, codec: str, event_type: int | None
    ) -> None:
        """Where to send, in which negotiated payload types; also the only address whose
        packets are accepted from now on. `host` is a numeric address, as SDP gives it."""
        if codec not in g711.CODECS:
            raise ValueError(f"unsupported codec {codec!r}: expected PCMA or PCMU")
        if not 0 < port < 65536:
            raise ValueError(f"remote RTP port {port} is not a UDP port (a disabled stream?)")
        for kind, value in (("audio", payload_type), ("telephone-event", event_type)):
            if value is not None and not 0 <= value <= 127:
                raise ValueError(f"{kind} payload type {value} is not 0-127")
        address = str(ipaddress.ip_address(host))
        self._remote = _Remote((address, port), payload_type, codec, event_type)

    @property
    def codec(self) -> str | None:
        """The negotiated audio codec (PCMA or PCMU); None before set_remote."""
        return self._remote.codec if self._remote is not None else None

    async def send_digit(self, digit: str, *, ms: int = 100) -> None:
        """A key press as RFC 4733 events: a packet each 20 ms for ``ms``, then the end
        packet three times (as phones send it), all with the event's one timestamp.
        Not while playing; without a remote or a negotiated event type, nothing."""
        remote = self._remote
        if remote is None or remote.event_type is None or self._closed:
            return
        if self._playing:
            raise RuntimeError("this RTP session is already playing")
        self._playing = True
        try:
            loop = asyncio.get_running_loop()
            self._start_talkspurt(loop.time())
            steps = max(1, ms // 20)
            for index in range(steps + 3):
                end = index >= steps
                duration = min(index + 1, steps) * FRAME_BYTES
                payload = telephone_event_payload(digit, end, 10, duration)
                packet = RtpPacket(
                    remote.event_type, self._sequence, self._timestamp, self._ssrc, payload,
                    index == 0,
                )  # fmt: skip
                self._transport.sendto(packet.pack(), remote.address)
                self._sequence = (self._sequence + 1) & 0xFFFF
                if not end:
                    await asyncio.sleep(_FRAME_SECONDS)
            self._timestamp += steps * FRAME_BYTES
        finally:
            self._playing = False

    async def play(self, frames: Sequence[bytes]) -> None:
        """Send the frames one each 20 ms as one talkspurt; returns when the last is sent.

        The schedule is absolute (frame i is due at start + i * 20 ms), so a late wake-up
        does not push every later frame back. Cancelling stops at once. Without a remote
        nothing is sent and it returns at once.
        """
        for index, frame in enumerate(frames):
            if len(frame) != FRAME_BYTES:
                raise ValueError(f"frame {index} has {len(frame)} bytes, not {FRAME_BYTES}")
        if self._remote is None or self._closed or not frames:
            return
        if self._playing:
            raise RuntimeError("this RTP session is already playing")
        self._playing = True
        try:
            await self._play(frames)
        finally:
            self._playing = False

    async def _play(self, frames: Sequence[bytes]) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        self._start_talkspurt(start)
        for index, frame in enumerate(frames):
            delay = start + index * _FRAME_SECONDS - loop.time()
            if delay < -_MAX_LATE:
                start -= delay
            elif delay > 0:
                await asyncio.sleep(delay)
            remote = self._remote
            if remote is None or self._closed:
                return
            packet = RtpPacket(
                remote.payload_type, self._sequence, self._timestamp, self._ssrc, frame, index == 0
            )
            self._transport.sendto(packet.pack(), remote.address)
            self._sequence = (self._sequence + 1) & 0xFFFF
            self._timestamp += FRAME_BYTES

    def _start_talkspurt(self, now: float) -> None:
        # The timestamp counts sampling instants, so the silence between two prompts
        # advances it too; never backwards, whatever the clock says.
        if self._clock is not None:
            then, timestamp = self._clock
            elapsed = timestamp + round((now - then) * _SAMPLE_RATE)
            self._timestamp = max(self._timestamp, elapsed)
        self._clock = (now, self._timestamp)

    def start_recording(self, *, max_bytes: int = 600 * _SAMPLE_RATE) -> None:
        """Keep received audio from now on, up to `max_bytes` (10 minutes of G.711)."""
        self._recording = []
        self._recorded = 0
        self._record_limit = max_bytes

    def stop_recording(self) -> bytes:
        """The audio payloads received since start_recording, in the session's codec."""
        recording, self._recording = self._recording, None
        return b"".join(recording or ())

    @property
    def recorded_bytes(self) -> int:
        """How much audio the running recording holds (0 when none runs)."""
        return self._recorded if self._recording is not None else 0

    def bridge(self, other: RtpSession) -> None:
        """Send what this session receives on to `other`'s remote, from `other`'s port;
        call it on both sessions for a two-way bridge."""
        if other is self:
            raise ValueError("a session cannot be bridged to itself")
        self._bridged = other

    def unbridge(self) -> None:
        self._bridged = None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._bridged = None
        self._recording = None
        self._transport.close()

    def _received(self, data: bytes, addr: tuple[str, int]) -> None:
        remote = self._remote
        if remote is None or addr != remote.address or self._closed:
            return
        packet = parse_rtp(data)
        if packet is None:
            return
        if packet.payload_type == remote.payload_type:
            self._record(packet.payload)
            if self._bridged is not None:
                self._bridged._relay_audio(packet, remote.codec)
        elif packet.payload_type == remote.event_type:
            self._report_key(packet)
            if self._bridged is not None:
                self._bridged._relay_event(packet)

    def _record(self, payload: bytes) -> None:
        if self._recording is not None and self._recorded + len(payload) <= self._record_limit:
            self._recording.append(payload)
            self._recorded += len(payload)

    def _report_key(self, packet: RtpPacket) -> None:
        # A key press is many packets (updates, then the end packet three times) sharing
        # the event's timestamp; the first one that arrives reports it.
        event = parse_telephone_event(packet.payload)
        key = (packet.ssrc, packet.timestamp)
        if event is None or key in self._seen_events:
            return
        self._seen_events.append(key)
        try:
            self.digits.put_nowait(event.digit)
        except asyncio.QueueFull:
            log.warning("DTMF key %s dropped: nobody reads this session's digits", event.digit)

    def _relay_audio(self, packet: RtpPacket, codec: str) -> None:
        remote = self._remote
        if remote is None or self._closed:
            return
        payload = g711.transcode(packet.payload, codec, remote.codec)
        self._send_relayed(packet, remote.payload_type, payload, remote.address)

    def _relay_event(self, packet: RtpPacket) -> None:
        remote = self._remote
        if remote is None or remote.event_type is None or self._closed:
            return
        self._send_relayed(packet, remote.event_type, packet.payload, remote.address)

    def _send_relayed(
        self, packet: RtpPacket, payload_type: int, payload: bytes, address: tuple[str, int]
    ) -> None:
        # The caller's SSRC, sequence and timestamps go through as they are: this leg's
        # far end sees the other phone's stream, only relabelled with its own types.
        relayed = RtpPacket(
            payload_type, packet.sequence, packet.timestamp, packet.ssrc, payload, packet.marker
        )
        self._transport.sendto(relayed.pack(), address)
