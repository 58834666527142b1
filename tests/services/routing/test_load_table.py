"""The routing table read from the database: what routing sees of tenants, numbers and carriers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from provd.db.models import Carrier as CarrierRow
from provd.db.models import Tenant, User
from provd.domain.routing import AorTarget, CarrierTarget, Reject, Route, ToUser
from provd.domain.routing_table import CallRequest
from provd.services import carriers, numbers
from provd.services.directory import users
from provd.services.platform import Platform
from provd.services.routing import LiveTable, load_table
from tests.conftest import TEST_ACTOR as A

AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


async def _resolve(host: str) -> list[str]:
    return {"sip.carrier-a.test": ["192.0.2.10", "192.0.2.11"]}.get(host, ["198.51.100.1"])


async def _unresolvable(host: str) -> list[str]:
    raise OSError("no such host")


async def _no_network(host: str, port: int) -> None:
    return None


@pytest.fixture
async def routed(platform: Platform) -> Platform:
    platform.resolve_host = _no_network
    await users.add_user(platform, A, "default", "2000", "Alice")
    await users.add_user(platform, A, "default", "2001", "Bob")
    await numbers.add_block(platform, A, "+31201234500", 10, "default")
    await numbers.assign(platform, A, "+31201234501", "2000", "default")
    await carriers.add_carrier(platform, A, "carrier-b", "192.0.2.20:5070", priority=20)
    await carriers.add_carrier(platform, A, "carrier-a", "sip.carrier-a.test", priority=5)
    await carriers.add_carrier(
        platform, A, "carrier-c", "192.0.2.30", inbound_from=["203.0.113.0/24"], priority=30
    )
    return platform


async def test_tenants_users_and_numbers_as_routing_sees_them(routed: Platform) -> None:
    await User.filter(extension="2001").update(hide_caller_id=True)
    await Tenant.filter(slug="default").update(main_number="+31201234500", number_display="e164")
    table = await load_table(_resolve)
    tenant = table.tenant_for_domain((await Tenant.get(slug="default")).sip_domain)
    assert tenant is not None
    assert tenant.main_number == "+31201234500"
    assert tenant.display_form == "e164"
    assert tenant.country == "NL"
    assert tenant.users["2000"].numbers == ("+31201234501",)
    assert tenant.users["2000"].name == "Alice"
    assert tenant.users["2001"].hide_caller_id is True
    assert tenant.numbers["+31201234501"] == ToUser("2000")
    assert tenant.numbers["+31201234502"] is None
    assert len(tenant.numbers) == 10


async def test_carriers_in_priority_order_known_by_their_networks(routed: Platform) -> None:
    table = await load_table(_resolve)
    assert [c.name for c in table.carriers.carriers] == ["carrier-a", "carrier-b", "carrier-c"]
    assert table.carriers.carriers[0].address == "sip.carrier-a.test:5060"
    # Its host's addresses when no networks are given; only its networks otherwise.
    assert table.carrier_at("192.0.2.11") == "carrier-a"
    assert table.carrier_at("192.0.2.20") == "carrier-b"
    assert table.carrier_at("192.0.2.30") is None
    assert table.carrier_at("203.0.113.77") == "carrier-c"


async def test_a_disabled_or_probed_down_carrier(routed: Platform) -> None:
    await CarrierRow.filter(name="carrier-b").update(enabled=False)
    await CarrierRow.filter(name="carrier-a").update(probe_up=False)
    table = await load_table(_resolve)
    assert [c.name for c in table.carriers.carriers] == ["carrier-a", "carrier-c"]
    assert table.carrier_at("192.0.2.20") is None
    # Down is tried last, not never.
    assert [c.name for c in table.carriers.in_order()] == ["carrier-c", "carrier-a"]


async def test_a_carrier_host_that_no_longer_resolves_takes_no_calls_in(routed: Platform) -> None:
    table = await load_table(_unresolvable)
    assert table.carrier_at("192.0.2.11") is None
    assert table.carrier_at("203.0.113.1") == "carrier-c"
    assert "carrier-a" in {c.name for c in table.carriers.carriers}


async def test_the_live_table_is_replaced_whole_on_refresh(routed: Platform) -> None:
    live = LiveTable(_resolve)
    assert live.table.tenant_count == 0
    await live.refresh()
    domain = (await Tenant.get(slug="default")).sip_domain
    inbound = CallRequest("peer", "192.0.2.20", "0201234502")
    assert live.table.plan(inbound, AT) == Reject(404, "Number not in use")
    await numbers.assign(routed, A, "+31201234502", "2001", "default")
    assert live.table.plan(inbound, AT) == Reject(404, "Number not in use")  # not yet
    await live.refresh()
    plan = live.table.plan(inbound, AT)
    assert isinstance(plan, Route)
    assert plan.branches[0].target == AorTarget("2001", f"sip:2001@{domain}")
    outbound = CallRequest("user", "10.1.1.1", "0612345678", domain=domain, extension="2000")
    plan = live.table.plan(outbound, AT)
    assert isinstance(plan, Route)
    assert [b.target.carrier for b in plan.branches if isinstance(b.target, CarrierTarget)] == [
        "carrier-a",
        "carrier-b",
        "carrier-c",
    ]
