"""RtpSession on 127.0.0.1: port allocation, paced playing seen packet by packet,
recording, DTMF reported once a key press (also from sipp's own RFC 2833 capture),
strangers ignored, and bridges relaying audio and events end to end, transcoding
between PCMA and PCMU legs.

Nothing here measures time: a test waits for what it expects to arrive (bounded by
`_until`), and proves that something did *not* arrive by sending a later packet and
seeing only that one (loopback UDP between two sockets keeps order).
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from provd.media import g711
from provd.media.rtp import (
    FRAME_BYTES,
    NoFreePort,
    RtpPacket,
    RtpSession,
    parse_rtp,
    telephone_event_payload,
)

HOST = "127.0.0.1"
PORTS = (46000, 47000)
SIPP_DTMF_1 = Path("/usr/share/sip-tester/dtmf_2833_1.pcap")


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


def _frames(count: int, codec: str = "PCMA", start: int = 0) -> list[bytes]:
    """Distinct frames: a ramp, so that a lost, repeated or reordered frame shows."""
    out = []
    for index in range(start, start + count):
        pcm = struct.pack("<160h", *((index * 160 + n) * 7 % 20000 - 10000 for n in range(160)))
        out.append(g711.encode(codec, pcm))
    return out


class RawPeer:
    """A bare UDP socket standing in for a phone behind rtpengine."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.setblocking(False)
        self.port: int = self.sock.getsockname()[1]

    def __enter__(self) -> RawPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, session: RtpSession, packet: RtpPacket) -> None:
        self.sock.sendto(packet.pack(), (HOST, session.local_port))

    async def receive(self) -> RtpPacket:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(5):
            data, _ = await loop.sock_recvfrom(self.sock, 2048)
        packet = parse_rtp(data)
        assert packet is not None
        return packet

    def key_press(self, session: RtpSession, digit: str, timestamp: int, seq: int) -> int:
        """What a phone sends for one key: updates, then the end packet three times,
        all with the event's timestamp. Returns the next sequence number."""
        for step in range(1, 5):
            payload = telephone_event_payload(digit, False, 10, step * 160)
            self.send(session, RtpPacket(101, seq, timestamp, 99, payload, marker=step == 1))
            seq += 1
        for _ in range(3):
            payload = telephone_event_payload(digit, True, 10, 800)
            self.send(session, RtpPacket(101, seq, timestamp, 99, payload))
            seq += 1
        return seq


Opener = Callable[[], Awaitable[RtpSession]]


@pytest.fixture
async def sessions() -> AsyncIterator[Opener]:
    opened: list[RtpSession] = []

    async def open_one() -> RtpSession:
        session = await RtpSession.open(HOST, PORTS)
        opened.append(session)
        return session

    yield open_one
    for session in opened:
        session.close()


@pytest.fixture
def peer() -> Iterator[RawPeer]:
    with RawPeer() as raw:
        yield raw


def _connect(a: RtpSession, b: RtpSession, codec: str = "PCMA", event_type: int = 101) -> None:
    pt = 8 if codec == "PCMA" else 0
    a.set_remote(HOST, b.local_port, pt, codec, event_type)
    b.set_remote(HOST, a.local_port, pt, codec, event_type)


async def test_ports_are_even_distinct_and_run_out_with_a_clear_error(
    sessions: Opener,
) -> None:
    first, second = await sessions(), await sessions()
    assert first.local_port % 2 == 0 and second.local_port % 2 == 0
    assert first.local_port != second.local_port
    assert PORTS[0] <= first.local_port < PORTS[1]
    taken = first.local_port
    with pytest.raises(NoFreePort, match=rf"no free even UDP port in \[{taken}, {taken + 2}\)"):
        await RtpSession.open(HOST, (taken, taken + 2))
    with pytest.raises(NoFreePort):
        await RtpSession.open(HOST, (taken + 1, taken + 2))  # no even port at all
    for empty in ((taken, taken), (0, 10), (65534, 65538)):
        with pytest.raises(ValueError, match="is empty or not UDP ports"):
            await RtpSession.open(HOST, empty)
    # An odd lower bound starts at the next even port.
    third = await RtpSession.open(HOST, (taken - 1, PORTS[1]))
    try:
        assert third.local_port % 2 == 0 and third.local_port > taken
    finally:
        third.close()


async def test_play_paces_one_talkspurt_of_numbered_packets(
    sessions: Opener, peer: RawPeer
) -> None:
    session = await sessions()
    session.set_remote(HOST, peer.port, 8, "PCMA", 101)
    frames = _frames(5)
    await session.play(frames)
    await session.play(frames[:2])
    got = [await peer.receive() for _ in range(7)]
    assert [p.payload for p in got] == frames + frames[:2]
    assert {p.payload_type for p in got} == {8}
    assert len({p.ssrc for p in got}) == 1
    assert [p.marker for p in got] == [True, False, False, False, False, True, False]
    for before, after in itertools.pairwise(got):
        assert after.sequence == (before.sequence + 1) & 0xFFFF
    for before, after in itertools.pairwise(got[:5]):
        assert after.timestamp == (before.timestamp + FRAME_BYTES) & 0xFFFFFFFF
    # The second talkspurt goes on from the first, at least one frame later.
    assert (got[5].timestamp - got[4].timestamp) & 0xFFFFFFFF >= FRAME_BYTES


async def test_play_to_another_session_is_recorded_there(
    sessions: Opener,
) -> None:
    a, b = await sessions(), await sessions()
    _connect(a, b, "PCMU")
    frames = _frames(8, "PCMU")
    b.start_recording()
    await a.play(frames)
    await _until(lambda: b.recorded_bytes == 8 * FRAME_BYTES)
    assert b.stop_recording() == b"".join(frames)
    assert b.recorded_bytes == 0 and b.stop_recording() == b""


async def test_cancelling_play_stops_it_and_the_session_plays_on(
    sessions: Opener, peer: RawPeer
) -> None:
    session = await sessions()
    session.set_remote(HOST, peer.port, 8, "PCMA", None)
    task = asyncio.create_task(session.play(_frames(500)))
    first = await peer.receive()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    marker = _frames(1, start=999)[0]
    await session.play([marker])
    count = 1
    while (packet := await peer.receive()).payload != marker:
        count += 1
    assert count < 500 and packet.marker and first.marker


async def test_play_refuses_bad_frames_and_overlap_and_is_a_no_op_without_remote(
    sessions: Opener, peer: RawPeer
) -> None:
    session = await sessions()
    # 500 frames would take 10 s if paced: without a remote it returns at once.
    await asyncio.wait_for(session.play(_frames(500)), timeout=2)
    with pytest.raises(ValueError, match="frame 1 has 159 bytes"):
        await session.play([b"\xd5" * 160, b"\xd5" * 159])
    session.set_remote(HOST, peer.port, 8, "PCMA", None)
    task = asyncio.create_task(session.play(_frames(100)))
    await peer.receive()
    with pytest.raises(RuntimeError, match="already playing"):
        await session.play(_frames(1))
    task.cancel()
    with pytest.raises(ValueError, match="unsupported codec 'G729'"):
        session.set_remote(HOST, peer.port, 18, "G729", None)
    with pytest.raises(ValueError):
        session.set_remote("localhost", peer.port, 8, "PCMA", None)
    with pytest.raises(ValueError, match="port 0 is not a UDP port"):
        session.set_remote(HOST, 0, 8, "PCMA", None)
    with pytest.raises(ValueError, match="telephone-event payload type 128 is not 0-127"):
        session.set_remote(HOST, peer.port, 8, "PCMA", 128)
    with pytest.raises(ValueError, match="audio payload type -1"):
        session.set_remote(HOST, peer.port, -1, "PCMA", None)


async def test_close_is_idempotent_and_silences_the_session(
    sessions: Opener, peer: RawPeer
) -> None:
    session = await sessions()
    session.set_remote(HOST, peer.port, 8, "PCMA", None)
    session.close()
    session.close()
    await asyncio.wait_for(session.play(_frames(500)), timeout=2)


async def test_only_the_remote_is_heard_and_only_in_its_audio_type(
    sessions: Opener, peer: RawPeer
) -> None:
    session = await sessions()
    session.start_recording()
    peer.send(session, RtpPacket(8, 1, 0, 5, b"\x01" * 160))
    # Nothing shows whether a packet sent before any remote has arrived: a pause lets it,
    # so that a session keeping it fails here (a slow machine only makes this pass).
    await asyncio.sleep(0.05)
    with RawPeer() as stranger:
        session.set_remote(HOST, stranger.port, 8, "PCMA", 101)
        peer.send(session, RtpPacket(8, 2, 0, 5, b"\x02" * 160))
        stranger.key_press(session, "5", 0, 1)
        assert await asyncio.wait_for(session.digits.get(), 5) == "5"
        # The remote moves to the peer: the stranger is no one now.
        session.set_remote(HOST, peer.port, 8, "PCMA", 101)
        stranger.send(session, RtpPacket(8, 1, 0, 6, b"\x06" * 160))
        stranger.key_press(session, "6", 160, 20)
    peer.send(session, RtpPacket(18, 2, 160, 5, b"\x03" * 20))  # another payload type
    peer.send(session, RtpPacket(8, 3, 320, 5, b"\x04" * 160))
    peer.send(session, RtpPacket(101, 4, 480, 5, telephone_event_payload("7", True, 10, 800)))
    peer.sock.sendto(b"not rtp at all", (HOST, session.local_port))
    peer.key_press(session, "8", 640, 5)
    assert await asyncio.wait_for(session.digits.get(), 5) == "7"
    assert await asyncio.wait_for(session.digits.get(), 5) == "8"
    assert session.stop_recording() == b"\x04" * 160
    assert session.digits.empty()


async def test_recording_stops_growing_at_its_limit(sessions: Opener, peer: RawPeer) -> None:
    session = await sessions()
    session.set_remote(HOST, peer.port, 0, "PCMU", 101)
    session.start_recording(max_bytes=2 * FRAME_BYTES)
    for seq, frame in enumerate(_frames(5, "PCMU")):
        peer.send(session, RtpPacket(0, seq, seq * 160, 5, frame))
    peer.key_press(session, "0", 800, 5)
    await asyncio.wait_for(session.digits.get(), 5)
    assert session.recorded_bytes == 2 * FRAME_BYTES
    assert session.stop_recording() == b"".join(_frames(2, "PCMU"))


async def test_each_key_press_is_reported_once_on_its_first_packet(
    sessions: Opener, peer: RawPeer
) -> None:
    session = await sessions()
    session.set_remote(HOST, peer.port, 8, "PCMA", 101)
    seq = 100
    for timestamp, digit in ((1000, "1"), (3000, "#"), (5000, "1"), (7000, "D")):
        seq = peer.key_press(session, digit, timestamp, seq)
    got = [await asyncio.wait_for(session.digits.get(), 5) for _ in range(4)]
    assert got == ["1", "#", "1", "D"]
    # A late repeat of an event already seen is no new key.
    peer.send(session, RtpPacket(101, seq, 5000, 99, telephone_event_payload("1", True, 10, 800)))
    peer.key_press(session, "*", 9000, seq + 1)
    assert await asyncio.wait_for(session.digits.get(), 5) == "*"
    assert session.digits.empty()


def _udp_payloads(pcap: Path) -> list[bytes]:
    """The UDP payloads of a little-endian pcap of Ethernet/IPv4 frames, as sipp ships
    them (scapy reads it too, but its import alone costs the quick tier a second)."""
    data = pcap.read_bytes()
    magic, _, _, _, _, _, link = struct.unpack_from("<IHHiIII", data)
    assert (magic, link) == (0xA1B2C3D4, 1), "a little-endian Ethernet capture"
    payloads, at = [], 24
    while at < len(data):
        _, _, captured, _ = struct.unpack_from("<IIII", data, at)
        frame = data[at + 16 : at + 16 + captured]
        at += 16 + captured
        assert frame[12:14] == b"\x08\x00" and frame[23] == 17, "IPv4/UDP"
        udp = 14 + 4 * (frame[14] & 0x0F)
        (length,) = struct.unpack_from("!H", frame, udp + 4)
        payloads.append(frame[udp + 8 : udp + length])
    return payloads


async def test_sipp_rfc2833_capture_of_key_1_is_one_digit(sessions: Opener, peer: RawPeer) -> None:
    payloads = _udp_payloads(SIPP_DTMF_1)
    assert len(payloads) == 10  # sipp's capture: 7 updates and the end packet 3 times
    assert {payload[:2] for payload in payloads} == {b"\x80\xe5", b"\x80\x65"}
    session = await sessions()
    session.set_remote(HOST, peer.port, 8, "PCMA", 101)
    for payload in payloads:
        peer.sock.sendto(payload, (HOST, session.local_port))
    peer.key_press(session, "9", 123456, 1)  # the marker that all before it has arrived
    assert await asyncio.wait_for(session.digits.get(), 5) == "1"
    assert await asyncio.wait_for(session.digits.get(), 5) == "9"
    assert session.digits.empty()


async def _bridged_legs(
    sessions: Opener, codecs: tuple[str, str]
) -> tuple[RtpSession, RtpSession, RtpSession, RtpSession]:
    """Caller A <-> leg1 (the media app) <-> leg2 (the media app) <-> callee C."""
    caller, leg1, leg2, callee = [await sessions() for _ in range(4)]
    _connect(caller, leg1, codecs[0], 101)
    _connect(leg2, callee, codecs[1], 96)
    leg1.bridge(leg2)
    leg2.bridge(leg1)
    return caller, leg1, leg2, callee


async def test_bridge_relays_audio_both_ways(
    sessions: Opener,
) -> None:
    caller, leg1, _, callee = await _bridged_legs(sessions, ("PCMA", "PCMA"))
    forth, back = _frames(6), _frames(6, start=50)
    callee.start_recording()
    caller.start_recording()
    leg1.start_recording()  # the bridged leg still hears what it relays
    await asyncio.gather(caller.play(forth), callee.play(back))
    await _until(lambda: callee.recorded_bytes == 6 * FRAME_BYTES)
    await _until(lambda: caller.recorded_bytes == 6 * FRAME_BYTES)
    assert callee.stop_recording() == b"".join(forth)
    assert caller.stop_recording() == b"".join(back)
    await _until(lambda: leg1.recorded_bytes == 6 * FRAME_BYTES)
    assert leg1.stop_recording() == b"".join(forth)


async def test_bridge_relays_key_presses_in_the_far_legs_event_type(
    sessions: Opener, peer: RawPeer
) -> None:
    leg1, leg2, callee = [await sessions() for _ in range(3)]
    leg1.set_remote(HOST, peer.port, 8, "PCMA", 101)
    _connect(leg2, callee, "PCMA", 96)
    leg1.bridge(leg2)
    peer.key_press(leg1, "4", 2000, 1)
    assert await asyncio.wait_for(callee.digits.get(), 5) == "4"
    assert await asyncio.wait_for(leg1.digits.get(), 5) == "4"  # also seen where it arrived
    # The callee accepted it under 96, so the relay relabelled the telephone-events.
    leg2.set_remote(HOST, callee.local_port, 8, "PCMA", None)
    peer.key_press(leg1, "5", 4000, 20)
    peer.send(leg1, RtpPacket(8, 30, 5000, 99, b"\x11" * 160))
    callee.start_recording()
    await _until(lambda: callee.recorded_bytes == FRAME_BYTES)
    assert callee.digits.empty()  # leg2's far end takes no events: none were sent


async def test_bridge_transcodes_between_pcma_and_pcmu_legs(
    sessions: Opener,
) -> None:
    caller, _, _, callee = await _bridged_legs(sessions, ("PCMA", "PCMU"))
    forth, back = _frames(4, "PCMA"), _frames(4, "PCMU", start=20)
    callee.start_recording()
    caller.start_recording()
    await asyncio.gather(caller.play(forth), callee.play(back))
    await _until(lambda: callee.recorded_bytes == 4 * FRAME_BYTES)
    await _until(lambda: caller.recorded_bytes == 4 * FRAME_BYTES)
    heard_by_callee = callee.stop_recording()
    assert heard_by_callee == g711.alaw_to_ulaw(b"".join(forth))
    assert g711.ulaw_decode(heard_by_callee) == g711.ulaw_decode(
        g711.ulaw_encode(g711.alaw_decode(b"".join(forth)))
    )
    assert caller.stop_recording() == g711.ulaw_to_alaw(b"".join(back))


async def test_unbridge_stops_the_relay(sessions: Opener, peer: RawPeer) -> None:
    leg1, leg2, callee = [await sessions() for _ in range(3)]
    leg1.set_remote(HOST, peer.port, 8, "PCMA", 101)
    _connect(leg2, callee)
    leg1.bridge(leg2)
    callee.start_recording()
    leg1.start_recording()
    leg1.unbridge()
    peer.send(leg1, RtpPacket(8, 1, 0, 99, b"\x01" * 160))
    await _until(lambda: leg1.recorded_bytes == FRAME_BYTES)
    leg1.bridge(leg2)
    peer.send(leg1, RtpPacket(8, 2, 160, 99, b"\x02" * 160))
    await _until(lambda: callee.recorded_bytes >= FRAME_BYTES)
    assert callee.stop_recording() == b"\x02" * 160
    leg2.close()  # a closed far leg: the relay drops, and the near leg lives on
    leg1.start_recording()
    peer.send(leg1, RtpPacket(8, 3, 320, 99, b"\x03" * 160))
    await _until(lambda: leg1.recorded_bytes == FRAME_BYTES)
    with pytest.raises(ValueError, match="itself"):
        leg1.bridge(leg1)


async def test_send_digit_is_one_key_press_at_the_far_end(sessions: Opener) -> None:
    a, b = await sessions(), await sessions()
    _connect(a, b)
    assert a.codec == "PCMA"
    await a.send_digit("#")
    await a.send_digit("5", ms=40)
    async with asyncio.timeout(5):
        assert await b.digits.get() == "#"
        assert await b.digits.get() == "5"
    # Each press was reported once: a later one is the next thing in the queue.
    await a.send_digit("7", ms=20)
    async with asyncio.timeout(5):
        assert await b.digits.get() == "7"


async def test_send_digit_needs_a_negotiated_event_type(sessions: Opener) -> None:
    a, b = await sessions(), await sessions()
    a.set_remote(HOST, b.local_port, 8, "PCMA", None)
    b.set_remote(HOST, a.local_port, 8, "PCMA", 101)
    b.start_recording()
    await a.send_digit("1")
    await a.play(_frames(1))  # a packet after it: the key would have come first
    await _until(lambda: b.recorded_bytes == FRAME_BYTES)
    assert b.digits.empty()
