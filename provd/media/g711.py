"""G.711 A-law and µ-law (ITU-T G.711) between 16-bit little-endian PCM and codes.

`audioop` did this until Python 3.13 removed it. Per-sample arithmetic in Python costs
about a microsecond a sample, too much for a process that moves many calls' audio, so all
the arithmetic happens once at import: decoding is two `bytes.translate` passes (low and
high byte of each sample) and encoding one lookup per sample through C-level `map`
into a 65536-entry table indexed by the sample's 16 bits. Negative samples are folded
with one's complement, as the ITU reference code (G.191) does, so that -1 encodes as
"negative zero" rather than as the first negative step.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable

__all__ = [
    "CODECS",
    "alaw_decode",
    "alaw_encode",
    "alaw_to_ulaw",
    "decode",
    "encode",
    "silence",
    "transcode",
    "ulaw_decode",
    "ulaw_encode",
    "ulaw_to_alaw",
]

CODECS = ("PCMA", "PCMU")
"""The codec names as SDP spells them: PCMA is A-law, PCMU µ-law."""

_LITTLE_ENDIAN = sys.byteorder == "little"


def _alaw_code(sample13: int) -> int:
    """The A-law code of a signed 13-bit sample (a 16-bit sample shifted right by 3)."""
    if sample13 >= 0:
        magnitude, sign = sample13, 0x80
    else:
        magnitude, sign = ~sample13, 0x00
    if magnitude < 32:
        code = magnitude >> 1
    else:
        segment = magnitude.bit_length() - 5  # 1..7: [16 << s, 32 << s)
        code = (segment << 4) | ((magnitude >> segment) & 0x0F)
    # Even bits are inverted on the line so that idle channels carry transitions.
    return (code | sign) ^ 0x55


def _alaw_value(code: int) -> int:
    code ^= 0x55
    segment = (code >> 4) & 0x07
    # Each code decodes to the middle of its interval; segment 0 and 1 share a step.
    step_bits = max(segment, 1)
    interval = (code & 0x0F) | (0x10 if segment else 0)
    magnitude = (interval << step_bits) + (1 << (step_bits - 1))
    magnitude <<= 3  # back to the 16-bit scale
    return magnitude if code & 0x80 else -magnitude


_ULAW_BIAS = 33  # on the 14-bit scale; 132 on the 16-bit one
_ULAW_TOP = 0x1FFF  # the biased magnitude of the last code: louder samples clip to it


def _ulaw_code(sample14: int) -> int:
    """The µ-law code of a signed 14-bit sample (a 16-bit sample shifted right by 2)."""
    if sample14 >= 0:
        magnitude, sign = sample14, 0x00
    else:
        magnitude, sign = ~sample14, 0x80
    biased = min(magnitude + _ULAW_BIAS, _ULAW_TOP)
    segment = biased.bit_length() - 6  # 0..7: [32 << s, 64 << s)
    code = (segment << 4) | ((biased >> (segment + 1)) & 0x0F)
    # µ-law sends every bit inverted, the sign bit included (set means positive).
    return (code | sign) ^ 0xFF


def _ulaw_value(code: int) -> int:
    code ^= 0xFF
    segment = (code >> 4) & 0x07
    magnitude = ((((code & 0x0F) << 3) + 0x84) << segment) - 0x84
    return -magnitude if code & 0x80 else magnitude


def _decode_tables(value: Callable[[int], int]) -> tuple[bytes, bytes]:
    """Low-byte and high-byte translate tables: code -> each byte of its LE sample."""
    samples = [value(code) & 0xFFFF for code in range(256)]
    return bytes(s & 0xFF for s in samples), bytes(s >> 8 for s in samples)


def _encode_table(code: Callable[[int], int], shift: int) -> bytes:
    """Code of every 16-bit sample, indexed by the sample read as unsigned.

    The code depends only on the top 16 - shift bits, so the small table is computed
    once per distinct value and then spread over the big one by strided slice
    assignment, which stays in C.
    """
    width = 16 - shift
    small = bytes(
        code(unsigned - (1 << width) if unsigned >> (width - 1) else unsigned)
        for unsigned in range(1 << width)
    )
    table = bytearray(1 << 16)
    for low in range(1 << shift):
        table[low :: 1 << shift] = small
    return bytes(table)


_ALAW_LOW, _ALAW_HIGH = _decode_tables(_alaw_value)
_ULAW_LOW, _ULAW_HIGH = _decode_tables(_ulaw_value)
_ALAW_ENCODE = _encode_table(_alaw_code, 3)
_ULAW_ENCODE = _encode_table(_ulaw_code, 2)
_ALAW_TO_ULAW = bytes(_ULAW_ENCODE[_alaw_value(code) & 0xFFFF] for code in range(256))
_ULAW_TO_ALAW = bytes(_ALAW_ENCODE[_ulaw_value(code) & 0xFFFF] for code in range(256))


def _decode(data: bytes, low: bytes, high: bytes) -> bytes:
    pcm = bytearray(2 * len(data))
    pcm[0::2] = data.translate(low)
    pcm[1::2] = data.translate(high)
    return bytes(pcm)


def _encode(pcm16le: bytes, table: bytes) -> bytes:
    if len(pcm16le) % 2:
        raise ValueError(f"16-bit PCM has an even number of bytes, got {len(pcm16le)}")
    if _LITTLE_ENDIAN:
        samples: memoryview | array[int] = memoryview(pcm16le).cast("H")
    else:
        samples = array("H", pcm16le)
        samples.byteswap()
    return bytes(map(table.__getitem__, samples))


def alaw_encode(pcm16le: bytes) -> bytes:
    """A-law codes of 16-bit signed little-endian samples, one byte a sample."""
    return _encode(pcm16le, _ALAW_ENCODE)


def alaw_decode(data: bytes) -> bytes:
    """16-bit signed little-endian samples of A-law codes."""
    return _decode(data, _ALAW_LOW, _ALAW_HIGH)


def ulaw_encode(pcm16le: bytes) -> bytes:
    """µ-law codes of 16-bit signed little-endian samples, one byte a sample."""
    return _encode(pcm16le, _ULAW_ENCODE)


def ulaw_decode(data: bytes) -> bytes:
    """16-bit signed little-endian samples of µ-law codes."""
    return _decode(data, _ULAW_LOW, _ULAW_HIGH)


def alaw_to_ulaw(data: bytes) -> bytes:
    """The same as ulaw_encode(alaw_decode(data)), in one translate pass."""
    return data.translate(_ALAW_TO_ULAW)


def ulaw_to_alaw(data: bytes) -> bytes:
    """The same as alaw_encode(ulaw_decode(data)), in one translate pass."""
    return data.translate(_ULAW_TO_ALAW)


def _check(codec: str) -> None:
    if codec not in CODECS:
        raise ValueError(f"unknown G.711 codec {codec!r}: expected PCMA or PCMU")


def encode(codec: str, pcm16le: bytes) -> bytes:
    """Codes of `pcm16le` in the codec named as SDP names it ("PCMA" or "PCMU")."""
    _check(codec)
    return alaw_encode(pcm16le) if codec == "PCMA" else ulaw_encode(pcm16le)


def decode(codec: str, data: bytes) -> bytes:
    """16-bit little-endian samples of `data` in the codec named ("PCMA" or "PCMU")."""
    _check(codec)
    return alaw_decode(data) if codec == "PCMA" else ulaw_decode(data)


def transcode(data: bytes, source: str, target: str) -> bytes:
    """`data` in codec `source` re-encoded in codec `target` (unchanged when the same)."""
    _check(source)
    _check(target)
    if source == target:
        return data
    return alaw_to_ulaw(data) if source == "PCMA" else ulaw_to_alaw(data)


def silence(codec: str) -> int:
    """The code of a zero sample: what pads a frame and what a quiet line carries."""
    _check(codec)
    return _ALAW_ENCODE[0] if codec == "PCMA" else _ULAW_ENCODE[0]
