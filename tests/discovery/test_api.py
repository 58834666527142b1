"""GET /api/v1/discovered for installers and admins; forgetting is admin-only."""

from __future__ import annotations

import aiohttp

from provd.domain.mac import Mac
from provd.services import discovery
from provd.services.access import tokens
from provd.services.directory import tenants
from provd.services.discovery import Sighting, Source
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.web.conftest import Served

D785 = Mac("000413922d24")
URL = "/api/v1/discovered"


async def test_installers_list_admins_forget(
    served: Served, session: aiohttp.ClientSession, platform: Platform
) -> None:
    await discovery.record_sighting(
        Sighting(
            D785,
            Source.DHCP,
            ip="10.0.0.8",
            model="snomD785",
            vendor_class="snomD785",
            requested_options=(66,),
        )
    )
    await tenants.add_tenant(platform, TEST_ACTOR, "acme")
    installer = await tokens.create_token(TEST_ACTOR, "site", role="installer", tenant_slug="acme")
    admin = await tokens.create_token(TEST_ACTOR, "ops")
    as_installer = {"Authorization": f"Bearer {installer}"}
    as_admin = {"Authorization": f"Bearer {admin}"}

    async with session.get(served.base + URL, headers=as_installer) as r:
        assert r.status == 200
        [row] = await r.json()
    assert (row["mac"], row["ip"], row["vendor"], row["model"], row["source"]) == (
        D785,
        "10.0.0.8",
        "snom",
        "snomD785",
        "dhcp",
    )
    assert (row["requested_options"], row["seen_count"]) == ([66], 1)
    assert row["first_seen_at"] and row["last_seen_at"]

    async with session.delete(f"{served.base}{URL}/{D785}", headers=as_installer) as r:
        assert r.status == 403
    async with session.delete(f"{served.base}{URL}/00:04:13:00:00:01", headers=as_admin) as r:
        assert r.status == 404
        assert (await r.json())["error"]["field"] == "mac"
    async with session.delete(f"{served.base}{URL}/nonsense", headers=as_admin) as r:
        assert r.status == 400
        assert (await r.json())["error"]["field"] == "mac"
    async with session.delete(f"{served.base}{URL}/00-04-13-92-2D-24", headers=as_admin) as r:
        assert r.status == 204
    async with session.get(served.base + URL, headers=as_admin) as r:
        assert await r.json() == []
