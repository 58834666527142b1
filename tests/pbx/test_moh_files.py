"""A tenant's music on hold file: 8 kHz mono 16-bit sounds joined in order, anything
else refused with the file left as it was, and where it lives."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from provd.media import queue
from provd.pbx.media_app import MOH_SUBDIR, media_dir, moh_file, tenant_moh_file, tenant_moh_path
from provd.pbx.moh import MohError, join_wavs
from provd.pbx.settings import PbxSettings


def _wav(path: Path, frames: bytes, *, rate: int = 8000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


def test_sounds_are_joined_in_order(tmp_path: Path) -> None:
    a = _wav(tmp_path / "a.wav", b"\x01\x00" * 80)
    b = _wav(tmp_path / "b.wav", b"\x02\x00" * 40)
    dest = join_wavs([a, b, a], tmp_path / "out" / "acme.wav")
    with wave.open(str(dest)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        assert (
            w.readframes(w.getnframes()) == b"\x01\x00" * 80 + b"\x02\x00" * 40 + b"\x01\x00" * 80
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"rate": 16000}, "not 8 kHz mono"), ({"channels": 2}, "not 8 kHz mono")],
)
def test_another_format_is_refused_and_the_file_stays(
    tmp_path: Path, kwargs: dict[str, int], message: str
) -> None:
    good = _wav(tmp_path / "good.wav", b"\x01\x00" * 80)
    dest = join_wavs([good], tmp_path / "acme.wav")
    before = dest.read_bytes()
    odd = _wav(tmp_path / "odd.wav", b"\x01\x00" * 80, **kwargs)
    with pytest.raises(MohError, match=message):
        join_wavs([good, odd], dest)
    with pytest.raises(MohError, match=r"missing\.wav cannot be read"):
        join_wavs([good, tmp_path / "missing.wav"], dest)
    with pytest.raises(MohError, match="at least one"):
        join_wavs([], dest)
    assert dest.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acme.wav", "good.wav", "odd.wav"]


def test_a_tenants_file_is_beside_the_default_and_none_until_written(tmp_path: Path) -> None:
    settings = PbxSettings(tmp_path)
    media = media_dir(settings)
    # A folder of its own: the tenant named "default" does not replace the default music.
    assert tenant_moh_path(media, "default") == media / MOH_SUBDIR / "tenants" / "default.wav"
    assert tenant_moh_path(media, "default") != moh_file(settings)
    assert tenant_moh_file(media, "acme") is None
    tenant_moh_path(media, "acme").parent.mkdir(parents=True)
    _wav(tenant_moh_path(media, "acme"), b"\0\0")
    assert tenant_moh_file(media, "acme") == tenant_moh_path(media, "acme")


def test_the_media_applications_queues_play_the_file_provd_writes(tmp_path: Path) -> None:
    # provd.media may not import provd.pbx: the scheme is written twice, checked here.
    media = media_dir(PbxSettings(tmp_path))
    played = media / queue.MOH_DIR / queue.TENANT_MOH_DIR / "acme.wav"
    assert tenant_moh_path(media, "acme") == played
    assert moh_file(PbxSettings(tmp_path)) == media / queue.MOH_DIR / f"{queue.DEFAULT_MOH}.wav"
