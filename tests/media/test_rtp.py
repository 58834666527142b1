"""RTP and RFC 4733 on the wire, without sockets: packing and parsing agree, the optional
header parts (CSRC list, extension, padding) are skipped, and anything short, of another
version or RTCP is refused with None rather than an exception."""

from __future__ import annotations

import struct

import pytest

from provd.media.rtp import (
    DtmfEvent,
    RtpPacket,
    parse_rtp,
    parse_telephone_event,
    telephone_event_payload,
)


def test_pack_then_parse_gives_the_packet_back() -> None:
    packet = RtpPacket(8, 65535, 0xFFFFFFFF, 0x12345678, b"\xd5" * 160, marker=True)
    wire = packet.pack()
    assert len(wire) == 172
    assert wire[:2] == b"\x80\x88"
    assert parse_rtp(wire) == packet
    plain = RtpPacket(0, 1, 160, 7, b"")
    assert parse_rtp(plain.pack()) == plain


def test_pack_wraps_sequence_and_timestamp() -> None:
    packet = RtpPacket(0, 65536 + 5, (1 << 32) + 9, 1, b"x")
    parsed = parse_rtp(packet.pack())
    assert parsed is not None
    assert (parsed.sequence, parsed.timestamp) == (5, 9)


def test_csrc_list_extension_and_padding_are_skipped() -> None:
    # Two CSRCs, a 2-word extension, 3 bytes of padding.
    first = 0x80 | 0x20 | 0x10 | 2
    header = struct.pack("!BBHII", first, 101, 7, 8000, 42)
    csrcs = struct.pack("!II", 1, 2)
    extension = struct.pack("!HH", 0xBEDE, 2) + b"\x01" * 8
    wire = header + csrcs + extension + b"\x01\x0a\x00\xa0" + b"\x00\x00\x03"
    assert parse_rtp(wire) == RtpPacket(101, 7, 8000, 42, b"\x01\x0a\x00\xa0")


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x80\x08" + b"\x00" * 9, id="short-header"),
        pytest.param(b"\x40\x08" + b"\x00" * 10 + b"x", id="version-1"),
        pytest.param(b"\x00" * 20, id="version-0"),
        pytest.param(b"\x81\xc8" + b"\x00" * 26, id="rtcp-sender-report"),
        pytest.param(b"\x82\x08" + b"\x00" * 10 + b"\x00" * 4, id="csrc-cut-short"),
        pytest.param(b"\x90\x08" + b"\x00" * 10 + b"\xbe\xde", id="extension-header-cut"),
        pytest.param(b"\x90\x08" + b"\x00" * 10 + b"\xbe\xde\x00\x05" + b"\x00" * 8, id="ext-cut"),
        pytest.param(b"\xa0\x08" + b"\x00" * 10 + b"ab\x00", id="padding-zero"),
        pytest.param(b"\xa0\x08" + b"\x00" * 10 + b"ab\x09", id="padding-too-long"),
    ],
)
def test_malformed_packets_are_none(wire: bytes) -> None:
    assert parse_rtp(wire) is None


def test_padding_that_eats_the_whole_payload_leaves_it_empty() -> None:
    wire = b"\xa0\x08" + b"\x00" * 10 + b"ab\x03"
    packet = parse_rtp(wire)
    assert packet is not None and packet.payload == b""


@pytest.mark.parametrize(
    ("event", "digit"),
    [(0, "0"), (9, "9"), (10, "*"), (11, "#"), (12, "A"), (15, "D")],
)
def test_telephone_events_name_their_keys(event: int, digit: str) -> None:
    payload = bytes([event, 0x80 | 10]) + struct.pack("!H", 1280)
    assert parse_telephone_event(payload) == DtmfEvent(digit, True, 10, 1280)
    assert telephone_event_payload(digit, True, 10, 1280) == payload


def test_other_events_and_short_payloads_are_none() -> None:
    assert parse_telephone_event(b"\x10\x0a\x00\xa0") is None  # 16: flash
    assert parse_telephone_event(b"\x01\x0a\x00") is None
    assert parse_telephone_event(b"\x05\x3f\xff\xff") == DtmfEvent("5", False, 63, 65535)


def test_event_payload_refuses_what_does_not_fit() -> None:
    assert telephone_event_payload("b", False, 0, 0) == b"\x0d\x00\x00\x00"
    for digit, volume, duration in (("E", 10, 0), ("12", 10, 0), ("1", 64, 0), ("1", 1, 1 << 16)):
        with pytest.raises(ValueError):
            telephone_event_payload(digit, False, volume, duration)
