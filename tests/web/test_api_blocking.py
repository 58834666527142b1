"""Incoming blocks over the API: tenant admins see, add and remove their own tenant's
only; refusals name the field and write nothing."""

from __future__ import annotations

from provd.services import blocking, schedules
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.services.call_handling_state import written
from tests.web.call_handling import call, clients, refused
from tests.web.conftest import Served


async def test_a_tenant_admin_manages_only_their_blocks(served: Served, platform: Platform) -> None:
    async with clients(served, platform) as c:
        theirs = await blocking.add_block(platform, TEST_ACTOR, "globex", anonymous=True)
        await schedules.add_schedule(platform, TEST_ACTOR, "acme", "Office", ["mon all day"])
        anonymous = await call(
            c.acme, "POST", "/blocks", 201, json={"anonymous": True, "when": "Office:closed"}
        )
        assert (anonymous["tenant"], anonymous["when"]) == (
            "acme",
            {"schedule": "Office", "state": "closed"},
        )
        mine = await call(c.acme, "POST", "/blocks", 201, json={"user": "201", "prefix": "0900"})
        assert (mine["user"], mine["match"], mine["pattern"]) == ("201", "prefix", "+31900")
        listed = await call(c.acme, "GET", "/blocks", 200)
        assert [b["id"] for b in listed] == [anonymous["id"], mine["id"]]
        assert len(await call(c.admin, "GET", "/blocks", 200)) == 3

        before = await written()
        await refused(c.acme, "DELETE", f"/blocks/{theirs['id']}", 404, "id")
        await refused(c.acme, "GET", "/blocks?tenant=globex", 404, "tenant")
        await refused(c.acme, "POST", "/blocks", 404, "tenant",
                      json={"tenant": "globex", "anonymous": True})  # fmt: skip
        for body, status, field in [
            ({}, 400, "number"),
            ({"anonymous": True, "number": "0612345678"}, 400, "number"),
            ({"number": "0612345678", "prefix": "0900"}, 400, "prefix"),
            ({"prefix": "9"}, 400, "prefix"),
            ({"anonymous": "yes"}, 400, "anonymous"),
            ({"anonymous": True, "user": "299"}, 404, "user"),
            ({"anonymous": True, "when": "Office:later"}, 400, "when"),
            ({"anonymous": True, "when": "Office:closed"}, 409, "anonymous"),
        ]:
            await refused(c.acme, "POST", "/blocks", status, field, json=body)
        assert await written() == before

        removed = await call(c.acme, "DELETE", f"/blocks/{mine['id']}", 200)
        assert removed == mine
        await call(c.admin, "DELETE", f"/blocks/{theirs['id']}", 200)
