"""Recordings for the sound and menu tests: a WAV made here, and ffmpeg-made files."""

from __future__ import annotations

import io
import math
import struct
import subprocess
import wave


def tone_wav(seconds: float = 0.5, *, rate: int = 8000, channels: int = 1) -> bytes:
    """A 440 Hz tone as 16-bit PCM WAV."""
    frames = int(seconds * rate)
    samples = (int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(frames))
    pcm = b"".join(struct.pack("<h", s) * channels for s in samples)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def ffmpeg_sine(seconds: float, *args: str) -> bytes:
    """A 1 kHz sine made by ffmpeg, encoded as ``args`` say (``-f mp3``, …)."""
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
         "-i", f"sine=frequency=1000:duration={seconds}", *args, "pipe:1"],
        check=True, capture_output=True, timeout=60,
    ).stdout  # fmt: skip


def wav_format(data: bytes) -> tuple[int, int, int, int]:
    """(channels, sample width in bytes, rate, frames) of a WAV."""
    with wave.open(io.BytesIO(data)) as w:
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
