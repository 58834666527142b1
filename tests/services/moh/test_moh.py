"""Music on hold per tenant: a playlist of the tenant's sounds rendered into one WAV of
the media directory (their samples one after the other), audited, refused whole with
nothing stored or written, cleared with its file, a sound of it kept, and every file
written again from the database."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import pytest

from provd.db.models import AuditEntry, Tenant
from provd.domain.errors import InvalidInput, NotFound
from provd.pbx.media_app import media_dir_of, tenant_moh_file, tenant_moh_path
from provd.services import moh
from provd.services.directory import tenants
from provd.services.menus import sounds
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR as A
from tests.conftest import starting_from
from tests.services.menus.audio import tone_wav


async def _sounds(platform: Platform) -> None:
    await sounds.add_sound(platform, A, "default", "jazz", tone_wav(0.2))
    await sounds.add_sound(platform, A, "default", "news", tone_wav(0.3))
    await tenants.add_tenant(platform, A, "acme")
    await sounds.add_sound(platform, A, "acme", "theirs", tone_wav(0.1))


platform_start = starting_from(_sounds)


def _frames(path: Path) -> int:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        return int(w.getnframes())


def _file(p: Platform, slug: str = "default") -> Path | None:
    return tenant_moh_file(media_dir_of(p.data_dir), slug)


async def _state(p: Platform) -> dict[str, Any]:
    return {
        "playlists": await Tenant.all().order_by("id").values_list("slug", "moh_playlist"),
        "audit": await AuditEntry.all().count(),
        "file": _file(p),
    }


async def test_a_playlist_is_rendered_in_order_and_audited(platform: Platform) -> None:
    assert await moh.show_moh("default") == {"tenant": "default", "sounds": [], "duration_ms": 0}
    assert _file(platform) is None
    view = await moh.set_moh(platform, A, "default", ["news", "jazz", "news"])
    assert view == {"tenant": "default", "sounds": ["news", "jazz", "news"], "duration_ms": 800}
    path = _file(platform)
    assert path == platform.data_dir / "pbx" / "media" / "moh" / "tenants" / "default.wav"
    assert _frames(path) == 8000 * 8 // 10  # 0.3 + 0.2 + 0.3 s
    with wave.open(str(path)) as w:
        pcm = w.readframes(w.getnframes())
    with wave.open(str(platform.data_dir / "sounds" / "default" / "news.wav")) as w:
        news = w.readframes(w.getnframes())
    assert pcm.startswith(news) and pcm.endswith(news)
    row = await AuditEntry.filter(action="moh.set", object_key="default").get()
    assert (row.object_type, row.before, row.after) == (
        "moh",
        {"tenant": "default", "sounds": [], "duration_ms": 0},
        view,
    )
    assert await moh.show_moh("default") == view


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ([], InvalidInput),
        ("jazz", InvalidInput),  # a name, not a list of names
        (["jazz", "missing"], NotFound),
        (["theirs"], NotFound),  # acme's
        (["jazz"] * 21, InvalidInput),
    ],
)
async def test_bad_input_names_sounds_and_changes_nothing(
    platform: Platform, given: Any, error: type[Exception]
) -> None:
    await moh.set_moh(platform, A, "default", ["jazz"])
    before = await _state(platform)
    written = before["file"].read_bytes()
    with pytest.raises(error) as caught:
        await moh.set_moh(platform, A, "default", given)
    assert getattr(caught.value, "field", None) == "sounds"
    assert await _state(platform) == before
    assert before["file"].read_bytes() == written


async def test_a_sound_file_gone_is_refused_with_nothing_stored(platform: Platform) -> None:
    (platform.data_dir / "sounds" / "default" / "news.wav").unlink()
    before = await _state(platform)
    with pytest.raises(InvalidInput) as caught:
        await moh.set_moh(platform, A, "default", ["jazz", "news"])
    assert caught.value.field == "sounds" and "news.wav" in str(caught.value)
    assert await _state(platform) == before
    folder = tenant_moh_path(media_dir_of(platform.data_dir), "default").parent
    assert list(folder.glob(".moh-*")) == []  # the half-written file went too


async def test_clearing_removes_the_file_and_a_sound_in_it_is_kept(platform: Platform) -> None:
    await moh.set_moh(platform, A, "default", ["jazz"])
    with pytest.raises(InvalidInput, match="the music on hold"):
        await sounds.remove_sound(platform, A, "default", "jazz")
    cleared = await moh.clear_moh(platform, A, "default")
    assert cleared["sounds"] == [] and _file(platform) is None
    row = await AuditEntry.filter(action="moh.clear").get()
    assert row.before is not None and row.before["sounds"] == ["jazz"]
    audited = await AuditEntry.all().count()
    await moh.clear_moh(platform, A, "default")  # nothing to clear: nothing audited
    assert await AuditEntry.all().count() == audited
    await sounds.remove_sound(platform, A, "default", "jazz")


async def test_tenants_are_apart_and_everything_is_rendered_again(platform: Platform) -> None:
    await moh.set_moh(platform, A, "default", ["jazz"])
    await moh.set_moh(platform, A, "acme", ["theirs"])
    with pytest.raises(NotFound):
        await moh.show_moh("nosuch")
    media = media_dir_of(platform.data_dir)
    for slug in ("default", "acme"):
        path = tenant_moh_path(media, slug)
        path.unlink()
    stray = tenant_moh_path(media, "gone")
    stray.write_bytes(b"")  # not a tenant's: left alone
    acme = await Tenant.get(slug="acme")
    acme.moh_playlist = None  # cleared behind the services' back: its file goes
    await acme.save()
    tenant_moh_path(media, "acme").write_bytes(b"old")
    assert await moh.render_all(platform.data_dir) == []
    assert _frames(tenant_moh_path(media, "default")) == 1600
    assert tenant_moh_file(media, "acme") is None
    (platform.data_dir / "sounds" / "default" / "jazz.wav").unlink()
    assert await moh.render_all(platform.data_dir) == ["default"]
    assert tenant_moh_file(media, "default") is None
