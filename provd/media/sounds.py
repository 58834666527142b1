"""Prompts as the media app plays them: WAV files in, 20 ms G.711 frames out.

Prompts are stored already converted (8 kHz, mono, 16-bit PCM) by the upload path, so
reading one only checks that it is so and says which property is wrong: resampling here
would hide a broken conversion until a caller heard it. The tone generator and the
Goertzel detector are for tests and diagnostics that need to know which prompt or tone
went down a line without comparing bytes.
"""

from __future__ import annotations

import math
import sys
import wave
from array import array
from collections.abc import Sequence
from pathlib import Path

from provd.media import g711
from provd.media.rtp import FRAME_BYTES

__all__ = [
    "SAMPLE_RATE",
    "PromptError",
    "dominant_frequency",
    "frames",
    "read_prompt",
    "tone",
    "write_wav",
]

SAMPLE_RATE = 8000
_SAMPLE_BYTES = 2
_FRAME_PCM_BYTES = FRAME_BYTES * _SAMPLE_BYTES


class PromptError(ValueError):
    """A prompt file that is not 8 kHz mono 16-bit PCM WAV; the message says how."""


def _swap_on_big_endian(pcm16: bytes) -> bytes:
    # `wave` hands out and takes samples in the machine's byte order; ours are LE.
    if sys.byteorder == "little":
        return pcm16
    samples = array("h", pcm16)
    samples.byteswap()
    return samples.tobytes()


def read_prompt(path: Path) -> bytes:
    """The samples of a prompt file: 16-bit signed little-endian mono at 8 kHz."""
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            problems = [
                f"{channels} channels, not mono" if channels != 1 else "",
                f"{rate} Hz, not {SAMPLE_RATE} Hz" if rate != SAMPLE_RATE else "",
                f"{8 * width}-bit, not 16-bit" if width != _SAMPLE_BYTES else "",
            ]
            if any(problems):
                raise PromptError(f"{path}: {', '.join(p for p in problems if p)}")
            expected = wav.getnframes()
            pcm = wav.readframes(expected)
    except wave.Error as exc:
        raise PromptError(f"{path}: not a PCM WAV file ({exc})") from None
    except EOFError:
        raise PromptError(f"{path}: not a WAV file (empty or cut short)") from None
    if len(pcm) != expected * _SAMPLE_BYTES:
        raise PromptError(f"{path}: cut short ({len(pcm) // 2} of {expected} samples)")
    return _swap_on_big_endian(pcm)


def write_wav(path: Path, pcm16: bytes) -> None:
    """Write 16-bit little-endian samples as an 8 kHz mono WAV file."""
    if len(pcm16) % _SAMPLE_BYTES:
        raise ValueError(f"16-bit PCM has an even number of bytes, got {len(pcm16)}")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(_SAMPLE_BYTES)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(_swap_on_big_endian(pcm16))


def frames(pcm16: bytes, codec: str) -> list[bytes]:
    """`pcm16` as 20 ms frames in `codec` ("PCMA"/"PCMU"), the last padded with silence."""
    if len(pcm16) % _SAMPLE_BYTES:
        raise ValueError(f"16-bit PCM has an even number of bytes, got {len(pcm16)}")
    short = -len(pcm16) % _FRAME_PCM_BYTES
    encoded = g711.encode(codec, pcm16 + bytes(short))
    return [encoded[at : at + FRAME_BYTES] for at in range(0, len(encoded), FRAME_BYTES)]


def decode(payload: bytes, codec: str) -> bytes:
    """Received G.711 payload as 16-bit PCM (for recordings and checks of what was heard)."""
    return g711.decode(codec, payload)


def tone(freq_hz: float, ms: int, amplitude: float = 0.3) -> bytes:
    """A sine of `ms` milliseconds at `amplitude` of full scale, as 16-bit LE samples."""
    if not 0.0 <= amplitude <= 1.0:
        raise ValueError(f"amplitude is a fraction of full scale (0-1), got {amplitude}")
    peak = amplitude * 32767
    step = 2 * math.pi * freq_hz / SAMPLE_RATE
    samples = array("h", (round(peak * math.sin(step * n)) for n in range(ms * 8)))
    return _swap_on_big_endian(samples.tobytes())


def dominant_frequency(pcm16: bytes, candidates: Sequence[float]) -> float:
    """Which of `candidates` carries the most energy in `pcm16` (a Goertzel filter each:
    one frequency's power, cheaper than a full FFT when only a few are asked about)."""
    if not candidates:
        raise ValueError("no candidate frequencies")
    samples = array("h", _swap_on_big_endian(pcm16))
    if not samples:
        raise ValueError("no samples to listen to")

    def power(freq: float) -> float:
        coeff = 2 * math.cos(2 * math.pi * freq / SAMPLE_RATE)
        previous = before = 0.0
        for sample in samples:
            previous, before = sample + coeff * previous - before, previous
        return previous * previous + before * before - coeff * previous * before

    return max(candidates, key=power)
