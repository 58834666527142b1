"""G.711: the spec's fixed points, the quantisation error over every 16-bit sample,
codes that are stable through a second pass, and the shortcuts (transcode tables, codec
names) agreeing with the long way round."""

from __future__ import annotations

import struct

import pytest

from provd.media import g711

ALL_SAMPLES = struct.pack("<65536h", *range(-32768, 32768))
ALL_CODES = bytes(range(256))


def _samples(pcm: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(pcm) // 2}h", pcm))


def test_zero_and_extremes_have_the_spec_codes() -> None:
    zero = struct.pack("<h", 0)
    assert g711.alaw_encode(zero) == b"\xd5"
    assert g711.ulaw_encode(zero) == b"\xff"
    # One's complement folding: -1 is "negative zero", not the first negative step.
    assert g711.alaw_encode(struct.pack("<h", -1)) == b"\x55"
    assert g711.ulaw_encode(struct.pack("<h", -1)) == b"\x7f"
    assert _samples(g711.alaw_decode(b"\xd5\x55\xaa\x2a")) == [8, -8, 32256, -32256]
    assert _samples(g711.ulaw_decode(b"\xff\x7f\x80\x00")) == [0, 0, 32124, -32124]
    assert g711.alaw_encode(struct.pack("<2h", 32767, -32768)) == b"\xaa\x2a"
    assert g711.ulaw_encode(struct.pack("<2h", 32767, -32768)) == b"\x80\x00"


@pytest.mark.parametrize(
    ("encode", "decode"),
    [(g711.alaw_encode, g711.alaw_decode), (g711.ulaw_encode, g711.ulaw_decode)],
    ids=["alaw", "ulaw"],
)
def test_round_trip_error_is_half_a_step_over_every_sample(encode: object, decode: object) -> None:
    assert callable(encode) and callable(decode)
    codes = encode(ALL_SAMPLES)
    assert len(codes) == 65536
    back = _samples(decode(codes))
    previous = -32768
    for sample, value in zip(range(-32768, 32768), back, strict=True):
        # A logarithmic quantiser: the step grows with the magnitude, 1/16 of it at most;
        # half a step of error, plus the µ-law clip above 32124.
        bound = max(8, abs(sample) // 32 + 8) + max(0, abs(sample) - 32124)
        assert abs(sample - value) <= bound, (sample, value)
        assert value >= previous, "decoded values rise with the input"
        previous = value


@pytest.mark.parametrize(
    ("encode", "decode"),
    [(g711.alaw_encode, g711.alaw_decode), (g711.ulaw_encode, g711.ulaw_decode)],
    ids=["alaw", "ulaw"],
)
def test_decoded_codes_are_stable(encode: object, decode: object) -> None:
    assert callable(encode) and callable(decode)
    decoded = decode(ALL_CODES)
    assert decode(encode(decoded)) == decoded
    # All 256 codes decode to distinct values but for the two zeros of µ-law.
    assert len(set(_samples(decoded))) == (256 if encode is g711.alaw_encode else 255)


def test_transcoding_tables_match_decode_then_encode() -> None:
    assert g711.alaw_to_ulaw(ALL_CODES) == g711.ulaw_encode(g711.alaw_decode(ALL_CODES))
    assert g711.ulaw_to_alaw(ALL_CODES) == g711.alaw_encode(g711.ulaw_decode(ALL_CODES))
    assert g711.transcode(ALL_CODES, "PCMA", "PCMU") == g711.alaw_to_ulaw(ALL_CODES)
    assert g711.transcode(ALL_CODES, "PCMU", "PCMA") == g711.ulaw_to_alaw(ALL_CODES)
    assert g711.transcode(ALL_CODES, "PCMA", "PCMA") == ALL_CODES


def test_codec_names_dispatch_and_unknown_names_are_refused() -> None:
    pcm = ALL_SAMPLES[:4000]
    assert g711.encode("PCMA", pcm) == g711.alaw_encode(pcm)
    assert g711.encode("PCMU", pcm) == g711.ulaw_encode(pcm)
    assert g711.decode("PCMA", ALL_CODES) == g711.alaw_decode(ALL_CODES)
    assert g711.decode("PCMU", ALL_CODES) == g711.ulaw_decode(ALL_CODES)
    assert (g711.silence("PCMA"), g711.silence("PCMU")) == (0xD5, 0xFF)
    for call in (lambda: g711.encode("G722", pcm), lambda: g711.silence("pcma")):
        with pytest.raises(ValueError, match=r"unknown G\.711 codec"):
            call()


def test_empty_input_is_empty_output_and_half_samples_are_refused() -> None:
    assert g711.alaw_encode(b"") == b"" and g711.ulaw_decode(b"") == b""
    with pytest.raises(ValueError, match="even number of bytes"):
        g711.ulaw_encode(b"\x00\x00\x00")
