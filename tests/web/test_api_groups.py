"""Hunt groups over the API: tenant admins manage their own tenant's only (another's
answers as a missing one), refusals name the field and write nothing."""

from __future__ import annotations

from typing import Any

from provd.services import groups
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.services.call_handling_state import written
from tests.web.call_handling import call, clients, refused
from tests.web.conftest import Served


async def test_a_tenant_admin_manages_only_their_groups(served: Served, platform: Platform) -> None:
    async with clients(served, platform) as c:
        await groups.add_group(platform, TEST_ACTOR, "globex", "600", "Globex sales", "fixed")
        added = await call(
            c.acme, "POST", "/groups", 201,
            json={"extension": "600", "name": "Sales", "policy": "fixed", "overflow": "user:202"},
        )  # fmt: skip
        assert (added["tenant"], added["overflow"]["name"]) == ("acme", "acme back")
        view = await call(c.acme, "POST", "/groups/acme/600/members", 200, json={"user": "201"})
        view = await call(
            c.acme, "POST", "/groups/acme/600/members", 200,
            json={"external": "06 1234 5678", "position": 1},
        )  # fmt: skip
        assert [(m["position"], m["key"]) for m in view["members"]] == [
            (1, "+31612345678"),
            (2, "201"),
        ]
        listed = await call(c.acme, "GET", "/groups", 200)
        assert [(g["tenant"], g["extension"]) for g in listed] == [("acme", "600")]
        everyone = await call(c.admin, "GET", "/groups", 200)
        assert {g["tenant"] for g in everyone} == {"acme", "globex"}

        before = await written()
        # globex's group and globex itself look exactly like what does not exist.
        for method, path in (
            ("GET", "/groups/globex/600"),
            ("PATCH", "/groups/globex/600"),
            ("DELETE", "/groups/globex/600"),
            ("POST", "/groups/globex/600/members"),
            ("DELETE", "/groups/globex/600/members?position=1"),
        ):
            body = {"name": "Mine"} if method == "PATCH" else {"user": "201"}
            json = body if method in ("PATCH", "POST") else None
            message = await refused(c.acme, method, path, 404, "tenant", json=json)
            assert "globex" in message  # the name it was given, nothing more
        await refused(
            c.acme, "POST", "/groups", 404, "tenant",
            json={"tenant": "globex", "extension": "601", "name": "X", "policy": "fixed"},
        )  # fmt: skip
        await refused(c.acme, "GET", "/groups?tenant=globex", 404, "tenant")
        await refused(
            c.acme, "PATCH", "/groups/acme/600", 404, "overflow", json={"overflow": "group:600x"}
        )
        assert await written() == before

        view = await call(c.acme, "DELETE", "/groups/acme/600/members?user=201", 200)
        assert [m["key"] for m in view["members"]] == ["+31612345678"]
        await call(c.acme, "DELETE", "/groups/acme/600", 204)


_NEW = {"tenant": "acme", "extension": "601", "name": "X", "policy": "fixed"}
_REFUSED: list[tuple[str, str, Any, int, str]] = [
    ("POST", "/groups", _NEW | {"extension": "201"}, 409, "extension"),
    ("POST", "/groups", _NEW | {"ring_seconds": "15"}, 400, "ring_seconds"),
    ("POST", "/groups", _NEW | {"policy": "odd"}, 400, "policy"),
    ("POST", "/groups", _NEW | {"total_wait_seconds": 1000}, 400, "total_wait_seconds"),
    ("POST", "/groups", _NEW | {"overflow": "external:112"}, 400, "overflow"),
    ("POST", "/groups", _NEW | {"colour": "red"}, 400, "colour"),
    ("POST", "/groups", _NEW | {"tenant": "nope"}, 404, "tenant"),
    ("PATCH", "/groups/acme/600", {"overflow": "group:600"}, 400, "overflow"),
    ("PATCH", "/groups/acme/600", {}, 400, "settings"),
    ("POST", "/groups/acme/600/members", {"user": "299"}, 404, "user"),
    ("POST", "/groups/acme/600/members", {"user": "201", "position": 5}, 400, "position"),
    ("POST", "/groups/acme/600/members", {"external": "0201234"}, 400, "external"),
    ("DELETE", "/groups/acme/600/members?position=x", None, 400, "position"),
    ("DELETE", "/groups/acme/600/members", None, 400, "member"),
]


async def test_refusals_name_the_field_and_write_nothing(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        await groups.add_group(platform, TEST_ACTOR, "acme", "600", "Sales", "fixed")
        before = await written()
        for method, path, body, status, field in _REFUSED:
            await refused(c.admin, method, path, status, field, json=body)
        assert await written() == before
