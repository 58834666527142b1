"""Announcements over the API: a tenant admin manages only their own tenant's (another's
answers as a missing one), a number can be assigned to one, refusals name the field and
write nothing."""

from __future__ import annotations

from typing import Any

from provd.db.models import Announcement, AuditEntry, PhoneNumber
from provd.services import announcements
from provd.services.menus import sounds
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.services.menus.audio import tone_wav
from tests.web.call_handling import call, clients, refused
from tests.web.conftest import Served


async def _state() -> dict[str, Any]:
    return {
        "announcements": await Announcement.all().order_by("id").values(),
        "numbers": await PhoneNumber.all().order_by("id").values(),
        "audit": await AuditEntry.all().count(),
    }


async def test_a_tenant_admin_manages_their_tenants_announcements_only(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        for slug in ("acme", "globex"):
            await sounds.add_sound(platform, TEST_ACTOR, slug, "closed", tone_wav(0.1))
        await announcements.add_announcement(platform, TEST_ACTOR, "globex", "800", "G", "closed")
        added = await call(
            c.acme, "POST", "/tenants/acme/announcements", 201,
            json={"extension": "800", "name": "Closed", "sound": "closed", "plays": 2},
        )  # fmt: skip
        assert added == {"tenant": "acme", "extension": "800", "name": "Closed",
                         "sound": "closed", "plays": 2, "numbers": []}  # fmt: skip
        put = await call(
            c.acme, "PUT", "/tenants/acme/announcements/800", 200,
            json={"name": "Shut", "sound": "closed"},
        )  # fmt: skip
        assert (put["name"], put["plays"]) == ("Shut", 1)  # left out: the default
        await call(
            c.admin, "POST", "/number-blocks", 201, json={"first": "+31201234500", "tenant": "acme"}
        )
        number = await call(
            c.acme, "POST", "/numbers/+31201234500/assign", 200, json={"announcement": "800"}
        )
        assert number["use"] == {"kind": "announcement", "key": "800", "name": "Shut"}
        shown = await call(c.acme, "GET", "/tenants/acme/announcements/800", 200)
        assert shown["numbers"] == ["+31201234500"]
        listed = await call(c.acme, "GET", "/tenants/acme/announcements", 200)
        assert [a["extension"] for a in listed] == ["800"]
        forward = await call(
            c.acme, "PATCH", "/users/acme/201/forwarding", 200, json={"busy": "announcement:800"}
        )
        assert forward["busy"]["text"] == "announcement:800"

        before = await _state()
        for method, path in (
            ("GET", "/tenants/globex/announcements"),
            ("POST", "/tenants/globex/announcements"),
            ("GET", "/tenants/globex/announcements/800"),
            ("PUT", "/tenants/globex/announcements/800"),
            ("DELETE", "/tenants/globex/announcements/800"),
        ):
            kw: dict[str, Any] = {}
            if method in ("POST", "PUT"):
                kw["json"] = {"extension": "801", "name": "X", "sound": "closed"}
                if method == "PUT":
                    del kw["json"]["extension"]
            message = await refused(c.acme, method, path, 404, "tenant", **kw)
            assert "globex" in message
        # In use by the number and 201's forward: refused, naming them.
        message = await refused(
            c.acme, "DELETE", "/tenants/acme/announcements/800", 400, "extension"
        )
        assert "number +31201234500" in message and "user 201's forwarding" in message
        assert await _state() == before
        await call(c.acme, "POST", "/numbers/+31201234500/release", 200)
        await call(c.acme, "PATCH", "/users/acme/201/forwarding", 200, json={"clear": ["busy"]})
        await call(c.acme, "DELETE", "/tenants/acme/announcements/800", 204)
        assert await call(c.acme, "GET", "/tenants/acme/announcements", 200) == []


_ANN = {"extension": "801", "name": "X", "sound": "closed"}
_REFUSED: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("POST", "/tenants/acme/announcements", {"json": _ANN | {"extension": "201"}}, 409,
     "extension"),
    ("POST", "/tenants/acme/announcements", {"json": _ANN | {"extension": "800"}}, 409,
     "extension"),
    ("POST", "/tenants/acme/announcements", {"json": _ANN | {"extension": "x"}}, 400,
     "extension"),
    ("POST", "/tenants/acme/announcements", {"json": _ANN | {"sound": "gone"}}, 404, "sound"),
    ("POST", "/tenants/acme/announcements", {"json": _ANN | {"plays": 0}}, 400, "plays"),
    ("POST", "/tenants/acme/announcements", {"json": _ANN | {"plays": 6}}, 400, "plays"),
    ("POST", "/tenants/acme/announcements", {"json": _ANN | {"plays": "2"}}, 400, "plays"),
    ("POST", "/tenants/acme/announcements", {"json": _ANN | {"name": ""}}, 400, "name"),
    ("POST", "/tenants/acme/announcements", {"json": _ANN | {"colour": "red"}}, 400, "colour"),
    ("POST", "/tenants/acme/announcements", {"json": {"name": "X", "sound": "closed"}}, 400,
     "extension"),
    ("PUT", "/tenants/acme/announcements/800", {"json": {"name": "X"}}, 400, "sound"),
    ("PUT", "/tenants/acme/announcements/800", {"json": {"name": "X", "sound": "closed",
                                                          "plays": 9}}, 400, "plays"),
    ("GET", "/tenants/acme/announcements/899", {}, 404, "extension"),
    ("DELETE", "/tenants/acme/announcements/899", {}, 404, "extension"),
    ("DELETE", "/tenants/acme/sounds/closed", {}, 400, "name"),
    ("POST", "/numbers/+31201234500/assign", {"json": {"announcement": "899"}}, 404,
     "announcement"),
    ("POST", "/numbers/+31201234500/assign", {"json": {"announcement": "800", "menu": "700"}},
     400, "announcement"),
]  # fmt: skip


async def test_refusals_name_the_field_and_store_nothing(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        await sounds.add_sound(platform, TEST_ACTOR, "acme", "closed", tone_wav(0.1))
        await call(c.admin, "POST", "/tenants/acme/announcements", 201,
                   json=_ANN | {"extension": "800"})  # fmt: skip
        await call(
            c.admin, "POST", "/number-blocks", 201, json={"first": "+31201234500", "tenant": "acme"}
        )
        before = await _state()
        for method, path, kw, status, field in _REFUSED:
            await refused(c.admin, method, path, status, field, **kw)
        assert await _state() == before
