"""IVR menus in the routing table: a menu's transfer keys and default as destinations,
a number assigned to a menu and a destination naming one as ToMenu, and a call to the
number sent to the media application."""

from __future__ import annotations

import pytest

from provd.db.models import Menu, Tenant
from provd.domain.routing import MediaTarget, MenuRouting, Route, ToGroup, ToMenu, ToUser
from provd.domain.routing_table import CallRequest
from provd.services import carriers, groups, menus, numbers
from provd.services.directory import forwarding, users
from provd.services.menus import sounds
from provd.services.platform import Platform
from provd.services.routing import load_table
from tests.conftest import TEST_ACTOR as A
from tests.services.menus.audio import tone_wav
from tests.services.routing.test_load_call_handling import MONDAY_10H

MEDIA = "127.0.0.1:5080"


async def _resolve(host: str) -> list[str]:
    return ["192.0.2.1"]


async def _no_network(host: str, port: int) -> None:
    return None


@pytest.fixture
async def office(platform: Platform) -> Platform:
    p = platform
    p.resolve_host = _no_network
    for ext, name in (("201", "Reception"), ("202", "Sales")):
        await users.add_user(p, A, "default", ext, name)
    await groups.add_group(p, A, "default", "600", "Sales", "fixed")
    await groups.add_member(p, A, "default", "600", user="202")
    await numbers.add_block(p, A, "+31201234500", 1, "default")
    await carriers.add_carrier(p, A, "upstream", "192.0.2.1:5060")
    await sounds.add_sound(p, A, "default", "welcome", tone_wav(0.1))
    await menus.add_menu(p, A, "default", "710", "Hours", "welcome")
    await menus.add_menu(
        p, A, "default", "700", "Main", "welcome", default="group:600",
        keys={"1": "user:201", "2": "submenu:710", "3": "menu:710", "0": "repeat"},
    )  # fmt: skip
    return p


async def test_a_menu_with_a_key_to_a_user_and_a_default_to_a_group_loads(
    office: Platform,
) -> None:
    await numbers.assign(office, A, "+31201234500", menu="700")
    await forwarding.set_forwarding(office, A, "default", "201", busy="menu:710")
    table = await load_table(_resolve, media=MEDIA)
    tenant = table.tenant_for_domain((await Tenant.get(slug="default")).sip_domain)
    assert tenant is not None
    # Keys that stay in the media application (submenu, repeat) are not routing's.
    assert tenant.menus == {
        "700": MenuRouting(
            "700", "Main", {"1": ToUser("201"), "3": ToMenu("710")}, default=ToGroup("600")
        ),
        "710": MenuRouting("710", "Hours", {}, default=None),
    }
    assert tenant.numbers["+31201234500"] == ToMenu("700")
    assert tenant.users["201"].forwarding.busy == ToMenu("710")

    plan = table.plan(CallRequest("peer", "192.0.2.1", "0201234500"), MONDAY_10H)
    assert isinstance(plan, Route), plan
    [branch] = plan.branches
    assert isinstance(branch.target, MediaTarget)
    assert branch.target.uri == f"sip:ivr-700@{MEDIA}"


async def test_a_key_whose_target_is_gone_is_left_out(office: Platform) -> None:
    # Removing the user is refused while the key names it; a stored key that names a
    # user of nobody (written by an older provd, say) leaves the key out of routing.
    menu = await Menu.get(extension="700")
    menu.keys = {
        **menu.keys,
        "4": {"action": "transfer", "destination": {"kind": "user", "user_id": 999}},
    }
    await menu.save()
    table = await load_table(_resolve)
    tenant = table.tenant_for_domain((await Tenant.get(slug="default")).sip_domain)
    assert tenant is not None
    assert "4" not in tenant.menus["700"].keys
