"""The routing table read from the call-handling data admins set through the services:
the issue's main-number setup (reception for 15 s, then sales in circular order, after
hours an outside number, a holiday overriding the week), forwarding, DND and blocks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from provd.db.models import Tenant
from provd.domain.routing import (
    AorTarget,
    Block,
    CarrierTarget,
    Failure,
    Forwarding,
    GroupRouting,
    Reject,
    Route,
    ScheduledRouting,
    ToExternal,
    ToGroup,
    ToScheduled,
    ToUser,
)
from provd.domain.routing_table import CallRequest
from provd.services import blocking, carriers, groups, numbers, schedules
from provd.services.directory import forwarding, users
from provd.services.platform import Platform
from provd.services.routing import load_table
from provd.services.schedules import routes
from tests.conftest import TEST_ACTOR as A

MONDAY_10H = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam
MONDAY_20H = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
CHRISTMAS_10H = datetime(2026, 12, 25, 9, 0, tzinfo=UTC)
NO_ANSWER = Failure(408, timeout=True)


async def _resolve(host: str) -> list[str]:
    return ["192.0.2.1"]


async def _no_network(host: str, port: int) -> None:
    return None


@pytest.fixture
async def office(platform: Platform) -> Platform:
    p = platform
    p.resolve_host = _no_network
    for ext, name in (("201", "Reception"), ("202", "Sales A"), ("203", "Sales B")):
        await users.add_user(p, A, "default", ext, name)
    await numbers.add_block(p, A, "+31201234500", 10, "default")
    await carriers.add_carrier(p, A, "upstream", "192.0.2.1:5060")
    await groups.add_group(p, A, "default", "610", "Sales", "circular", ring_seconds=10)
    await groups.add_member(p, A, "default", "610", user="202")
    await groups.add_member(p, A, "default", "610", user="203")
    await groups.add_group(
        p, A, "default", "600", "Reception", "fixed", ring_seconds=15, overflow="group:610"
    )
    await groups.add_member(p, A, "default", "600", user="201")
    await schedules.add_schedule(
        p, A, "default", "office", ["mon-fri 08:00-17:00"], ["Christmas=2026-12-25..2026-12-26"]
    )
    await routes.add_route(p, A, "default", "main", "office", "group:600", "external:0612345678")
    await numbers.assign(p, A, "+31201234500", tenant_slug="default", route="main")
    return p


def inbound(when: datetime, *failed: Failure) -> CallRequest:
    return CallRequest("peer", "192.0.2.1", "0201234500", failed=failed)


def rings(plan: object) -> list[str]:
    assert isinstance(plan, Route), plan
    out = []
    for b in plan.branches:
        if isinstance(b.target, AorTarget):
            out.append(b.target.extension)
        elif isinstance(b.target, CarrierTarget):
            out.append(b.target.uri.removeprefix("sip:").split("@")[0])
    return out


async def test_the_main_number_rings_reception_then_sales_then_after_hours_outside(
    office: Platform,
) -> None:
    table = await load_table(_resolve)
    tenant = table.tenant_for_domain((await Tenant.get(slug="default")).sip_domain)
    assert tenant is not None
    assert tenant.numbers["+31201234500"] == ToScheduled("main")
    assert tenant.routes["main"] == ScheduledRouting(
        "main", "office", ToGroup("600"), ToExternal("+31612345678"), None
    )
    assert tenant.groups["600"] == GroupRouting(
        "600", "Reception", "fixed", ("201",), ring_s=15, overflow=ToGroup("610")
    )
    assert tenant.groups["610"].members == ("202", "203")

    office_hours = [table.plan(inbound(MONDAY_10H, *[NO_ANSWER] * i), MONDAY_10H) for i in range(3)]
    assert [rings(p) for p in office_hours] == [["201"], ["202"], ["203"]]
    assert rings(table.plan(inbound(MONDAY_20H), MONDAY_20H)) == ["+31612345678"]
    # The holiday overrides the week: closed on a Friday morning.
    assert rings(table.plan(inbound(CHRISTMAS_10H), CHRISTMAS_10H)) == ["+31612345678"]

    # The night switch turns it round at once.
    await schedules.set_night_switch(office, A, "default", "office", "on")
    table = await load_table(_resolve)
    assert rings(table.plan(inbound(MONDAY_10H), MONDAY_10H)) == ["+31612345678"]


async def test_forwarding_dnd_and_blocks_reach_routing(office: Platform) -> None:
    await forwarding.set_forwarding(
        office,
        A,
        "default",
        "202",
        busy="user:201",
        no_answer="external:0687654321",
        no_answer_seconds=12,
    )
    await forwarding.set_dnd(office, A, "default", "203", True)
    await blocking.add_block(office, A, "default", anonymous=True, when="office:closed")
    await blocking.add_block(office, A, "default", user="201", prefix="+31900")
    table = await load_table(_resolve)
    tenant = table.tenant_for_domain((await Tenant.get(slug="default")).sip_domain)
    assert tenant is not None
    assert tenant.users["202"].forwarding == Forwarding(
        busy=ToUser("201"), no_answer=ToExternal("+31687654321"), no_answer_after_s=12
    )
    assert tenant.users["203"].dnd is True
    assert tenant.blocks == (Block(anonymous=True, when=("office", "closed")),)
    assert tenant.users["201"].blocks == (Block(prefix="+31900"),)
    anonymous_at_night = CallRequest("peer", "192.0.2.1", "0201234500", privacy="id")
    assert table.plan(anonymous_at_night, MONDAY_20H) == Reject(
        603, "Declined: the caller is blocked"
    )
    assert isinstance(table.plan(anonymous_at_night, MONDAY_10H), Route)
