"""Schedules, the night switch and scheduled routes over the API: tenant admins manage
their own tenant's only, numbers go to routes, refusals name the field and write nothing."""

from __future__ import annotations

from typing import Any

from provd.services import numbers, schedules
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.services.call_handling_state import written
from tests.web.call_handling import call, clients, refused
from tests.web.conftest import Served


async def test_a_tenant_admin_manages_only_their_schedules_and_routes(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        await schedules.add_schedule(platform, TEST_ACTOR, "globex", "Office", [])
        await numbers.add_block(platform, TEST_ACTOR, "+31201234500", 10, "acme")
        office = await call(
            c.acme, "POST", "/schedules", 201,
            json={"name": "Office", "rules": ["Mon-Fri 08:00-17:00"], "holidays": ["2026-12-25"]},
        )  # fmt: skip
        assert (office["tenant"], office["rules"]) == ("acme", ["mon-fri 08:00-17:00"])
        assert office["night_switch"] == "auto" and office["state"] in ("open", "closed")
        on = await call(
            c.acme, "PUT", "/schedules/acme/Office/night-switch", 200,
            json={"state": "on", "until": "2099-12-07 08:00"},
        )  # fmt: skip
        assert (on["night_switch"], on["state"], on["cause"]) == ("on", "closed", "override")
        assert on["until"] == on["next_change"] == "2099-12-07T07:00:00+00:00"

        main = await call(
            c.acme, "POST", "/routes", 201,
            json={"name": "Main hours", "schedule": "Office", "open": "user:201",
                  "closed": "external:0612345678"},
        )  # fmt: skip
        assert (main["open"]["text"], main["closed"]["key"], main["holiday"]) == (
            "user:201",
            "+31612345678",
            None,
        )
        number = await call(
            c.acme, "POST", "/numbers/+31201234500/assign", 200, json={"route": "Main hours"}
        )
        assert number["use"] == {"kind": "route", "key": "Main hours", "name": ""}
        assert number["status"] == "in use by route Main hours"
        shown = await call(c.acme, "GET", "/routes/acme/Main hours", 200)
        assert shown["numbers"] == ["+31201234500"]
        assert [s["tenant"] for s in await call(c.acme, "GET", "/schedules", 200)] == ["acme"]
        assert [r["name"] for r in await call(c.acme, "GET", "/routes", 200)] == ["Main hours"]

        before = await written()
        for method, path, body in (
            ("GET", "/schedules/globex/Office", None),
            ("PATCH", "/schedules/globex/Office", {"holidays": []}),
            ("DELETE", "/schedules/globex/Office", None),
            ("PUT", "/schedules/globex/Office/night-switch", {"state": "on"}),
            ("GET", "/schedules?tenant=globex", None),
            ("POST", "/schedules", {"tenant": "globex", "name": "Mine"}),
            ("GET", "/routes/globex/Main hours", None),
            ("POST", "/routes", {"tenant": "globex", "name": "R", "schedule": "Office",
                                 "open": "none", "closed": "none"}),
        ):  # fmt: skip
            await refused(c.acme, method, path, 404, "tenant", json=body)
        assert "route Main hours" in await refused(
            c.acme, "DELETE", "/schedules/acme/Office", 400, "name"
        )
        assert "number +31201234500" in await refused(
            c.acme, "DELETE", "/routes/acme/Main hours", 400, "name"
        )
        assert await written() == before

        await call(c.acme, "POST", "/numbers/+31201234500/release", 200)
        await call(c.acme, "DELETE", "/routes/acme/Main hours", 204)
        await call(c.acme, "DELETE", "/schedules/acme/Office", 204)


async def test_refusals_name_the_field_and_write_nothing(
    served: Served, platform: Platform
) -> None:
    new = {"tenant": "acme", "name": "Shop"}
    route = {"tenant": "acme", "name": "R2", "schedule": "Office", "open": "none", "closed": "none"}
    cases: list[tuple[str, str, Any, int, str]] = [
        ("POST", "/schedules", new | {"rules": ["mon-fri 17:00-08:00"]}, 400, "rules[0]"),
        ("POST", "/schedules", new | {"rules": "mon all day"}, 400, "rules"),
        ("POST", "/schedules", new | {"holidays": ["2026-12-27..2026-12-25"]}, 400,
         "holidays[0]"),
        ("POST", "/schedules", {"tenant": "acme", "name": "Office"}, 409, "name"),
        ("PATCH", "/schedules/acme/Office", {"name": "Other"}, 409, "name"),
        ("PATCH", "/schedules/acme/Office", {"rules": ["mon 08:00-12:00", "mon 11:00-13:00"]},
         400, "rules[1]"),
        ("PUT", "/schedules/acme/Office/night-switch", {"state": "on", "until": "2001-01-01"},
         400, "until"),
        ("PUT", "/schedules/acme/Office/night-switch", {"state": "auto", "until": "2099-01-01"},
         400, "until"),
        ("PUT", "/schedules/acme/Nothing/night-switch", {"state": "on"}, 404, "name"),
        ("POST", "/routes", route | {"schedule": "Nothing"}, 404, "schedule"),
        ("POST", "/routes", route | {"open": "user:299"}, 404, "open"),
        ("POST", "/routes", route | {"closed": "external:112"}, 400, "closed"),
        ("POST", "/routes", route | {"name": "Main"}, 409, "name"),
        ("PATCH", "/routes/acme/Main", {"open": "scheduled:Main"}, 400, "open"),
        ("PATCH", "/routes/acme/Main", {"holiday": 5}, 400, "holiday"),
    ]  # fmt: skip
    async with clients(served, platform) as c:
        await schedules.add_schedule(platform, TEST_ACTOR, "acme", "Office", ["mon all day"])
        await schedules.add_schedule(platform, TEST_ACTOR, "acme", "Other", [])
        await call(c.admin, "POST", "/routes", 201, json=route | {"name": "Main"})
        before = await written()
        for method, path, body, status, field in cases:
            await refused(c.admin, method, path, status, field, json=body)
        assert await written() == before
