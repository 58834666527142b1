"""What a call's record says, decided with its plan: tenant, type, who called whom."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest

from provd.domain.call_accounting import MAX_VALUE, CallAccount, account
from provd.domain.routing import (
    CallFacts,
    Carrier,
    Carriers,
    Failure,
    FromCarrier,
    FromTrunk,
    FromUnknown,
    FromUser,
    GroupRouting,
    Reject,
    TenantRouting,
    ToGroup,
    ToTrunk,
    ToUser,
    TrunkRouting,
    UserRouting,
    plan_call,
)
from provd.domain.routing_table import CallRequest, RoutingTable

AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
ACME = TenantRouting(
    slug="acme",
    sip_domain="acme.test",
    main_number="+31201234500",
    users={"2000": UserRouting("2000", numbers=("+31201234501",)), "2001": UserRouting("2001")},
    numbers={"+31201234500": None, "+31201234501": ToUser("2000")},
)
TABLE = RoutingTable(
    [ACME],
    Carriers((Carrier("wide", "192.0.2.1:5060"),)),
    {"wide": [ipaddress.ip_network("192.0.2.0/24")]},
)


def user_calls(dialled: str, ext: str = "2000") -> CallAccount | None:
    request = CallRequest("user", "198.51.100.7", dialled, domain="acme.test", extension=ext)
    return TABLE.account(request, TABLE.plan(request, AT), AT)


@pytest.mark.parametrize(
    ("dialled", "call_type", "callee", "number"),
    [
        ("2001", "internal", "2001", "2000"),
        ("0612345678", "mobile", "+31612345678", "+31201234501"),
        ("0201234567", "national_fixed", "+31201234567", "+31201234501"),
        ("0032475123456", "international", "+32475123456", "+31201234501"),
        ("112", "emergency", "+31112", "+31201234501"),
    ],
)
def test_a_users_call_is_typed_by_where_the_plan_sends_it(
    dialled: str, call_type: str, callee: str, number: str
) -> None:
    acc = user_calls(dialled)
    assert acc is not None
    assert (acc.tenant, acc.call_type, acc.caller, acc.callee) == (
        "acme",
        call_type,
        "2000",
        callee,
    )
    assert (acc.dialled, acc.number, acc.user, acc.reason) == (dialled, number, "2000", "")


def test_a_refused_call_keeps_the_reason_and_the_type_of_what_was_dialled() -> None:
    acc = user_calls("2999")
    assert acc is not None
    assert (acc.call_type, acc.callee, acc.dialled) == ("internal", "2999", "2999")
    assert acc.reason == "Extension not found"
    # A refusal names no destination: the type is read from what was dialled.
    premium = account(
        FromUser("acme", "2000"),
        ACME,
        "0900123456",
        Reject(403, "Forbidden: destination blocked: premium"),
    )
    assert premium is not None
    assert (premium.call_type, premium.callee) == ("premium", "+31900123456")
    assert premium.reason == "Forbidden: destination blocked: premium"


def test_an_inbound_call_is_the_tenants_by_the_number_dialled() -> None:
    request = CallRequest("peer", "192.0.2.1", "0201234501", from_user="0612345678")
    acc = TABLE.account(request, TABLE.plan(request, AT), AT)
    assert acc is not None
    assert (acc.tenant, acc.call_type, acc.caller) == ("acme", "inbound", "+31612345678")
    assert (acc.callee, acc.number, acc.user) == ("+31201234501", "+31201234501", "2000")


def test_calls_no_tenant_owns_leave_no_keys() -> None:
    assert account(FromUnknown("203.0.113.9"), None, "0201234501", Reject(403, "Forbidden")) is None


def test_plan_keys_are_flat_printable_and_bounded() -> None:
    acc = CallAccount("acme", "inbound", "a\x00b\r\n" + "9" * 100, "x", "y", "z", "", "", "", "why")
    keys = acc.plan_keys()
    assert set(keys) == {
        "acc_tenant", "acc_call_type", "acc_caller", "acc_callee", "acc_dialled",
        "acc_number", "acc_user", "acc_trunk", "acc_group", "acc_reason",
    }  # fmt: skip
    assert keys["acc_caller"].startswith("ab9") and len(keys["acc_caller"]) == MAX_VALUE


def test_a_trunks_call_out_is_the_trunks_with_the_caller_id_provd_allowed() -> None:
    trunk = TrunkRouting(
        name="hq",
        channels=2,
        networks=("192.0.2.10/32",),
        accounts=("hq-primary",),
        caller_ids=frozenset({"+31201234500"}),
        main_number="+31201234500",
    )
    tenant = TenantRouting(
        slug="acme",
        sip_domain="acme.test",
        main_number="+31201234500",
        numbers={"+31201234500": None},
        trunks={"hq": trunk},
    )
    source = FromTrunk("acme", "hq", "192.0.2.10")
    carriers = Carriers((Carrier("wide", "192.0.2.1:5060"),))
    # The PBX claims a number the trunk may not send: provd replaces it (the default).
    facts = CallFacts(source, "0612345678", AT, from_user="+31209999999", pai_user="+31209999999")
    acc = account(source, tenant, "0612345678", plan_call(facts, tenant, carriers),
                  caller_hint="+31209999999")  # fmt: skip
    assert acc is not None
    assert (acc.trunk, acc.user, acc.call_type) == ("hq", "", "mobile")
    assert (acc.caller, acc.number, acc.callee) == ("+31201234500", "+31201234500", "+31612345678")


def test_a_call_to_a_hunt_group_and_its_forward_outside_name_the_group() -> None:
    tenant = TenantRouting(
        slug="acme",
        sip_domain="acme.test",
        main_number="+31201234500",
        users={"2000": UserRouting("2000"), "2001": UserRouting("2001")},
        numbers={"+31201234500": ToGroup("600")},
        groups={
            "600": GroupRouting("600", "Sales", "fixed", ("2000", "+31612345678"), overflow=None)
        },
    )
    carriers = Carriers((Carrier("wide", "192.0.2.1:5060"),))
    source = FromCarrier("wide")
    first = CallFacts(source, "0201234500", AT, from_user="0301234567")
    plan = plan_call(first, tenant, carriers)
    acc = account(source, tenant, "0201234500", plan, caller_hint="0301234567")
    assert acc is not None
    assert (acc.call_type, acc.group, acc.user, acc.caller) == (
        "inbound", "600", "2000", "+31301234567"
    )  # fmt: skip
    # 2000 did not answer: the next step rings the outside member, a call out of the tenant.
    later = CallFacts(source, "0201234500", AT, from_user="0301234567", failed=(Failure(480),))
    acc = account(source, tenant, "0201234500", plan_call(later, tenant, carriers),
                  caller_hint="0301234567")  # fmt: skip
    assert acc is not None
    assert (acc.call_type, acc.group, acc.callee) == ("mobile", "600", "+31612345678")


def test_a_call_to_a_number_on_a_customers_trunk_names_the_trunk_not_its_account() -> None:
    trunk = TrunkRouting(
        name="hq",
        channels=2,
        networks=("192.0.2.10/32",),
        accounts=("hq-primary", "hq-secondary"),
        caller_ids=frozenset({"+31201234500"}),
        main_number="+31201234500",
    )
    tenant = TenantRouting(
        slug="acme",
        sip_domain="acme.test",
        numbers={"+31201234500": ToTrunk("hq")},
        trunks={"hq": trunk},
    )
    source = FromCarrier("wide")
    carriers = Carriers((Carrier("wide", "192.0.2.1:5060"),))
    plan = plan_call(CallFacts(source, "0201234500", AT, from_user="0612345678"), tenant, carriers)
    acc = account(source, tenant, "0201234500", plan, caller_hint="0612345678")
    assert acc is not None
    assert (acc.call_type, acc.trunk, acc.user) == ("inbound", "hq", "")
    assert (acc.callee, acc.number) == ("+31201234500", "+31201234500")
