"""The console's sounds page: a tenant's sounds with duration, size and a player that
the session can play; an upload converted and listed, audited; refusals (a file that is
not audio, no file, a bad or taken name) shown by field with nothing stored; a sound a
menu plays is kept; a tenant admin works in their own tenant only."""

from __future__ import annotations

import re

import aiohttp

from provd.db.models import AuditEntry, Sound
from provd.services import menus
from provd.services.menus import sounds
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.services.menus.audio import tone_wav
from tests.web.console.conftest import Console
from tests.web.console.test_numbers import field_error, flashes


async def upload(
    console: Console, tenant: str, name: str, data: bytes | None, filename: str = "hello.wav"
) -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("csrf_token", console.csrf)
    form.add_field("name", name)
    if data is not None:
        form.add_field("file", data, filename=filename, content_type="audio/wav")
    async with console.session.post(f"/console/sounds/{tenant}", data=form) as r:
        return r.status, await r.text()


def rows(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr id="sound-[^"]+" data-sound="([^"]+)">(.*?)</tr>', page, re.S))


def cell(row: str, name: str) -> str:
    match = re.search(rf'<td class="{name}[^"]*">(.*?)</td>', row, re.S)
    assert match, name
    return match.group(1).strip()


async def snapshot() -> list[object]:
    return [await AuditEntry.all().count(), await Sound.all().order_by("id").values()]


async def test_upload_list_play_and_remove_a_sound(alice: Console, platform: Platform) -> None:
    status, page = await upload(alice, "acme", "welcome", tone_wav(1.5, rate=44100, channels=2))
    assert status == 200 and "Sound welcome added." in flashes(page)
    row = rows(page)["welcome"]
    assert cell(row, "duration") == "1.5 s"
    assert cell(row, "size") == f"{(1500 * 16 + 44) / 1024:.1f} KB"
    player = re.search(r'<audio controls preload="none" src="([^"]+)"', row)
    assert player and player.group(1) == "/api/v1/tenants/acme/sounds/welcome/audio"
    async with alice.session.get(player.group(1)) as r:
        assert r.status == 200 and r.content_type == "audio/wav"
        assert (await r.read())[:4] == b"RIFF"
    entry = await AuditEntry.filter(action="sound.add").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice" and entry.object_key == "acme/welcome"
    _, other = await alice.get("/console/sounds?tenant=globex")
    assert rows(other) == {}

    status, _ = await alice.post("/console/sounds/acme/nosuch/remove")
    assert status == 404
    status, page = await alice.post("/console/sounds/acme/welcome/remove")
    assert "Sound welcome removed." in flashes(page) and rows(page) == {}
    assert not (platform.data_dir / "sounds" / "acme" / "welcome.wav").exists()


async def test_refusals_name_the_field_and_store_nothing(
    alice: Console, platform: Platform
) -> None:
    await upload(alice, "acme", "welcome", tone_wav())
    before = await snapshot()
    for name, data, error_id, message in (
        ("notaudio", b"this is no recording", "e-file", "is not audio that can be read"),
        ("nofile", None, "e-file", "choose a file"),
        ("empty", b"", "e-file", "is empty"),
        ("../up", tone_wav(), "e-name", "is not a sound name"),
        ("", tone_wav(), "e-name", "must not be empty"),
        ("welcome", tone_wav(), "e-name", "already exists"),
    ):
        status, page = await upload(alice, "acme", name, data)
        assert status == 200
        assert message in field_error(page, error_id), (name, field_error(page, error_id))
        assert any(f.startswith("The sound was not added") for f in flashes(page))
    assert await snapshot() == before
    assert sorted(p.name for p in (platform.data_dir / "sounds" / "acme").iterdir()) == [
        "welcome.wav"
    ]

    await menus.add_menu(platform, TEST_ACTOR, "acme", "700", "Main", "welcome")
    _, page = await alice.post("/console/sounds/acme/welcome/remove")
    assert any("is in use by menu 700's greeting" in f for f in flashes(page))
    assert await snapshot() != before  # the menu's audit row only
    assert await Sound.filter(name="welcome").exists()


async def test_a_tenant_admin_works_in_their_own_tenant_only(
    tara: Console, platform: Platform
) -> None:
    await sounds.add_sound(platform, TEST_ACTOR, "globex", "hold", tone_wav())
    status, page = await tara.get("/console/sounds?tenant=globex")
    assert status == 200 and rows(page) == {} and 'id="f-tenant"' not in page
    before = await snapshot()
    for path in ("/console/sounds/globex/hold/remove", "/console/sounds/nosuch/hold/remove"):
        status, _ = await tara.post(path)
        assert status == 404, path
    status, _ = await upload(tara, "globex", "mine", tone_wav())
    assert status == 404
    assert await snapshot() == before
    async with tara.session.get("/api/v1/tenants/globex/sounds/hold/audio") as r:
        assert r.status == 404

    status, page = await upload(tara, "acme", "mine", tone_wav())
    assert "Sound mine added." in flashes(page) and list(rows(page)) == ["mine"]
