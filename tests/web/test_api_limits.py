"""Limits over the API: admins set a tenant's and a trunk's, the keys given only; a
tenant admin reads its own tenant's limits and alerts, not another's, and changes none;
refusals name the field and write nothing."""

from __future__ import annotations

from provd.db.models import AuditEntry, SpendLimit
from provd.services.platform import Platform
from provd.services.trunks.create import add_trunk
from tests.conftest import TEST_ACTOR
from tests.web.call_handling import call, clients, refused
from tests.web.conftest import Served


async def test_admins_set_and_tenant_admins_read(served: Served, platform: Platform) -> None:
    async with clients(served, platform) as c:
        await add_trunk(platform, TEST_ACTOR, "acme", "hq", channels=2, allow_ips=["192.0.2.10"])
        shown = await call(c.admin, "GET", "/limits/acme", 200)
        assert (shown["hour"], shown["day"], shown["week"]) == ("10", "25", "50")
        view = await call(
            c.admin,
            "PATCH",
            "/limits/acme",
            200,
            json={"hour": 5, "calls_hour": "3", "week": None, "alert_email": "b@acme.test"},
        )
        assert (view["hour"], view["day"], view["week"], view["calls_hour"]) == (
            "5.00",
            "25",
            None,
            3,
        )
        trunk = await call(c.admin, "PATCH", "/limits/acme/trunks/hq", 200, json={"day": "7.5"})
        assert (trunk["trunk"], trunk["day"]) == ("hq", "7.50")
        assert await call(c.acme, "GET", "/limits/acme", 200) == view
        assert (await call(c.acme, "GET", "/limits/acme/trunks/hq", 200))["day"] == "7.50"
        assert await call(c.acme, "GET", "/limits/acme/alerts", 200) == {"alerts": []}
        await call(c.acme, "GET", "/limits/globex", 404)
        await call(c.acme, "GET", "/limits/globex/alerts", 404)
        before = await AuditEntry.all().count()
        await call(c.acme, "PATCH", "/limits/acme", 403, json={"hour": 1000})
        assert await AuditEntry.all().count() == before


async def test_refusals_name_the_field_and_write_nothing(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        for body, field in [
            ({"hour": "-1"}, "hour"),
            ({"calls_day": 2.5}, "calls_day"),
            ({"alert_email": "nobody"}, "alert_email"),
            ({"month": 1}, "month"),
        ]:
            await refused(c.admin, "PATCH", "/limits/acme", 400, field, json=body)
        assert await SpendLimit.all().count() == 0
        await refused(c.admin, "PATCH", "/limits/acme/trunks/nope", 404, "trunk", json={"hour": 1})
