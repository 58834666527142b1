"""Outbound policies over the API: the tenant's, a user's and a trunk's; tenant admins
read and set their own tenant's only; refusals name the field and write nothing."""

from __future__ import annotations

from typing import Any

from provd.db.models import AuditEntry, Tenant, Trunk, User
from provd.services.platform import Platform
from provd.services.trunks.create import add_trunk
from tests.conftest import TEST_ACTOR
from tests.web.call_handling import call, clients, refused
from tests.web.conftest import Served


async def stored() -> dict[str, Any]:
    return {
        "audit": await AuditEntry.all().count(),
        "tenants": await Tenant.all().order_by("id").values("id", "outbound_policy"),
        "users": await User.all().order_by("id").values("id", "outbound_policy"),
        "trunks": await Trunk.all().order_by("id").values("id", "outbound_policy"),
    }


async def test_each_level_is_read_and_set_by_its_tenants_admin(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        await add_trunk(platform, TEST_ACTOR, "acme", "hq", channels=2, allow_ips=["192.0.2.10"])
        empty = await call(c.acme, "GET", "/outbound/acme", 200)
        assert empty == {
            "tenant": "acme",
            "user": None,
            "trunk": None,
            "block": [],
            "allow_presets": [],
            "allow_prefixes": [],
            "description": "no restrictions (fraud-prone destinations blocked)",
        }
        tenant = await call(
            c.acme,
            "PATCH",
            "/outbound/acme",
            200,
            json={"block": ["premium", "international"], "allow_prefixes": ["0044"]},
        )
        assert (tenant["block"], tenant["allow_prefixes"]) == (
            ["international", "premium"],
            ["+44"],
        )
        user = await call(
            c.acme, "PATCH", "/outbound/acme/users/201", 200, json={"allow_presets": ["nl"]}
        )
        assert (user["user"], user["allow_presets"]) == ("201", ["nl"])
        trunk = await call(
            c.acme, "PATCH", "/outbound/acme/trunks/hq", 200, json={"block": ["mobile"]}
        )
        assert (trunk["trunk"], trunk["block"]) == ("hq", ["mobile"])
        assert await call(c.acme, "GET", "/outbound/acme/users/201", 200) == user
        assert await call(c.admin, "GET", "/outbound/acme/trunks/hq", 200) == trunk
        # Parts not given are kept.
        kept = await call(c.acme, "PATCH", "/outbound/acme", 200, json={"allow_prefixes": []})
        assert (kept["block"], kept["allow_prefixes"]) == (["international", "premium"], [])

        before = await stored()
        await refused(c.acme, "GET", "/outbound/globex", 404, "tenant")
        await refused(c.acme, "PATCH", "/outbound/globex", 404, "tenant", json={"block": []})
        await refused(
            c.acme, "PATCH", "/outbound/globex/users/201", 404, "tenant", json={"block": []}
        )
        for path, body, status, field in [
            ("/outbound/acme", {"block": ["premum"]}, 400, "block"),
            ("/outbound/acme", {"block": "premium"}, 400, "block"),
            ("/outbound/acme", {"allow_presets": ["asia"]}, 400, "allow_preset"),
            ("/outbound/acme", {"allow_prefixes": ["+1", "x"]}, 400, "allow_prefix"),
            ("/outbound/acme", {"allow": ["+1"]}, 400, "allow"),
            ("/outbound/acme/users/299", {"block": []}, 404, "user"),
            ("/outbound/acme/trunks/nope", {"block": []}, 404, "trunk"),
        ]:
            await refused(c.acme, "PATCH", path, status, field, json=body)
        assert await stored() == before
        rows = await AuditEntry.filter(object_type="outbound_policy").order_by("id")
        assert [r.object_key for r in rows] == [
            "acme",
            "acme/user/201",
            "acme/trunk/hq",
            "acme",
        ]
        assert all(r.actor == "api:tara" for r in rows)
