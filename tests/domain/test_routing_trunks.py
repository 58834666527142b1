"""Customer SIP trunks in the routing decision: calls from a trunk's PBX (allowed
networks, number notations, caller ID policy, privacy, channel limit) and calls to a
number on a trunk (primary, secondary, static address, failover)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provd.domain import trunks
from provd.domain.errors import InvalidInput
from provd.domain.routing import (
    ANONYMOUS_URI,
    AorTarget,
    CallFacts,
    Carrier,
    Carriers,
    CarrierTarget,
    Channels,
    Failure,
    FromCarrier,
    FromTrunk,
    PbxTarget,
    Reject,
    RelayFailure,
    Route,
    RoutePlan,
    TenantRouting,
    ToExternal,
    ToTrunk,
    ToUser,
    TrunkRouting,
    UserRouting,
    plan_call,
    plan_to_json,
)
from provd.domain.routing_table import CallRequest, RoutingTable

AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
PBX_IP = "192.0.2.10"
MAIN = "+31201234570"
CLI = "+31201234571"
DID = "+31201234572"
OWNED_NOT_ON_TRUNK = "+31201234573"

TRUNK = TrunkRouting(
    name="hq",
    channels=2,
    networks=("192.0.2.10/32", "198.51.100.0/24"),
    accounts=("hq-primary", "hq-secondary"),
    caller_ids=frozenset({MAIN, CLI}),
    main_number=MAIN,
    failover=ToUser("2000"),
    ring_s=20,
)
IP_TRUNK = TrunkRouting(
    name="branch",
    channels=1,
    networks=("203.0.113.5/32",),
    number_format="national",
    address="203.0.113.5:5080",
    caller_ids=frozenset({OWNED_NOT_ON_TRUNK}),
    main_number=OWNED_NOT_ON_TRUNK,
)
ACME = TenantRouting(
    slug="acme",
    sip_domain="acme.pbx.test",
    main_number=MAIN,
    users={"2000": UserRouting("2000", name="Reception", numbers=())},
    numbers={MAIN: ToTrunk("hq"), CLI: None, DID: ToTrunk("hq"), OWNED_NOT_ON_TRUNK: None},
    trunks={"hq": TRUNK, "branch": IP_TRUNK},
)
CARRIERS = Carriers(
    (
        Carrier("main", "carrier-a.example:5060"),
        Carrier("backup", "carrier-b.example:5060"),
    )
)


def from_trunk(
    dialled: str,
    *,
    pai: str | None = CLI,
    privacy: str | None = None,
    address: str = PBX_IP,
    trunk: str = "hq",
    tenant: TenantRouting = ACME,
    failed: tuple[Failure, ...] = (),
) -> RoutePlan:
    facts = CallFacts(
        source=FromTrunk("acme", trunk, address),
        dialled=dialled,
        at=AT,
        from_user=pai or "",
        pai_user=pai,
        privacy=privacy,
        failed=failed,
    )
    return plan_call(facts, tenant, CARRIERS)


def to_did(
    dialled: str = "0201234572", *, tenant: TenantRouting = ACME, failed: tuple[Failure, ...] = ()
) -> RoutePlan:
    facts = CallFacts(
        source=FromCarrier("main"),
        dialled=dialled,
        at=AT,
        from_user="0612345678",
        from_display="Jan",
        failed=failed,
    )
    return plan_call(facts, tenant, CARRIERS)


def route(plan: RoutePlan) -> Route:
    assert isinstance(plan, Route), plan
    return plan


# ---- calls from the trunk's PBX -------------------------------------------------


@pytest.mark.parametrize("dialled", ["0201234567", "0031201234567", "+31201234567"])
def test_any_national_notation_leaves_in_e164_through_the_carriers(dialled: str) -> None:
    plan = route(from_trunk(dialled))
    assert plan.kind == "outbound"
    [first, second] = plan.branches
    assert isinstance(first.target, CarrierTarget)
    assert first.target.uri == "sip:+31201234567@carrier-a.example:5060"
    assert isinstance(second.target, CarrierTarget) and second.target.carrier == "backup"
    assert first.headers.added("P-Asserted-Identity") == f"<sip:{CLI}@acme.pbx.test>"
    assert first.headers.from_ is not None and first.headers.from_.uri == f"sip:{CLI}@acme.pbx.test"


def test_every_call_from_the_trunk_counts_against_its_channels() -> None:
    plan = route(from_trunk("0201234567"))
    assert plan.channels == Channels("acme/hq", 2)
    doc = plan_to_json(plan)
    assert doc["channels_key"] == "acme/hq"
    assert doc["channels_limit"] == 2


def test_emergency_from_a_trunk_goes_out_with_a_callback_number_even_without_pai() -> None:
    plan = route(from_trunk("112", pai=None))
    assert plan.kind == "emergency"
    assert plan.branches[0].target.uri.startswith("sip:+31112@")
    assert plan.caller_id.number == MAIN
    assert plan.channels == Channels("acme/hq", 2)


@pytest.mark.parametrize("pai", ["0201234571", "+31201234571", "0031201234571"])
def test_a_pai_among_the_trunks_numbers_is_presented_in_any_notation(pai: str) -> None:
    assert route(from_trunk("0201234567", pai=pai)).caller_id.number == CLI


@pytest.mark.parametrize(
    "pai", ["0209999999", OWNED_NOT_ON_TRUNK, None, "anonymous", "not a number"]
)
def test_another_caller_id_is_replaced_by_the_trunks_main_number(pai: str | None) -> None:
    plan = route(from_trunk("0201234567", pai=pai))
    assert plan.caller_id.number == MAIN
    assert plan.branches[0].headers.added("P-Asserted-Identity") == f"<sip:{MAIN}@acme.pbx.test>"


def test_or_refused_when_the_trunk_says_so() -> None:
    strict = replace(ACME, trunks={"hq": replace(TRUNK, caller_id_policy="refuse")})
    assert from_trunk("0201234567", pai="0209999999", tenant=strict) == Reject(
        403, "Forbidden: caller ID not allowed on this trunk"
    )
    refused = from_trunk("0201234567", pai=None, tenant=strict)
    assert isinstance(refused, Reject) and refused.code == 403
    assert "P-Asserted-Identity" in refused.reason
    assert route(from_trunk("0201234567", pai=CLI, tenant=strict)).caller_id.number == CLI


def test_a_caller_id_the_tenant_no_longer_owns_is_never_presented() -> None:
    gone = replace(ACME, numbers={k: v for k, v in ACME.numbers.items() if k != CLI})
    assert route(from_trunk("0201234567", pai=CLI, tenant=gone)).caller_id.number == MAIN


def test_no_main_number_to_fall_back_on_refuses() -> None:
    bare = replace(ACME, trunks={"hq": replace(TRUNK, main_number=None)})
    plan = from_trunk("0201234567", pai="0209999999", tenant=bare)
    assert isinstance(plan, Reject) and plan.code == 403


def test_privacy_id_hides_the_caller_toward_the_carrier_with_pai_intact() -> None:
    plan = route(from_trunk("0201234567", privacy="id"))
    branch = plan.branches[0]
    assert branch.headers.added("Privacy") == "id"
    assert branch.headers.added("P-Asserted-Identity") == f"<sip:{CLI}@acme.pbx.test>"
    assert branch.headers.from_ is not None and branch.headers.from_.uri == ANONYMOUS_URI
    assert plan.caller_id.hidden


@pytest.mark.parametrize("address", ["192.0.2.11", "203.0.113.5", "not-an-ip", ""])
def test_a_request_from_outside_the_allowed_networks_is_refused(address: str) -> None:
    assert from_trunk("0201234567", address=address) == Reject(
        403, "Forbidden: address not allowed for this trunk"
    )


def test_a_network_of_the_trunk_admits_every_address_in_it() -> None:
    assert isinstance(from_trunk("0201234567", address="198.51.100.77"), Route)


@pytest.mark.parametrize(("dialled", "code"), [("02012", 484), ("abc", 404), ("", 484)])
def test_nothing_to_call_is_refused(dialled: str, code: int) -> None:
    plan = from_trunk(dialled)
    assert isinstance(plan, Reject) and plan.code == code


def test_an_unknown_trunk_is_refused() -> None:
    assert from_trunk("0201234567", trunk="gone") == Reject(403, "Forbidden: unknown trunk")


def test_a_failed_outbound_call_is_relayed_as_it_failed() -> None:
    assert from_trunk("0201234567", failed=(Failure(503),)) == RelayFailure()


# ---- calls to a number on the trunk ----------------------------------------------


def test_an_inbound_call_rings_the_primary_account_with_the_did_as_request_user() -> None:
    plan = route(to_did())
    [branch] = plan.branches
    assert branch.target == AorTarget("hq-primary", "sip:hq-primary@acme.pbx.test")
    assert branch.request_user == DID
    assert branch.ring_timeout_ms == 20_000
    assert branch.headers.to is not None and branch.headers.to.uri == f"sip:{DID}@acme.pbx.test"
    assert branch.headers.from_ is not None
    assert branch.headers.from_.uri == "sip:+31612345678@acme.pbx.test"
    assert branch.headers.added("P-Asserted-Identity") == "<sip:+31612345678@acme.pbx.test>"
    assert plan.more and plan.channels == Channels("acme/hq", 2)
    doc = plan_to_json(plan)
    assert doc["ruri_user"] == DID and doc["target"] == "aor"


@pytest.mark.parametrize(
    ("fmt", "did", "caller"),
    [
        ("e164", "+31201234572", "+31612345678"),
        ("00", "0031201234572", "0031612345678"),
        ("national", "0201234572", "0612345678"),
    ],
)
def test_numbers_reach_the_pbx_in_the_trunks_format(fmt: str, did: str, caller: str) -> None:
    tenant = replace(ACME, trunks={"hq": replace(TRUNK, number_format=trunks.check_format(fmt))})
    [branch] = route(to_did(tenant=tenant)).branches
    assert branch.request_user == did
    assert branch.headers.from_ is not None
    assert branch.headers.from_.uri == f"sip:{caller}@acme.pbx.test"


@pytest.mark.parametrize(
    "failure",
    [Failure(408, timeout=True), Failure(480, unregistered=True), Failure(503), Failure(500)],
)
def test_no_answer_from_the_primary_tries_the_secondary_then_the_failover(
    failure: Failure,
) -> None:
    second = route(to_did(failed=(failure,)))
    assert second.branches[0].target == AorTarget("hq-secondary", "sip:hq-secondary@acme.pbx.test")
    third = route(to_did(failed=(failure, failure)))
    assert third.branches[0].target == AorTarget("2000", "sip:2000@acme.pbx.test")
    assert third.channels is None


@pytest.mark.parametrize("status", [486, 603, 404])
def test_the_pbxs_own_refusal_reaches_the_caller(status: int) -> None:
    assert to_did(failed=(Failure(status),)) == RelayFailure()


def test_without_a_failover_the_caller_gets_480() -> None:
    tenant = replace(ACME, trunks={**ACME.trunks, "hq": replace(TRUNK, failover=None)})
    plan = to_did(tenant=tenant, failed=(Failure(480, unregistered=True),) * 2)
    assert plan == Reject(480, "Temporarily Unavailable: the trunk did not answer")


def test_an_external_failover_leaves_through_the_carriers() -> None:
    tenant = replace(ACME, trunks={"hq": replace(TRUNK, failover=ToExternal("+31612345679"))})
    plan = route(to_did(tenant=tenant, failed=(Failure(408, timeout=True),) * 2))
    assert isinstance(plan.branches[0].target, CarrierTarget)
    assert plan.branches[0].target.uri.startswith("sip:+31612345679@")


def test_an_ip_trunk_is_reached_at_its_static_address_in_its_format() -> None:
    tenant = replace(ACME, numbers={**ACME.numbers, DID: ToTrunk("branch")})
    plan = route(to_did(tenant=tenant))
    [branch] = plan.branches
    assert branch.target == PbxTarget(
        "branch", "sip:0201234572@203.0.113.5:5080", "sip:203.0.113.5:5080"
    )
    assert branch.request_user is None
    assert plan_to_json(plan)["target"] == "pbx"
    assert plan.channels == Channels("acme/branch", 1)


def test_a_hidden_caller_reaches_the_pbx_anonymous_without_pai() -> None:
    facts = CallFacts(
        source=FromCarrier("main"),
        dialled="0201234572",
        at=AT,
        from_user="0612345678",
        privacy="id",
    )
    [branch] = route(plan_call(facts, ACME, CARRIERS)).branches
    assert branch.headers.from_ is not None and branch.headers.from_.uri == ANONYMOUS_URI
    assert branch.headers.added("P-Asserted-Identity") is None


# ---- the routing table finds the trunk ---------------------------------------------


def test_the_table_finds_a_trunk_by_its_account_and_an_ip_trunk_by_its_address() -> None:
    table = RoutingTable([ACME], CARRIERS, {})
    by_account = CallRequest(
        "trunk",
        PBX_IP,
        "0201234567",
        domain="ACME.pbx.test",
        extension="hq-secondary",
        pai_user=CLI,
    )
    assert table.source_of(by_account) == FromTrunk("acme", "hq", PBX_IP)
    assert isinstance(table.plan(by_account, AT), Route)
    by_address = CallRequest("peer", "203.0.113.5", "0201234567", pai_user="0201234573")
    assert table.source_of(by_address) == FromTrunk("acme", "branch", "203.0.113.5")
    plan = table.plan(by_address, AT)
    assert isinstance(plan, Route) and plan.caller_id.number == OWNED_NOT_ON_TRUNK


def test_an_account_trunk_is_never_found_by_address_alone() -> None:
    table = RoutingTable([ACME], CARRIERS, {})
    plan = table.plan(CallRequest("peer", PBX_IP, "0201234567"), AT)
    assert isinstance(plan, Reject) and plan.code == 403


def test_an_unknown_account_is_refused() -> None:
    table = RoutingTable([ACME], CARRIERS, {})
    request = CallRequest("trunk", PBX_IP, "0201234567", domain="acme.pbx.test", extension="x")
    assert table.plan(request, AT) == Reject(403, "Forbidden: unknown tenant or trunk")


# ---- the rules of provd.domain.trunks --------------------------------------------


@given(st.ip_addresses(v=4))
def test_allows_is_membership_of_the_networks(address: object) -> None:
    text = str(address)
    expected = text == "192.0.2.10" or text.startswith("198.51.100.")
    assert trunks.allows(TRUNK.networks, text) == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "at least one"),
        (["10.0.0.0/8"], "too wide"),
        (["192.0.2.1/24"], "host bits"),
        (["example.com"], "not an address"),
        ("192.0.2.1", "list"),
    ],
)
def test_bad_networks_name_the_field(values: object, message: str) -> None:
    with pytest.raises(InvalidInput) as e:
        trunks.check_networks(values)
    assert e.value.field == "allow_ip" and message in str(e.value)


def test_networks_are_normalised_and_deduplicated() -> None:
    assert trunks.check_networks(["192.0.2.10", "192.0.2.10/32", "2001:db8::/48"]) == (
        "192.0.2.10/32",
        "2001:db8::/48",
    )


@pytest.mark.parametrize("bad", [0, 1001, True, "2", None])
def test_channels_are_a_whole_number_in_range(bad: object) -> None:
    with pytest.raises(InvalidInput) as e:
        trunks.check_channels(bad)
    assert e.value.field == "channels"


@pytest.mark.parametrize("bad", ["", "-hq", "hq-", "HQ!", "x" * 33, 5])
def test_bad_trunk_names(bad: object) -> None:
    with pytest.raises(InvalidInput):
        trunks.check_name(bad)


def test_foreign_numbers_keep_the_international_form_on_a_national_trunk() -> None:
    assert trunks.format_number("+3225551234", "national", "NL") == "003225551234"
    assert trunks.format_number("+31201234567", "national", "NL") == "0201234567"
    assert trunks.format_number("+31201234567", "00", "NL") == "0031201234567"
