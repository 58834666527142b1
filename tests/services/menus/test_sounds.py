"""Sounds: any audio ffmpeg reads is stored as 8 kHz mono 16-bit WAV with its duration;
what cannot be played is refused with nothing stored; a sound a menu plays stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from provd.db.models import AuditEntry, Sound
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.services import menus
from provd.services.menus import sounds
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR as A
from tests.services.menus.audio import ffmpeg_sine, tone_wav, wav_format


def _files(p: Platform) -> list[Path]:
    return sorted(f for f in (p.data_dir / sounds.SOUNDS_DIR).rglob("*") if f.is_file())


async def _stored(p: Platform) -> tuple[int, int, list[Path]]:
    return await Sound.all().count(), await AuditEntry.all().count(), _files(p)


@pytest.mark.parametrize(
    ("upload", "duration_ms", "tolerance"),
    [
        (("-ar", "44100", "-ac", "2", "-f", "wav"), 1000, 0),
        (("-f", "mp3"), 1000, 80),  # an MP3 encoder pads the start and the end
    ],
    ids=["wav-44k-stereo", "mp3"],
)
async def test_an_upload_is_stored_as_8khz_mono_16_bit_with_its_duration(
    platform: Platform, upload: tuple[str, ...], duration_ms: int, tolerance: int
) -> None:
    data = ffmpeg_sine(1, *upload)
    view = await sounds.add_sound(platform, A, "default", "welcome", data, "welcome.x")
    assert view["name"] == "welcome" and view["tenant"] == "default"
    assert abs(view["duration_ms"] - duration_ms) <= tolerance
    path = platform.data_dir / "sounds" / "default" / "welcome.wav"
    assert _files(platform) == [path]
    stored = path.read_bytes()
    channels, width, rate, frames = wav_format(stored)
    assert (channels, width, rate) == (1, 2, 8000)
    assert frames * 1000 // 8000 == view["duration_ms"]
    assert view["size"] == len(stored)
    row = await AuditEntry.filter(action="sound.add").get()
    assert (row.object_type, row.object_key) == ("sound", "default/welcome")
    assert await sounds.show_sound("default", "welcome") == view
    assert await sounds.list_sounds("default") == [view]
    assert await sounds.sound_audio(platform, "default", "welcome") == path


@pytest.mark.parametrize(
    ("name", "data", "field"),
    [
        ("welcome", b"", "file"),
        ("welcome", b"this is not audio at all, just some text\n" * 10, "file"),
        ("welcome", b"RIFF\x00\x00\x00\x00WAVEfmt ", "file"),
        ("welcome", tone_wav(0.0), "file"),  # a header and no samples
        ("", tone_wav(), "name"),
        ("../escape", tone_wav(), "name"),
        (".hidden", tone_wav(), "name"),
        ("a/b", tone_wav(), "name"),
        ("x" * 65, tone_wav(), "name"),
    ],
    ids=["empty", "text", "cut-header", "no-samples", "no-name", "dots", "dot", "slash", "long"],
)
async def test_what_cannot_be_played_is_refused_with_nothing_stored(
    platform: Platform, name: str, data: bytes, field: str
) -> None:
    before = await _stored(platform)
    with pytest.raises(InvalidInput) as refused:
        await sounds.add_sound(platform, A, "default", name, data)
    assert refused.value.field == field
    assert await _stored(platform) == before


async def test_too_large_and_too_long_are_refused(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await _stored(platform)
    with pytest.raises(InvalidInput, match="larger than 20 MB") as large:
        await sounds.add_sound(platform, A, "default", "big", b"\0" * (20 * 1024 * 1024 + 1))
    assert large.value.field == "file"
    # The limit lowered to keep the test short: 10 minutes of audio is what it stands for.
    monkeypatch.setattr(sounds, "MAX_DURATION_MS", 400)
    with pytest.raises(InvalidInput, match="longer than") as long:
        await sounds.add_sound(platform, A, "default", "long", tone_wav(0.5))
    assert long.value.field == "file"
    assert await _stored(platform) == before


async def test_a_name_is_one_sound_per_tenant(platform: Platform) -> None:
    await sounds.add_sound(platform, A, "default", "welcome", tone_wav())
    before = await _stored(platform)
    with pytest.raises(Conflict) as taken:
        await sounds.add_sound(platform, A, "default", "welcome", tone_wav(0.2))
    assert taken.value.field == "name"
    assert await _stored(platform) == before
    with pytest.raises(NotFound):
        await sounds.show_sound("default", "nothing")


async def test_a_sound_a_menu_plays_is_not_removed_and_one_no_menu_plays_is(
    platform: Platform,
) -> None:
    await sounds.add_sound(platform, A, "default", "welcome", tone_wav())
    await sounds.add_sound(platform, A, "default", "sorry", tone_wav())
    await menus.add_menu(platform, A, "default", "700", "Main", "welcome", invalid_sound="sorry")
    before = await _stored(platform)
    for name, use in (("welcome", "menu 700's greeting"), ("sorry", "menu 700's invalid sound")):
        with pytest.raises(InvalidInput, match=use) as in_use:
            await sounds.remove_sound(platform, A, "default", name)
        assert in_use.value.field == "name"
    assert await _stored(platform) == before

    await menus.update_menu(platform, A, "default", "700", invalid_sound="none")
    await sounds.remove_sound(platform, A, "default", "sorry")
    assert [f.name for f in _files(platform)] == ["welcome.wav"]
    assert [s["name"] for s in await sounds.list_sounds()] == ["welcome"]
    row = await AuditEntry.filter(action="sound.remove").get()
    assert (row.object_key, (row.before or {})["name"]) == ("default/sorry", "sorry")


async def test_without_ffmpeg_nothing_is_stored_and_the_error_says_so(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sounds, "FFMPEG", "ffmpeg-that-is-not-installed")
    before = await _stored(platform)
    with pytest.raises(RuntimeError, match="not installed"):
        await sounds.add_sound(platform, A, "default", "welcome", tone_wav())
    assert await _stored(platform) == before
