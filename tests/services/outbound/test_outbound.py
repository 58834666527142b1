"""Outbound policies through the service: per tenant, user and trunk; parts replaced
as given; an audit row per change; refusals name the field and write nothing; the
routing table reads what was set."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from provd.db.models import AuditEntry, Tenant, Trunk, User
from provd.domain import outbound_policy
from provd.domain.errors import InvalidInput, NotFound
from provd.domain.routing import Reject, Route, TenantRouting
from provd.domain.routing_table import CallRequest, RoutingTable
from provd.services import carriers, numbers, outbound
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from provd.services.routing import load_table
from provd.services.trunks.create import add_trunk
from tests.conftest import TEST_ACTOR as A
from tests.conftest import starting_from

AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


async def _resolve(host: str) -> list[str]:
    return ["192.0.2.1"]


async def _tenant(table: RoutingTable) -> TenantRouting:
    default = await Tenant.get(slug="default")
    tenant = table.tenant_for_domain(default.sip_domain)
    assert tenant is not None
    return tenant


async def _office(platform: Platform) -> None:
    await users.add_user(platform, A, "default", "201", "Front Desk")
    await numbers.add_block(platform, A, "+31201234500", 10, "default")
    await numbers.assign(platform, A, "+31201234501", "201")
    await add_trunk(
        platform, A, "default", "hq", channels=2, allow_ips=["192.0.2.10/32"], auth="accounts"
    )


platform_start = starting_from(_office)


@pytest.fixture
def office(platform: Platform) -> Platform:
    return platform


async def stored() -> dict[str, Any]:
    return {
        "audit": await AuditEntry.all().count(),
        "tenants": await Tenant.all().order_by("id").values("id", "outbound_policy"),
        "users": await User.all().order_by("id").values("id", "outbound_policy"),
        "trunks": await Trunk.all().order_by("id").values("id", "outbound_policy"),
    }


async def test_the_default_policy_is_shown_and_stored_as_none(office: Platform) -> None:
    view = await outbound.show_policy("default")
    assert view == {
        "tenant": "default",
        "user": None,
        "trunk": None,
        "block": [],
        "allow_presets": [],
        "allow_prefixes": [],
        "description": "no restrictions (fraud-prone destinations blocked)",
    }
    assert (await Tenant.get(slug="default")).outbound_policy is None


async def test_each_level_keeps_its_own_policy_with_an_audit_row(office: Platform) -> None:
    tenant = await outbound.set_policy(office, A, "default", block=["premium", "international"])
    user = await outbound.set_policy(
        office, A, "default", user="201", allow_presets=["benelux"], allow_prefixes=["0044"]
    )
    trunk = await outbound.set_policy(office, A, "default", trunk="hq", block=["mobile"])
    assert (tenant["block"], tenant["user"], tenant["trunk"]) == (
        ["international", "premium"],
        None,
        None,
    )
    assert (user["user"], user["allow_presets"], user["allow_prefixes"]) == (
        "201",
        ["benelux"],
        ["+44"],
    )
    assert (trunk["trunk"], trunk["block"]) == ("hq", ["mobile"])
    assert await outbound.show_policy("default", user="201") == user
    assert await outbound.show_policy("default", trunk="hq") == trunk
    assert (await User.get(extension="201")).outbound_policy == {
        "block": [],
        "allow_presets": ["benelux"],
        "allow_prefixes": ["+44"],
    }
    rows = await AuditEntry.filter(object_type="outbound_policy").order_by("id")
    assert [(r.action, r.object_key) for r in rows] == [
        ("outbound.policy.set", "default"),
        ("outbound.policy.set", "default/user/201"),
        ("outbound.policy.set", "default/trunk/hq"),
    ]
    assert rows[0].before is not None and rows[0].before["block"] == []
    assert rows[0].after == tenant


async def test_parts_not_given_are_kept_and_an_empty_list_clears(office: Platform) -> None:
    await outbound.set_policy(
        office, A, "default", block=["premium"], allow_presets=["europe"], allow_prefixes=["+1"]
    )
    view = await outbound.set_policy(office, A, "default", allow_presets=[])
    assert (view["block"], view["allow_presets"], view["allow_prefixes"]) == (
        ["premium"],
        [],
        ["+1"],
    )
    view = await outbound.set_policy(office, A, "default", block=[], allow_prefixes=[])
    assert view["description"] == outbound_policy.describe(outbound_policy.DEFAULT)
    # Back to the default: stored as none again.
    assert (await Tenant.get(slug="default")).outbound_policy is None


async def test_an_unchanged_policy_writes_nothing(office: Platform) -> None:
    await outbound.set_policy(office, A, "default", block=["premium"])
    before = await stored()
    await outbound.set_policy(office, A, "default", block=["premium"])
    assert await stored() == before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"block": ["premum"]}, "block"),
        ({"block": "premium"}, "block"),
        ({"allow_presets": ["asia"]}, "allow_preset"),
        ({"allow_prefixes": ["+1", "abc"]}, "allow_prefix"),
        ({"allow_prefixes": ["+999"]}, "allow_prefix"),
        ({"user": "201", "trunk": "hq", "block": ["premium"]}, "trunk"),
    ],
)
async def test_bad_input_names_the_field_and_writes_nothing(
    office: Platform, kwargs: dict[str, Any], field: str
) -> None:
    before = await stored()
    with pytest.raises(InvalidInput) as e:
        await outbound.set_policy(office, A, "default", **kwargs)
    assert e.value.field == field
    assert await stored() == before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"user": "299"}, "user"), ({"trunk": "nope"}, "trunk"), ({"user": "x" * 99}, "user")],
)
async def test_an_unknown_user_or_trunk_is_not_found(
    office: Platform, kwargs: dict[str, Any], field: str
) -> None:
    before = await stored()
    with pytest.raises(NotFound) as e:
        await outbound.set_policy(office, A, "default", block=["premium"], **kwargs)
    assert e.value.field == field
    assert await stored() == before
    with pytest.raises(NotFound):
        await outbound.show_policy("default", **kwargs)


async def test_another_tenants_user_is_as_missing_as_none(office: Platform) -> None:
    await tenants.add_tenant(office, A, "acme")
    with pytest.raises(NotFound):
        await outbound.set_policy(office, A, "acme", user="201", block=["premium"])


async def test_the_routing_table_reads_every_level(office: Platform) -> None:
    await carriers.add_carrier(office, A, "upstream", "192.0.2.1:5060")
    await outbound.set_policy(office, A, "default", block=["premium"])
    await outbound.set_policy(office, A, "default", user="201", allow_presets=["nl"])
    await outbound.set_policy(office, A, "default", trunk="hq", block=["mobile"])
    table = await load_table(_resolve)
    tenant = await _tenant(table)
    assert tenant.outbound == outbound_policy.parse_policy(["premium"])
    assert tenant.users["201"].outbound == outbound_policy.parse_policy(presets=["nl"])
    assert tenant.trunks["hq"].outbound == outbound_policy.parse_policy(["mobile"])
    domain = tenant.sip_domain

    def call(dialled: str) -> object:
        request = CallRequest("user", "10.1.1.1", dialled, domain=domain, extension="201")
        return table.plan(request, AT)

    assert call("0900123456") == Reject(403, "Forbidden: destination blocked: premium")
    assert call("003225000000") == Reject(403, "Forbidden: destination blocked: not in whitelist")
    assert isinstance(call("0201234567"), Route)
    assert isinstance(call("112"), Route)


async def test_an_unreadable_stored_policy_refuses_all_but_emergency(office: Platform) -> None:
    await Tenant.filter(slug="default").update(outbound_policy={"block": ["nonsense"]})
    tenant = await _tenant(await load_table(_resolve))
    assert tenant.outbound == outbound_policy.REFUSE_ALL
