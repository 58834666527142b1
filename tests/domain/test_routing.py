"""The routing decision: every rule of provd/domain/routing.py, as tables and properties."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provd.domain.errors import InvalidInput
from provd.domain.routing import (
    ANONYMOUS_URI,
    IDENTITY_HEADERS,
    AorTarget,
    CallFacts,
    Carrier,
    Carriers,
    CarrierTarget,
    FromCarrier,
    FromUnknown,
    FromUser,
    GiveUp,
    NextBranch,
    Reject,
    Route,
    RoutePlan,
    TenantRouting,
    ToUser,
    UserRouting,
    caller_number,
    inbound_number,
    plan_call,
    plan_to_json,
    status_regex,
)

AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
MAIN = "+31201234500"

ACME = TenantRouting(
    slug="acme",
    sip_domain="acme.pbx.test",
    main_number=MAIN,
    users={
        "2000": UserRouting("2000", name="Alice", numbers=("+31201234501",)),
        "2001": UserRouting("2001", name="Bob", numbers=("+31201234502",), hide_caller_id=True),
        "2002": UserRouting("2002", name="Carol"),
        # A number the tenant does not own never becomes a caller ID.
        "2003": UserRouting("2003", numbers=("+31209999999", "+31201234506")),
        "2004": UserRouting("2004", numbers=("+31209999999",)),
        "0201": UserRouting("0201", name="Front desk"),
    },
    numbers={
        MAIN: None,
        "+31201234501": ToUser("2000"),
        "+31201234502": ToUser("2001"),
        "+31201234503": None,
        "+31201234504": ToUser("2099"),  # its user is gone
        "+31201234505": ToUser("0201"),
        "+31201234506": ToUser("2003"),
    },
)
E164_TENANT = TenantRouting(
    slug="globex",
    sip_domain="globex.pbx.test",
    display_form="e164",
    users={"10": UserRouting("10")},
    numbers={"+31301234560": ToUser("10")},
)
# No main number, and a main number the tenant does not own: nothing to call out with.
NUMBERLESS = TenantRouting(
    slug="solo", sip_domain="solo.pbx.test", users={"3000": UserRouting("3000")}
)
NOT_OWNED_MAIN = TenantRouting(
    slug="stray",
    sip_domain="stray.pbx.test",
    main_number="+31209999999",
    users={"4000": UserRouting("4000")},
)
TENANTS = {t.slug: t for t in (ACME, E164_TENANT, NUMBERLESS, NOT_OWNED_MAIN)}

CARRIER_A = Carrier("carrier-a", "192.0.2.1:5060")
CARRIER_B = Carrier("carrier-b", "192.0.2.2", transport="tcp", domain="b.example")
CARRIER_C = Carrier("carrier-c", "192.0.2.3:5070", failover_on=("408", "5xx", "403"))
CARRIERS = Carriers((CARRIER_A, CARRIER_B))
E164_SHAPE = re.compile(r"\+[1-9][0-9]{1,14}")


def from_user(dialled: str, ext: str = "2000", tenant: str = "acme", **kw: Any) -> RoutePlan:
    facts = CallFacts(FromUser(tenant, ext), dialled, AT, **kw)
    return plan_call(facts, TENANTS[tenant], CARRIERS)


def from_carrier(
    dialled: str,
    tenant: TenantRouting | None = ACME,
    *,
    carrier: str = "carrier-a",
    carriers: Carriers = CARRIERS,
    **kw: Any,
) -> RoutePlan:
    return plan_call(CallFacts(FromCarrier(carrier), dialled, AT, **kw), tenant, carriers)


def route(plan: RoutePlan) -> Route:
    assert isinstance(plan, Route), plan
    return plan


def carrier_targets(plan: Route) -> list[CarrierTarget]:
    out = []
    for b in plan.branches:
        assert isinstance(b.target, CarrierTarget)
        out.append(b.target)
    return out


def ruri_user(plan: Route) -> str:
    users = {t.uri.removeprefix("sip:").split("@")[0] for t in carrier_targets(plan)}
    assert len(users) == 1
    return users.pop()


def only_aor(plan: RoutePlan) -> AorTarget:
    r = route(plan)
    assert len(r.branches) == 1
    target = r.branches[0].target
    assert isinstance(target, AorTarget)
    return target


# ---- sources -----------------------------------------------------------------------


@pytest.mark.parametrize("dialled", ["0201234501", "+31201234501", "2000", "112", "", "x"])
@pytest.mark.parametrize("tenant", [ACME, None])
def test_an_unauthenticated_non_carrier_source_is_refused_whatever_it_dials(
    dialled: str, tenant: TenantRouting | None
) -> None:
    plan = plan_call(CallFacts(FromUnknown("198.51.100.7"), dialled, AT), tenant, CARRIERS)
    assert plan == Reject(403, "Forbidden: calls from outside come only through a carrier")


def test_a_carrier_not_in_the_list_is_refused() -> None:
    assert from_carrier("+31201234501", carrier="carrier-z") == Reject(
        403, "Forbidden: not a carrier"
    )


def test_a_user_unknown_to_its_tenant_is_refused() -> None:
    assert from_user("2000", ext="2999") == Reject(403, "Forbidden: unknown caller")


@pytest.mark.parametrize("tenant", [E164_TENANT, None])
def test_a_user_call_must_be_planned_with_the_users_own_tenant(
    tenant: TenantRouting | None,
) -> None:
    with pytest.raises(ValueError, match="own tenant"):
        plan_call(CallFacts(FromUser("acme", "2000"), "2001", AT), tenant, CARRIERS)


def test_the_time_of_a_call_carries_its_zone() -> None:
    with pytest.raises(ValueError, match="time zone"):
        CallFacts(FromUser("acme", "2000"), "2001", datetime(2026, 3, 2, 10, 30))


# ---- inbound -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialled", "extension"),
    [
        ("+31201234501", "2000"),
        ("0201234501", "2000"),
        ("31201234501", "2000"),
        ("0031201234501", "2000"),
        ("%2B31201234501", "2000"),
        ("+31201234502", "2001"),
        ("+31201234505", "0201"),
        ("+31201234506", "2003"),
    ],
)
def test_a_carrier_call_to_an_assigned_number_rings_the_users_aor(
    dialled: str, extension: str
) -> None:
    plan = route(from_carrier(dialled, from_user="+31612345678"))
    assert plan.kind == "inbound"
    assert only_aor(plan) == AorTarget(extension, f"sip:{extension}@acme.pbx.test")
    branch = plan.branches[0]
    assert branch.on_failure == GiveUp()
    assert branch.ring_timeout_ms == ACME.ring_timeout_ms
    assert set(IDENTITY_HEADERS) <= set(branch.headers.remove)
    assert branch.headers.add == ()


@pytest.mark.parametrize(
    ("dialled", "tenant", "reason"),
    [
        ("+31201234503", ACME, "Number not in use"),  # owned, unassigned
        (MAIN, ACME, "Number not in use"),  # the main number, unassigned
        ("+31201234504", ACME, "Number not in use"),  # assigned to a user that is gone
        ("+31201234599", ACME, "Number not in use"),  # not the tenant's
        ("+31301234560", ACME, "Number not in use"),  # another tenant's
        ("+31201234501", None, "Number not in use"),  # nobody's
        ("abc", ACME, "Unknown number"),
        ("", ACME, "Unknown number"),
        ("12", ACME, "Unknown number"),
        ("2000", ACME, "Unknown number"),  # an extension is not reachable from outside
    ],
)
def test_a_carrier_call_to_a_number_not_in_use_gets_404(
    dialled: str, tenant: TenantRouting | None, reason: str
) -> None:
    assert from_carrier(dialled, tenant) == Reject(404, reason)


@pytest.mark.parametrize(
    ("facts", "tenant", "shown", "hidden", "from_uri"),
    [
        ({"pai_user": "+31612345678"}, ACME, "0612345678", False, "sip:0612345678@acme.pbx.test"),
        ({"from_user": "0612345678"}, ACME, "0612345678", False, "sip:0612345678@acme.pbx.test"),
        ({"from_user": "31612345678"}, ACME, "0612345678", False, "sip:0612345678@acme.pbx.test"),
        ({"from_user": "+442071234567"}, ACME, "00442071234567", False, None),
        ({"pai_user": "+31612345678"}, E164_TENANT, "+31612345678", False, None),
        # PAI first: the carrier asserts it; From is what the caller's side claims.
        (
            {"pai_user": "+31612345678", "from_user": "+31687654321"},
            ACME,
            "0612345678",
            False,
            None,
        ),
        ({"pai_user": "+31612345678", "privacy": "id"}, ACME, "anonymous", True, ANONYMOUS_URI),
        ({"pai_user": "+31612345678", "privacy": "user; critical"}, ACME, "anonymous", True, None),
        ({"pai_user": "+31612345678", "privacy": "Header"}, ACME, "anonymous", True, None),
        ({"pai_user": "+31612345678", "privacy": "none"}, ACME, "0612345678", False, None),
        ({"from_user": "anonymous"}, ACME, "anonymous", True, ANONYMOUS_URI),
        ({"from_user": "Anonymous"}, ACME, "anonymous", True, None),
        ({}, ACME, "anonymous", True, None),
    ],
)
def test_the_callee_sees_the_callers_number_in_the_tenants_form_or_anonymous(
    facts: dict[str, Any], tenant: TenantRouting, shown: str, hidden: bool, from_uri: str | None
) -> None:
    dialled = next(n for n, t in tenant.numbers.items() if t is not None)
    call = CallFacts(FromCarrier("carrier-a"), dialled, AT, **facts)
    plan = route(plan_call(call, tenant, CARRIERS))
    assert plan.caller_id.shown == shown
    assert plan.caller_id.hidden is hidden
    from_ = plan.branches[0].headers.from_
    assert from_ is not None
    if hidden:
        assert (from_.display, from_.uri) == ("Anonymous", ANONYMOUS_URI)
        assert plan.caller_id.number is None
    else:
        assert from_.uri == f"sip:{shown}@{tenant.sip_domain}"
    if from_uri is not None:
        assert from_.uri == from_uri


@pytest.mark.parametrize(
    ("display", "shown"),
    [
        ("Jan Jansen", "Jan Jansen"),
        ('Evil" <sip:x@y>', "Evil <sip:x@y>"),
        ("a\r\nVia: x", "aVia: x"),
        ("back\\slash", "backslash"),
        ("x" * 100, "x" * 64),
    ],
)
def test_a_carriers_display_name_reaches_the_phone_only_as_safe_text(
    display: str, shown: str
) -> None:
    plan = route(from_carrier("+31201234501", pai_user="+31612345678", from_display=display))
    from_ = plan.branches[0].headers.from_
    assert from_ is not None and from_.display == shown


@pytest.mark.parametrize(
    ("carrier", "dialled", "expected"),
    [
        ("carrier-a", "0201234501", "+31201234501"),
        ("carrier-a", "+32 2 123 45 67", "+3221234567"),
        ("carrier-a", "nonsense", None),
        ("carrier-z", "0201234501", None),
    ],
)
def test_inbound_number_is_the_key_to_find_the_tenant(
    carrier: str, dialled: str, expected: str | None
) -> None:
    facts = CallFacts(FromCarrier(carrier), dialled, AT)
    assert inbound_number(facts, CARRIERS) == expected


def test_inbound_number_is_none_for_a_call_from_a_user() -> None:
    assert inbound_number(CallFacts(FromUser("acme", "2000"), "0201234501", AT), CARRIERS) is None


def test_a_belgian_carrier_reads_national_numbers_as_belgian() -> None:
    be = Carrier("be", "192.0.2.9", country="BE")
    facts = CallFacts(FromCarrier("be"), "022123456", AT)
    assert inbound_number(facts, Carriers((be,))) == "+3222123456"


# ---- outbound: what users dial ------------------------------------------------------


@pytest.mark.parametrize(
    ("dialled", "kind", "expected"),
    [
        # internal
        ("2001", "internal", "sip:2001@acme.pbx.test"),
        ("2002", "internal", "sip:2002@acme.pbx.test"),
        ("2000", "internal", "sip:2000@acme.pbx.test"),  # oneself
        ("0201", "internal", "sip:0201@acme.pbx.test"),  # an extension starting with 0
        ("#31#2001", "internal", "sip:2001@acme.pbx.test"),
        # to the carriers, in E.164
        ("0201234567", "outbound", "+31201234567"),
        ("0612345678", "outbound", "+31612345678"),
        ("0031201234999", "outbound", "+31201234999"),
        ("00442071234567", "outbound", "+442071234567"),
        ("+442071234567", "outbound", "+442071234567"),
        ("%2B442071234567", "outbound", "+442071234567"),
        ("0900123456", "outbound", "+31900123456"),
        ("08001234", "outbound", "+318001234"),
        ("14020", "outbound", "+3114020"),  # a real short national number, not an extension
        ("+3200000000", "outbound", "+3200000000"),  # elsewhere, possible is enough
        ("#31#0201234567", "outbound", "+31201234567"),
        ("%2331%230201234567", "outbound", "+31201234567"),
        ("0201234501", "outbound", "+31201234501"),  # the tenant's own number: via the carrier
        # emergency
        ("112", "emergency", "+31112"),
        ("911", "emergency", "+31911"),
        ("#31#112", "emergency", "+31112"),
    ],
)
def test_what_a_user_dials_is_routed(dialled: str, kind: str, expected: str) -> None:
    plan = route(from_user(dialled))
    assert plan.kind == kind
    if kind == "internal":
        assert only_aor(plan).uri == expected
    else:
        assert ruri_user(plan) == expected
        assert [t.carrier for t in carrier_targets(plan)] == ["carrier-a", "carrier-b"]


@pytest.mark.parametrize(
    ("dialled", "code", "reason"),
    [
        ("2099", 404, "Extension not found"),
        ("12345", 404, "Extension not found"),
        ("99", 404, "Extension not found"),
        ("123456", 484, "Address Incomplete"),
        # Extensions may start with 0 (0201): a short 0... is one, unknown here.
        ("020", 404, "Extension not found"),
        ("020123", 484, "Address Incomplete"),  # a possible length, not a valid number
        ("0123456789", 484, "Address Incomplete"),  # 012 is no area code
        ("0", 484, "Address Incomplete"),
        ("+", 484, "Address Incomplete"),
        ("+3", 484, "Address Incomplete"),
        ("#31#", 484, "Address Incomplete"),
        ("", 484, "Address Incomplete"),
        ("bob", 404, "Not Found"),
        ("*8", 404, "Not Found"),
        ("2000@evil", 404, "Not Found"),
    ],
)
def test_what_cannot_be_routed_is_refused(dialled: str, code: int, reason: str) -> None:
    assert from_user(dialled) == Reject(code, reason)


def test_emergency_numbers_follow_the_tenants_country() -> None:
    gb = TenantRouting(
        slug="gb",
        sip_domain="gb.pbx.test",
        country="GB",
        main_number="+442071234500",
        users={"100": UserRouting("100")},
        numbers={"+442071234500": None},
    )
    TENANTS["gb"] = gb
    try:
        assert ruri_user(route(from_user("999", ext="100", tenant="gb"))) == "+44999"
        assert route(from_user("112", ext="100", tenant="gb")).kind == "emergency"
        # Dialled in NL, 999 is not an emergency number: it is an unknown extension.
        assert from_user("999") == Reject(404, "Extension not found")
    finally:
        del TENANTS["gb"]


# ---- outbound: caller ID -------------------------------------------------------------


@pytest.mark.parametrize(
    ("ext", "pai", "hidden"),
    [
        ("2000", "+31201234501", False),  # own number
        ("2001", "+31201234502", True),  # own number, hides it
        ("2002", MAIN, False),  # no number: the tenant's main number
        ("2003", "+31201234506", False),  # skips the number the tenant does not own
        ("2004", MAIN, False),  # only a number not owned: the main number
    ],
)
def test_the_caller_id_toward_the_carrier_is_the_users_number_else_the_main_number(
    ext: str, pai: str, hidden: bool
) -> None:
    # Whatever the phone claims: From, display, PAI and Privacy are all ignored.
    plan = route(
        from_user(
            "0612345678",
            ext=ext,
            from_user="+31201234599",
            from_display="CEO",
            pai_user="+31201234503",
            privacy="none",
        )
    )
    assert plan.caller_id.number == pai
    for branch in plan.branches:
        h = branch.headers
        assert set(IDENTITY_HEADERS) <= set(h.remove)
        assert h.added("P-Asserted-Identity") == f"<sip:{pai}@acme.pbx.test>"
        assert h.from_ is not None
        if hidden:
            assert h.added("Privacy") == "id"
            assert (h.from_.display, h.from_.uri) == ("Anonymous", ANONYMOUS_URI)
            assert plan.caller_id.shown == "anonymous"
        else:
            assert h.added("Privacy") is None
            assert (h.from_.display, h.from_.uri) == ("", f"sip:{pai}@acme.pbx.test")
            assert plan.caller_id.shown == pai
        assert h.to is not None and h.to.uri == branch.target.uri


@pytest.mark.parametrize("prefix", ["#31#", "%2331%23", "%2331#"])
def test_the_31_prefix_hides_the_number_for_this_call_with_the_pai_still_true(
    prefix: str,
) -> None:
    plan = route(from_user(prefix + "0612345678"))
    assert plan.caller_id.hidden
    assert plan.caller_id.number == "+31201234501"
    for branch in plan.branches:
        assert branch.headers.added("Privacy") == "id"
        assert branch.headers.added("P-Asserted-Identity") == "<sip:+31201234501@acme.pbx.test>"
        assert branch.headers.from_ is not None and branch.headers.from_.uri == ANONYMOUS_URI


def test_a_31_that_is_not_a_prefix_does_not_hide() -> None:
    assert from_user("0612345678#31#") == Reject(404, "Not Found")


@pytest.mark.parametrize(
    ("dialled", "ext", "caller_name"),
    [("2001", "2000", "Alice"), ("#31#2000", "2001", "Bob"), ("2000", "0201", "Front desk")],
)
def test_internal_calls_show_the_callers_extension_and_name_even_when_hiding(
    dialled: str, ext: str, caller_name: str
) -> None:
    plan = route(from_user(dialled, ext=ext, from_user="9999", from_display="Someone else"))
    assert plan.caller_id.shown == ext and not plan.caller_id.hidden
    h = plan.branches[0].headers
    assert h.from_ is not None
    assert (h.from_.display, h.from_.uri) == (caller_name, f"sip:{ext}@acme.pbx.test")
    assert h.add == ()
    assert set(IDENTITY_HEADERS) <= set(h.remove)


@pytest.mark.parametrize(("tenant", "ext"), [("solo", "3000"), ("stray", "4000")])
@pytest.mark.parametrize("dialled", ["0201234567", "+442071234567", "#31#0612345678"])
def test_without_any_number_the_pstn_is_refused(tenant: str, ext: str, dialled: str) -> None:
    assert from_user(dialled, ext=ext, tenant=tenant) == Reject(
        403, "Forbidden: no number to call out with (user or tenant main number)"
    )


@pytest.mark.parametrize(
    ("tenant", "ext", "pai"),
    [
        ("acme", "2000", "+31201234501"),
        ("acme", "2001", "+31201234502"),  # hides by default: not for 112
        ("acme", "2002", MAIN),
        ("solo", "3000", None),
        ("stray", "4000", None),
    ],
)
@pytest.mark.parametrize("dialled", ["112", "#31#112", "911"])
def test_emergency_calls_always_go_to_a_carrier_with_the_best_number_never_hidden(
    tenant: str, ext: str, pai: str | None, dialled: str
) -> None:
    plan = route(from_user(dialled, ext=ext, tenant=tenant, from_user="+31201234503"))
    assert plan.kind == "emergency"
    assert plan.caller_id.number == pai
    assert not plan.caller_id.hidden
    assert len(plan.branches) == 2
    for branch in plan.branches:
        h = branch.headers
        assert h.added("Privacy") is None
        assert h.from_ is not None
        if pai is None:
            assert h.added("P-Asserted-Identity") is None
            assert h.from_.uri == ANONYMOUS_URI
        else:
            assert h.added("P-Asserted-Identity") == f"<sip:{pai}@{TENANTS[tenant].sip_domain}>"
            assert h.from_.uri == f"sip:{pai}@{TENANTS[tenant].sip_domain}"


def test_an_extension_112_does_not_capture_emergency_calls() -> None:
    tenant = TenantRouting(slug="odd", sip_domain="odd.pbx.test", users={"112": UserRouting("112")})
    plan = plan_call(CallFacts(FromUser("odd", "112"), "112", AT), tenant, CARRIERS)
    assert route(plan).kind == "emergency"


@pytest.mark.parametrize(
    ("tenant", "ext", "expected"),
    [
        ("acme", "2000", "+31201234501"),
        ("acme", "2002", MAIN),
        ("acme", "2003", "+31201234506"),
        ("solo", "3000", None),
        ("stray", "4000", None),
    ],
)
def test_caller_number(tenant: str, ext: str, expected: str | None) -> None:
    t = TENANTS[tenant]
    assert caller_number(t, t.users[ext]) == expected


# ---- carriers and failover -------------------------------------------------------------


@pytest.mark.parametrize(
    ("carriers", "names"),
    [
        ((CARRIER_A, CARRIER_B), ["carrier-a", "carrier-b"]),
        ((CARRIER_B, CARRIER_A), ["carrier-b", "carrier-a"]),
        (
            (Carrier("a", "192.0.2.1", up=False), CARRIER_B, CARRIER_C),
            ["carrier-b", "carrier-c", "a"],
        ),
        ((Carrier("a", "192.0.2.1", up=False), Carrier("b", "192.0.2.2", up=False)), ["a", "b"]),
        ((CARRIER_C,), ["carrier-c"]),
    ],
)
def test_carriers_are_tried_in_priority_order_live_ones_first(
    carriers: tuple[Carrier, ...], names: list[str]
) -> None:
    facts = CallFacts(FromUser("acme", "2000"), "0612345678", AT)
    plan = route(plan_call(facts, ACME, Carriers(carriers)))
    assert [t.carrier for t in carrier_targets(plan)] == names
    assert plan.mode == "serial"
    *firsts, last = plan.branches
    assert last.on_failure == GiveUp()
    by_name = {c.name: c for c in carriers}
    for branch in firsts:
        assert isinstance(branch.target, CarrierTarget)
        assert branch.on_failure == NextBranch(by_name[branch.target.carrier].failover_on)


@pytest.mark.parametrize("dialled", ["0612345678", "112"])
def test_no_carrier_gives_503(dialled: str) -> None:
    facts = CallFacts(FromUser("acme", "2000"), dialled, AT)
    assert plan_call(facts, ACME, Carriers()) == Reject(503, "No carrier available")


@pytest.mark.parametrize(
    ("carrier", "uri", "dst_uri"),
    [
        (CARRIER_A, "sip:+31612345678@192.0.2.1:5060", "sip:192.0.2.1:5060"),
        (CARRIER_B, "sip:+31612345678@b.example", "sip:192.0.2.2;transport=tcp"),
        (
            Carrier("t", "gw.example:5061", transport="tls"),
            "sip:+31612345678@gw.example:5061",
            "sip:gw.example:5061;transport=tls",
        ),
    ],
)
def test_carrier_branch_addresses(carrier: Carrier, uri: str, dst_uri: str) -> None:
    facts = CallFacts(FromUser("acme", "2000"), "0612345678", AT)
    plan = route(plan_call(facts, ACME, Carriers((carrier,))))
    assert carrier_targets(plan) == [CarrierTarget(carrier.name, uri, dst_uri)]


@pytest.mark.parametrize(
    ("status", "moves_on"),
    [
        (408, True),
        (500, True),
        (503, True),
        (599, True),
        (400, False),
        (403, False),
        (404, False),
        (480, False),
        (486, False),
        (487, False),
        (600, False),
        (603, False),
        (200, False),
    ],
)
def test_failover_on_timeout_408_and_5xx_only(status: int, moves_on: bool) -> None:
    assert NextBranch().moves_on(status) is moves_on
    assert NextBranch().on_timeout


def test_a_carrier_may_fail_over_on_more() -> None:
    assert NextBranch(CARRIER_C.failover_on).moves_on(403)
    assert status_regex(CARRIER_C.failover_on) == "408|5[0-9][0-9]|403"


@pytest.mark.parametrize("status", ["5", "50", "5000", "700", "099", "x03", "abc", ""])
def test_a_failover_status_that_is_not_one_is_refused(status: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Carrier("x", "192.0.2.1", failover_on=(status,))
    assert err.value.field == "failover_on"


# ---- the JSON document ------------------------------------------------------------------


def test_plan_to_json_for_a_reject() -> None:
    assert plan_to_json(Reject(404, "Number not in use")) == {
        "version": "1.0",
        "action": "reject",
        "code": 404,
        "reason": "Number not in use",
    }


def test_plan_to_json_for_an_outbound_call_is_an_rtjson_document() -> None:
    assert plan_to_json(from_user("#31#0612345678")) == {
        "version": "1.0",
        "action": "route",
        "kind": "outbound",
        "routing": "serial",
        "target": "carrier",
        "next_status": "408|5[0-9][0-9]",
        "next_timeout": 1,
        "more": 0,
        "caller_id": {"number": "+31201234501", "shown": "anonymous", "hidden": True},
        "routes": [
            {
                "uri": "sip:+31612345678@192.0.2.1:5060",
                "dst_uri": "sip:192.0.2.1:5060",
                "target": "carrier",
                "carrier": "carrier-a",
                "headers": {
                    "from": {"display": '"Anonymous"', "uri": "sip:anonymous@anonymous.invalid"},
                    "to": {"display": "", "uri": "sip:+31612345678@192.0.2.1:5060"},
                    "extra": "P-Asserted-Identity: <sip:+31201234501@acme.pbx.test>\r\n"
                    "Privacy: id\r\n",
                },
                "remove_headers": [
                    "P-Asserted-Identity",
                    "P-Preferred-Identity",
                    "Remote-Party-ID",
                    "Privacy",
                ],
                "fr_timer": 5000,
                "fr_inv_timer": 120000,
                "on_failure": {"action": "next", "status": "408|5[0-9][0-9]", "timeout": True},
            },
            {
                "uri": "sip:+31612345678@b.example",
                "dst_uri": "sip:192.0.2.2;transport=tcp",
                "target": "carrier",
                "carrier": "carrier-b",
                "headers": {
                    "from": {"display": '"Anonymous"', "uri": "sip:anonymous@anonymous.invalid"},
                    "to": {"display": "", "uri": "sip:+31612345678@b.example"},
                    "extra": "P-Asserted-Identity: <sip:+31201234501@acme.pbx.test>\r\n"
                    "Privacy: id\r\n",
                },
                "remove_headers": [
                    "P-Asserted-Identity",
                    "P-Preferred-Identity",
                    "Remote-Party-ID",
                    "Privacy",
                ],
                "fr_timer": 5000,
                "fr_inv_timer": 120000,
                "on_failure": {"action": "stop"},
            },
        ],
    }


def test_plan_to_json_for_an_inbound_call_names_the_aor() -> None:
    doc = plan_to_json(from_carrier("0201234501", pai_user="+31612345678", from_display="Jan"))
    assert doc == {
        "version": "1.0",
        "action": "route",
        "kind": "inbound",
        "routing": "serial",
        "target": "aor",
        "more": 1,
        "caller_id": {"number": "+31612345678", "shown": "0612345678", "hidden": False},
        "routes": [
            {
                "uri": "sip:2000@acme.pbx.test",
                "target": "aor",
                "extension": "2000",
                "headers": {"from": {"display": '"Jan"', "uri": "sip:0612345678@acme.pbx.test"}},
                "remove_headers": list(IDENTITY_HEADERS),
                "fr_timer": 5000,
                "fr_inv_timer": 60000,
                "on_failure": {"action": "stop"},
            }
        ],
    }


def test_plan_to_json_summarises_failover_for_the_cfg_or_refuses_mixed_rules() -> None:
    # Kamailio's json module reads top-level keys only: one rule for the whole plan.
    mixed = Carriers((CARRIER_A, CARRIER_C, CARRIER_B))
    plan = plan_call(CallFacts(FromUser("acme", "2000"), "0612345678", AT), ACME, mixed)
    with pytest.raises(ValueError, match="same rule"):
        plan_to_json(plan)
    same = Carriers(
        (CARRIER_C, Carrier("c2", "192.0.2.9", failover_on=CARRIER_C.failover_on), CARRIER_A)
    )
    doc = plan_to_json(plan_call(CallFacts(FromUser("acme", "2000"), "0612345678", AT), ACME, same))
    assert doc["next_status"] == "408|5[0-9][0-9]|403"
    assert doc["next_timeout"] == 1
    # One carrier: nothing to move on to.
    single = Carriers((CARRIER_A,))
    doc = plan_to_json(
        plan_call(CallFacts(FromUser("acme", "2000"), "0612345678", AT), ACME, single)
    )
    assert "next_status" not in doc and doc["target"] == "carrier"


# ---- properties ------------------------------------------------------------------------

ANY_TEXT = st.text(max_size=30)
NUMBERISH = st.from_regex(r"\A(#31#|%2331%23)?(\+|00|0)?[0-9]{0,16}\Z")
DIALLED = st.one_of(
    ANY_TEXT,
    NUMBERISH,
    st.sampled_from(["112", "911", "#31#112", "2001", "0201", "14020", "0612345678"]),
)
PHONE_CLAIMS = st.fixed_dictionaries(
    {
        "from_user": st.one_of(ANY_TEXT, NUMBERISH, st.sampled_from(list(ACME.numbers))),
        "from_display": ANY_TEXT,
        "pai_user": st.one_of(st.none(), NUMBERISH, st.sampled_from(list(ACME.numbers))),
        "privacy": st.one_of(st.none(), st.sampled_from(["id", "none", "user", "header"])),
    }
)
CALLERS = st.sampled_from([(slug, ext) for slug, tenant in TENANTS.items() for ext in tenant.users])


def _user_plan(caller: tuple[str, str], dialled: str, claims: dict[str, str | None]) -> RoutePlan:
    slug, ext = caller
    facts = CallFacts(
        FromUser(slug, ext),
        dialled,
        AT,
        from_user=claims["from_user"] or "",
        from_display=claims["from_display"] or "",
        pai_user=claims["pai_user"],
        privacy=claims["privacy"],
    )
    return plan_call(facts, TENANTS[slug], CARRIERS)


@given(CALLERS, DIALLED, PHONE_CLAIMS)
def test_property_toward_a_carrier_pai_and_from_are_numbers_the_tenant_owns(
    caller: tuple[str, str], dialled: str, claims: dict[str, str | None]
) -> None:
    plan = _user_plan(caller, dialled, claims)
    tenant = TENANTS[caller[0]]
    if not isinstance(plan, Route) or plan.kind == "internal":
        return
    for branch in plan.branches:
        h = branch.headers
        assert set(IDENTITY_HEADERS) <= set(h.remove)
        assert {n for n, _ in h.add} <= {"P-Asserted-Identity", "Privacy"}
        pai = h.added("P-Asserted-Identity")
        assert h.from_ is not None
        if pai is None:
            assert plan.kind == "emergency"
            assert h.from_.uri == ANONYMOUS_URI
            continue
        number = re.fullmatch(rf"<sip:(\+[0-9]+)@{re.escape(tenant.sip_domain)}>", pai)
        assert number is not None
        assert number.group(1) in tenant.numbers
        assert h.from_.uri in (ANONYMOUS_URI, f"sip:{number.group(1)}@{tenant.sip_domain}")
        assert (h.from_.uri == ANONYMOUS_URI) is (h.added("Privacy") == "id")


@given(CALLERS, DIALLED, PHONE_CLAIMS)
def test_property_no_plan_leaves_a_non_e164_request_uri_toward_a_carrier(
    caller: tuple[str, str], dialled: str, claims: dict[str, str | None]
) -> None:
    plan = _user_plan(caller, dialled, claims)
    if not isinstance(plan, Route):
        assert isinstance(plan, Reject)
        assert 400 <= plan.code < 700
        return
    for branch in plan.branches:
        target = branch.target
        if isinstance(target, CarrierTarget):
            user, _, host = target.uri.removeprefix("sip:").partition("@")
            assert E164_SHAPE.fullmatch(user), target.uri
            assert host in {"192.0.2.1:5060", "b.example"}
            assert branch.headers.to is not None and branch.headers.to.uri == target.uri
        else:
            # A user's call rings only users of its own tenant, never a trunk's PBX.
            assert isinstance(target, AorTarget), target
            assert plan.kind == "internal"
            assert target.uri == f"sip:{target.extension}@{TENANTS[caller[0]].sip_domain}"
            assert target.extension in TENANTS[caller[0]].users


@given(CALLERS, st.sampled_from(["112", "#31#112", "%2331%23112", "911"]), PHONE_CLAIMS)
def test_property_112_always_routes_to_a_carrier_with_the_callers_or_main_number(
    caller: tuple[str, str], dialled: str, claims: dict[str, str | None]
) -> None:
    plan = route(_user_plan(caller, dialled, claims))
    tenant = TENANTS[caller[0]]
    assert plan.kind == "emergency"
    assert len(carrier_targets(plan)) == len(CARRIERS.carriers)
    expected = caller_number(tenant, tenant.users[caller[1]])
    assert plan.caller_id.number == expected
    for branch in plan.branches:
        pai = branch.headers.added("P-Asserted-Identity")
        assert pai == (None if expected is None else f"<sip:{expected}@{tenant.sip_domain}>")
        assert branch.headers.added("Privacy") is None


@given(DIALLED, PHONE_CLAIMS, st.sampled_from([ACME, E164_TENANT, None]))
def test_property_inbound_rings_only_the_user_the_number_is_assigned_to(
    dialled: str, claims: dict[str, str | None], tenant: TenantRouting | None
) -> None:
    facts = CallFacts(
        FromCarrier("carrier-b"),
        dialled,
        AT,
        from_user=claims["from_user"] or "",
        from_display=claims["from_display"] or "",
        pai_user=claims["pai_user"],
        privacy=claims["privacy"],
    )
    plan = plan_call(facts, tenant, CARRIERS)
    if isinstance(plan, Reject):
        assert plan.code == 404
        return
    assert tenant is not None
    number = inbound_number(facts, CARRIERS)
    assert number is not None
    target = tenant.numbers[number]
    assert isinstance(target, ToUser)
    aor = only_aor(plan)
    assert aor == AorTarget(target.extension, f"sip:{target.extension}@{tenant.sip_domain}")
    assert isinstance(plan, Route)
    from_ = plan.branches[0].headers.from_
    assert from_ is not None
    if claims["privacy"] in ("id", "user", "header"):
        assert from_.uri == ANONYMOUS_URI


@given(
    st.one_of(CALLERS.map(lambda c: FromUser(*c)), st.just(FromCarrier("carrier-a"))),
    DIALLED,
    PHONE_CLAIMS,
)
def test_property_every_plan_is_a_json_document_with_safe_header_values(
    source: FromUser | FromCarrier, dialled: str, claims: dict[str, str | None]
) -> None:
    facts = CallFacts(
        source,
        dialled,
        AT,
        from_user=claims["from_user"] or "",
        from_display=claims["from_display"] or "",
        pai_user=claims["pai_user"],
        privacy=claims["privacy"],
    )
    tenant = TENANTS[source.tenant] if isinstance(source, FromUser) else ACME
    doc = plan_to_json(plan_call(facts, tenant, CARRIERS))
    assert json.loads(json.dumps(doc)) == doc
    routes = doc.get("routes", [])
    assert isinstance(routes, list)
    for r in routes:
        headers = r["headers"]
        for key in ("from", "to"):
            if key in headers:
                display, uri = headers[key]["display"], headers[key]["uri"]
                # A display is one quoted string: quotes at both ends and none inside.
                inner = display[1:-1] if display else ""
                assert display == "" or (display[0] == display[-1] == '"' and len(display) > 2)
                for value in (inner, uri):
                    assert value.isprintable() and '"' not in value and "\\" not in value
        extra = headers.get("extra", "")
        assert all(line.isprintable() for line in extra.split("\r\n"))
