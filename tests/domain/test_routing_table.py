"""The routing table: which tenant and source a call has, before the decision."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any

import pytest

from provd.domain.routing import (
    AorTarget,
    Carrier,
    Carriers,
    CarrierTarget,
    FromCarrier,
    FromUnknown,
    FromUser,
    Reject,
    Route,
    TenantRouting,
    ToUser,
    UserRouting,
)
from provd.domain.routing_table import CallRequest, RoutingTable

AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
ACME = TenantRouting(
    slug="acme",
    sip_domain="acme.pbx.test",
    users={"2000": UserRouting("2000", numbers=("+31201234501",))},
    numbers={"+31201234501": ToUser("2000"), "+31201234502": None},
)
GLOBEX = TenantRouting(
    slug="globex",
    sip_domain="globex.pbx.test",
    users={"2000": UserRouting("2000", numbers=("+31301234501",))},
    numbers={"+31301234501": ToUser("2000")},
)
CARRIERS = Carriers((Carrier("wide", "192.0.2.1:5060"), Carrier("narrow", "192.0.2.77:5060")))
NETWORKS = {
    "wide": [ipaddress.ip_network("192.0.2.0/24")],
    "narrow": [ipaddress.ip_network("192.0.2.77/32"), ipaddress.ip_network("2001:db8::/64")],
    "gone": [ipaddress.ip_network("198.51.100.0/24")],  # not a carrier any more
}
TABLE = RoutingTable([ACME, GLOBEX], CARRIERS, NETWORKS)


def peer(address: str, dialled: str, **kw: Any) -> CallRequest:
    return CallRequest("peer", address, dialled, **kw)


@pytest.mark.parametrize(
    ("address", "carrier"),
    [
        ("192.0.2.1", "wide"),
        ("192.0.2.77", "narrow"),  # the most specific network wins
        ("2001:db8::5", "narrow"),
        ("[2001:db8::5]", "narrow"),  # Kamailio writes IPv6 sources in brackets
        ("198.51.100.1", None),  # a removed carrier's network is no longer trusted
        ("203.0.113.9", None),
        ("not-an-address", None),
        ("", None),
    ],
)
def test_a_carrier_is_known_by_its_source_address_only(address: str, carrier: str | None) -> None:
    assert TABLE.carrier_at(address) == carrier
    expected = FromCarrier(carrier) if carrier else FromUnknown(address)
    assert TABLE.source_of(peer(address, "x")) == expected


def test_a_user_is_known_by_domain_and_extension_whatever_the_address() -> None:
    request = CallRequest("user", "192.0.2.1", "2000", domain="ACME.pbx.test", extension="2000")
    assert TABLE.source_of(request) == FromUser("acme", "2000")


def test_an_inbound_call_finds_the_tenant_owning_the_number_in_any_notation() -> None:
    for dialled in ("+31201234501", "0201234501", "0031201234501", "%2B31201234501"):
        plan = TABLE.plan(peer("192.0.2.1", dialled), AT)
        assert isinstance(plan, Route), dialled
        target = plan.branches[0].target
        assert isinstance(target, AorTarget)
        assert target.uri == "sip:2000@acme.pbx.test"
    other = TABLE.plan(peer("192.0.2.1", "0301234501"), AT)
    assert isinstance(other, Route)
    assert other.branches[0].target == AorTarget("2000", "sip:2000@globex.pbx.test")


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (peer("203.0.113.9", "0201234501"), 403),  # not a carrier
        (peer("192.0.2.1", "0201234502"), 404),  # owned, unassigned
        (peer("192.0.2.1", "0209999999"), 404),  # nobody's
        (peer("192.0.2.1", "hello"), 404),
        (CallRequest("user", "192.0.2.50", "2000", domain="gone.test", extension="2000"), 403),
        (
            CallRequest("user", "192.0.2.50", "0612345678", domain="acme.pbx.test", extension="9"),
            403,
        ),
    ],
)
def test_what_the_table_refuses(request_: CallRequest, code: int) -> None:
    plan = TABLE.plan(request_, AT)
    assert isinstance(plan, Reject)
    assert plan.code == code


def test_a_user_calls_out_through_the_carriers_in_order() -> None:
    request = CallRequest(
        "user", "10.0.0.9", "0612345678", domain="acme.pbx.test", extension="2000"
    )
    plan = TABLE.plan(request, AT)
    assert isinstance(plan, Route)
    carriers = [b.target.carrier for b in plan.branches if isinstance(b.target, CarrierTarget)]
    assert carriers == ["wide", "narrow"]


def test_a_number_owned_twice_is_a_broken_table() -> None:
    twice = TenantRouting(slug="dup", sip_domain="dup.test", numbers={"+31201234501": None})
    with pytest.raises(ValueError, match="two tenants"):
        RoutingTable([ACME, twice])


def test_an_empty_table_refuses_everything() -> None:
    table = RoutingTable()
    assert table.tenant_count == 0
    plan = table.plan(peer("192.0.2.1", "0201234501"), AT)
    assert plan == Reject(403, "Forbidden: calls from outside come only through a carrier")


def test_a_call_through_a_carrier_registration_is_for_the_number_in_to() -> None:
    registering = Carriers((Carrier("reg", "192.0.2.50:5060", registers_as="reg"),))
    table = RoutingTable([ACME], registering, {"reg": [ipaddress.ip_network("192.0.2.50/32")]})
    plan = table.plan(peer("192.0.2.50", "reg", to_user="+31201234501"), AT)
    assert isinstance(plan, Route)
    assert plan.branches[0].target == AorTarget("2000", "sip:2000@acme.pbx.test")
    # Only its own Contact user means "look in To"; anything else is the number itself.
    plan = table.plan(peer("192.0.2.50", "0201234501", to_user="+31209999999"), AT)
    assert isinstance(plan, Route)
    # And a carrier that does not register never has its To read.
    plan = TABLE.plan(peer("192.0.2.1", "wide", to_user="+31201234501"), AT)
    assert plan == Reject(404, "Unknown number")
