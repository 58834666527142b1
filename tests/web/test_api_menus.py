"""IVR menus and sounds over the API: a tenant admin manages only their own tenant's
(another's answers as a missing one), uploads are converted or refused with nothing
stored, refusals name the field and write nothing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import aiohttp

from provd.db.models import Menu, Sound
from provd.services import groups
from provd.services.menus import sounds
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.services.call_handling_state import written
from tests.services.menus.audio import ffmpeg_sine, tone_wav, wav_format
from tests.web.call_handling import call, clients, refused
from tests.web.conftest import Served


def _form(name: str | None, data: bytes | None, filename: str = "upload.bin") -> aiohttp.FormData:
    form = aiohttp.FormData()
    if name is not None:
        form.add_field("name", name)
    if data is not None:
        form.add_field("file", io.BytesIO(data), filename=filename)
    return form


def _files(p: Platform) -> list[Path]:
    return sorted(f for f in (p.data_dir / sounds.SOUNDS_DIR).rglob("*") if f.is_file())


async def _state(p: Platform) -> dict[str, Any]:
    return {
        **await written(),
        "menus": await Menu.all().order_by("id").values(),
        "sounds": await Sound.all().order_by("id").values(),
        "files": _files(p),
    }


async def test_a_tenant_admin_uploads_sounds_and_manages_menus_of_their_tenant_only(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        await sounds.add_sound(platform, TEST_ACTOR, "globex", "theirs", tone_wav(0.1))
        await groups.add_group(platform, TEST_ACTOR, "acme", "600", "Sales", "fixed")
        mp3 = ffmpeg_sine(1, "-f", "mp3")
        added = await call(
            c.acme, "POST", "/tenants/acme/sounds", 201, data=_form("welcome", mp3, "hi.mp3")
        )
        assert (added["tenant"], added["name"]) == ("acme", "welcome")
        assert 1000 <= added["duration_ms"] <= 1080
        async with c.acme.get("/api/v1/tenants/acme/sounds/welcome/audio") as r:
            assert (r.status, r.content_type) == (200, "audio/wav")
            assert wav_format(await r.read())[:3] == (1, 2, 8000)

        menu = await call(
            c.acme, "POST", "/tenants/acme/menus", 201,
            json={"extension": "700", "name": "Main", "greeting": "welcome",
                  "default": "group:600", "keys": {"1": "user:201", "0": "repeat"}},
        )  # fmt: skip
        assert menu["default"]["text"] == "group:600"
        assert {k: v["text"] for k, v in menu["keys"].items()} == {"0": "repeat", "1": "user:201"}
        put = await call(
            c.acme, "PUT", "/tenants/acme/menus/700", 200,
            json={"name": "Main", "greeting": "welcome", "keys": {"9": "hang_up"}},
        )  # fmt: skip
        assert (put["default"], list(put["keys"])) == (None, ["9"])
        assigned = await call(
            c.admin, "POST", "/number-blocks", 201, json={"first": "+31201234500", "tenant": "acme"}
        )
        assert assigned["count"] == 1
        number = await call(
            c.acme, "POST", "/numbers/+31201234500/assign", 200, json={"menu": "700"}
        )
        assert number["use"] == {"kind": "menu", "key": "700", "name": "Main"}
        assert [m["extension"] for m in await call(c.acme, "GET", "/tenants/acme/menus", 200)] == [
            "700"
        ]

        before = await _state(platform)
        # globex's menus and sounds, and globex itself, look like what does not exist.
        for method, path in (
            ("GET", "/tenants/globex/menus"),
            ("POST", "/tenants/globex/menus"),
            ("GET", "/tenants/globex/sounds"),
            ("GET", "/tenants/globex/sounds/theirs"),
            ("GET", "/tenants/globex/sounds/theirs/audio"),
            ("DELETE", "/tenants/globex/sounds/theirs"),
            ("POST", "/tenants/globex/sounds"),
        ):
            kw: dict[str, Any] = {}
            if path.endswith("/menus") and method == "POST":
                kw["json"] = {"extension": "700", "name": "X", "greeting": "theirs"}
            elif method == "POST":
                kw["data"] = _form("mine", tone_wav(0.1))
            message = await refused(c.acme, method, path, 404, "tenant", **kw)
            assert "globex" in message
        await refused(c.acme, "DELETE", "/tenants/acme/sounds/welcome", 400, "name")
        await refused(
            c.acme, "POST", "/numbers/+31201234500/assign", 409, "number", json={"menu": "700"}
        )
        assert await _state(platform) == before
        await call(c.acme, "POST", "/numbers/+31201234500/release", 200)
        await call(c.acme, "DELETE", "/tenants/acme/menus/700", 204)
        await call(c.acme, "DELETE", "/tenants/acme/sounds/welcome", 204)
        assert _files(platform) == [platform.data_dir / "sounds" / "globex" / "theirs.wav"]


_MENU = {"extension": "701", "name": "X", "greeting": "welcome"}
_REFUSED: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("POST", "/tenants/acme/menus", {"json": _MENU | {"extension": "201"}}, 409, "extension"),
    ("POST", "/tenants/acme/menus", {"json": _MENU | {"greeting": "gone"}}, 404, "greeting"),
    ("POST", "/tenants/acme/menus", {"json": _MENU | {"timeout_seconds": "5"}}, 400,
     "timeout_seconds"),
    ("POST", "/tenants/acme/menus", {"json": _MENU | {"timeout_seconds": 99}}, 400,
     "timeout_seconds"),
    ("POST", "/tenants/acme/menus", {"json": _MENU | {"keys": {"1": "user:299"}}}, 404, "keys.1"),
    ("POST", "/tenants/acme/menus", {"json": _MENU | {"keys": {"X": "repeat"}}}, 400, "keys"),
    ("POST", "/tenants/acme/menus", {"json": _MENU | {"keys": ["repeat"]}}, 400, "keys"),
    ("POST", "/tenants/acme/menus", {"json": _MENU | {"default": "external:112"}}, 400,
     "default"),
    ("POST", "/tenants/acme/menus", {"json": _MENU | {"colour": "red"}}, 400, "colour"),
    ("PUT", "/tenants/acme/menus/700", {"json": {"name": "X"}}, 400, "greeting"),
    ("PUT", "/tenants/acme/menus/700", {"json": {"name": "X", "greeting": "welcome",
                                                 "keys": {"1": "menu:700"}}}, 400, "keys.1"),
    ("GET", "/tenants/acme/menus/799", {}, 404, "extension"),
    ("POST", "/tenants/acme/sounds", {"data": _form("noise", b"plain text, no audio")}, 400,
     "file"),
    ("POST", "/tenants/acme/sounds", {"data": _form("empty", b"")}, 400, "file"),
    ("POST", "/tenants/acme/sounds", {"data": _form(None, tone_wav(0.1))}, 400, "name"),
    ("POST", "/tenants/acme/sounds", {"data": _form("nofile", None)}, 400, "file"),
    ("POST", "/tenants/acme/sounds", {"data": _form("../up", tone_wav(0.1))}, 400, "name"),
    ("POST", "/tenants/acme/sounds", {"data": _form("welcome", tone_wav(0.1))}, 409, "name"),
    ("POST", "/tenants/acme/sounds", {"json": {"name": "x"}}, 400, "file"),
    ("POST", "/tenants/acme/sounds", {"data": _form("big", b"\0" * (20 * 1024 * 1024 + 1))},
     413, "file"),
    ("GET", "/tenants/acme/sounds/nothing", {}, 404, "name"),
    ("DELETE", "/tenants/acme/sounds/welcome", {}, 400, "name"),
]  # fmt: skip


async def test_refusals_name_the_field_and_store_nothing(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        await sounds.add_sound(platform, TEST_ACTOR, "acme", "welcome", tone_wav(0.1))
        await call(c.admin, "POST", "/tenants/acme/menus", 201, json=_MENU | {"extension": "700"})
        before = await _state(platform)
        for method, path, kw, status, field in _REFUSED:
            await refused(c.admin, method, path, status, field, **kw)
        assert await _state(platform) == before
