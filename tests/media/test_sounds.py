"""Prompts: WAV files read back as written, every wrong property named, frames padded
with the codec's silence, and tones told apart by the Goertzel detector even after a
trip through G.711."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import pytest

from provd.media import g711
from provd.media.sounds import (
    PromptError,
    dominant_frequency,
    frames,
    read_prompt,
    tone,
    write_wav,
)

# Call-progress and DTMF frequencies: close neighbours, as a detector must separate.
FREQUENCIES = (350.0, 440.0, 480.0, 620.0, 697.0, 770.0, 1209.0, 1336.0)


def _wav(path: Path, channels: int, width: int, rate: int, frames_: bytes) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(frames_)
    return path


def test_written_prompt_reads_back(tmp_path: Path) -> None:
    pcm = struct.pack("<5h", 0, 1, -1, 32767, -32768)
    write_wav(tmp_path / "p.wav", pcm)
    assert read_prompt(tmp_path / "p.wav") == pcm
    with wave.open(str(tmp_path / "p.wav"), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
    with pytest.raises(ValueError, match="even number of bytes"):
        write_wav(tmp_path / "q.wav", b"\x00")


@pytest.mark.parametrize(
    ("channels", "width", "rate", "message"),
    [
        (2, 2, 8000, "2 channels, not mono"),
        (1, 2, 16000, "16000 Hz, not 8000 Hz"),
        (1, 1, 8000, "8-bit, not 16-bit"),
        (2, 1, 44100, "2 channels, not mono, 44100 Hz, not 8000 Hz, 8-bit, not 16-bit"),
    ],
)
def test_wrong_format_is_named(
    tmp_path: Path, channels: int, width: int, rate: int, message: str
) -> None:
    path = _wav(tmp_path / "bad.wav", channels, width, rate, bytes(channels * width * 80))
    with pytest.raises(PromptError, match=message):
        read_prompt(path)


def test_files_that_are_no_wav_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "prompt.wav"
    text.write_text("ID3 this is an mp3, honestly\n")
    with pytest.raises(PromptError, match="not a PCM WAV file"):
        read_prompt(text)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(PromptError, match="empty or cut short"):
        read_prompt(empty)
    whole = _wav(tmp_path / "whole.wav", 1, 2, 8000, bytes(1600)).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[:-100])
    with pytest.raises(PromptError, match="cut short \\(750 of 800 samples\\)"):
        read_prompt(cut)


def test_frames_are_20_ms_and_the_last_is_padded_with_silence() -> None:
    pcm = tone(440, 50)  # 400 samples: two whole frames and half of a third
    for codec in ("PCMA", "PCMU"):
        out = frames(pcm, codec)
        assert [len(frame) for frame in out] == [160, 160, 160]
        assert b"".join(out)[:400] == g711.encode(codec, pcm)
        assert set(out[2][80:]) == {g711.silence(codec)}
    assert frames(b"", "PCMA") == []
    assert len(frames(bytes(320), "PCMU")) == 1
    with pytest.raises(ValueError, match=r"unknown G\.711 codec"):
        frames(pcm, "G722")
    with pytest.raises(ValueError, match="even number"):
        frames(b"\x00", "PCMA")


def test_tone_has_its_length_and_amplitude() -> None:
    pcm = tone(1000, 20, amplitude=0.5)
    samples = struct.unpack("<160h", pcm)
    assert max(samples) == round(0.5 * 32767) and min(samples) == -round(0.5 * 32767)
    assert samples[0] == 0
    assert tone(440, 0) == b""
    with pytest.raises(ValueError, match="amplitude"):
        tone(440, 10, amplitude=1.5)


@pytest.mark.parametrize("frequency", FREQUENCIES)
def test_goertzel_picks_the_tone_that_was_sent(frequency: float) -> None:
    pcm = tone(frequency, 100)
    assert dominant_frequency(pcm, FREQUENCIES) == frequency
    # What a test hears at the other end of a call: the tone through G.711 and back.
    for codec in ("PCMA", "PCMU"):
        heard = g711.decode(codec, b"".join(frames(pcm, codec)))
        assert dominant_frequency(heard, FREQUENCIES) == frequency


def test_goertzel_finds_the_louder_of_two_tones() -> None:
    loud, quiet = tone(770, 100, 0.4), tone(1336, 100, 0.1)
    pairs = zip(struct.unpack("<800h", loud), struct.unpack("<800h", quiet), strict=True)
    mixed = struct.pack("<800h", *(a + b for a, b in pairs))
    assert dominant_frequency(mixed, (1336.0, 770.0)) == 770.0
    with pytest.raises(ValueError, match="no candidate"):
        dominant_frequency(mixed, ())
    with pytest.raises(ValueError, match="no samples"):
        dominant_frequency(b"", FREQUENCIES)
