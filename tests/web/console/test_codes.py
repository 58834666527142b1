"""The console's service codes page: the codes, a tenant's night switches by the code
that flips each (and lights a BLF key on it) with their state now, who may flip them,
and the BLF pickup prefix; a tenant admin sees their own tenant's only."""

from __future__ import annotations

import re

from provd.services import schedules
from provd.services.directory import user_view
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.web.console.conftest import Console
from tests.web.console.test_schedules import text


def rows(page: str, table: str) -> list[str]:
    found = re.search(rf'<table id="{table}">(.*?)</table>', page, re.S)
    assert found, table
    return [text(r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(1), re.S)][1:]


async def test_the_page_numbers_the_tenants_night_switches(
    alice: Console, platform: Platform
) -> None:
    for name in ("shop", "office"):
        await schedules.add_schedule(platform, TEST_ACTOR, "acme", name, ["mon-fri 08:00-17:00"])
    await schedules.set_night_switch(platform, TEST_ACTOR, "acme", "office", "on")
    await user_view.update_user(platform, TEST_ACTOR, "acme", "202", may_switch_night=True)
    await schedules.add_schedule(platform, TEST_ACTOR, "globex", "globex hours")
    status, page = await alice.get("/console/codes?tenant=acme")
    assert status == 200
    assert "*21*NUMBER# forward every call to NUMBER" in rows(page, "codes")
    assert rows(page, "night-switches") == [
        "*915 office on",
        "*915*1 office on",
        "*915*2 shop off",
    ]
    assert text(re.search(r'<p id="may-switch">(.*?)</p>', page, re.S).group(1)) == (  # type: ignore[union-attr]
        "May flip them: 202 Back Office"
    )
    assert "globex hours" not in page
    _, globex = await alice.get("/console/codes?tenant=globex")
    assert rows(globex, "night-switches") == ["*915 globex hours off", "*915*1 globex hours off"]
    assert "nobody" in globex


async def test_no_schedule_no_night_switch(alice: Console) -> None:
    _, page = await alice.get("/console/codes?tenant=acme")
    assert 'id="no-night-switch"' in page and 'id="pickup">*8<' in page


async def test_a_tenant_admin_sees_their_own_tenant(tara: Console, platform: Platform) -> None:
    await schedules.add_schedule(platform, TEST_ACTOR, "globex", "globex hours")
    status, page = await tara.get("/console/codes?tenant=globex")
    assert status == 200
    assert "globex" not in page and 'id="f-tenant"' not in page
    assert 'id="no-night-switch"' in page  # acme's, which has no schedule
