"""A tenant's music on hold as one WAV: its playlist's sounds one after the other.

Every sound provd stores is 8 kHz mono 16-bit PCM (provd.services.menus.sounds converts
uploads), so joining them is copying their samples into one file with the stdlib's
``wave``; a sound in another format is refused rather than played at the wrong speed.
The file is written under a temporary name and renamed over the old one, so that
rtpengine, opening it when a call is put on hold, reads the old playlist or the new one
whole (where it lives: provd.pbx.media_app.tenant_moh_path).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path

RATE = 8000
SAMPLE_BYTES = 2
CHANNELS = 1


class MohError(ValueError):
    """A sound of the playlist cannot be joined (missing, or not 8 kHz mono 16-bit)."""


def join_wavs(sources: Sequence[Path], dest: Path) -> Path:
    """Write ``sources`` one after the other into ``dest`` (replaced whole); MohError
    naming the first that cannot be joined, with ``dest`` left as it was."""
    if not sources:
        raise MohError("a playlist has at least one sound")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=dest.parent, prefix=".moh-", suffix=".wav")
    try:
        with os.fdopen(fd, "wb") as f:
            with wave.open(f, "wb") as out:
                out.setnchannels(CHANNELS)
                out.setsampwidth(SAMPLE_BYTES)
                out.setframerate(RATE)
                for source in sources:
                    out.writeframes(_samples(source))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return dest


def _samples(source: Path) -> bytes:
    try:
        with wave.open(str(source), "rb") as w:
            shape = (w.getnchannels(), w.getsampwidth(), w.getframerate())
            if shape != (CHANNELS, SAMPLE_BYTES, RATE):
                raise MohError(f"{source.name} is not 8 kHz mono 16-bit PCM: {shape}")
            return w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error) as e:
        raise MohError(f"{source.name} cannot be read: {e}") from e
