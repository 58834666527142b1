"""Spend and call limits in the routing decision: calls out refused with 403 once a
limit of the tenant or the calling trunk is reached, emergency calls never; a call let
through carries its budget and per-second cost; every call out planned counts at once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from provd.domain import limits
from provd.domain.limits import Limits, Window, WindowUsage
from provd.domain.rating import Increment, Rate, RateTable
from provd.domain.routing import (
    Budget,
    CallFacts,
    Carrier,
    Carriers,
    Forwarding,
    FromCarrier,
    FromTrunk,
    FromUser,
    Reject,
    Route,
    RoutePlan,
    TenantRouting,
    ToExternal,
    ToUser,
    TrunkRouting,
    UserRouting,
    plan_call,
    plan_to_json,
)
from provd.domain.routing_table import CallRequest, Observed, RoutingTable

AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
AMS = limits.zone_of("Europe/Amsterdam")
MAIN = "+31201234500"
PBX_IP = "192.0.2.10"
CARRIERS = Carriers((Carrier("carrier-a", "192.0.2.1:5060"),))
RATES = RateTable(
    [
        Rate("mobile", Decimal("0.12")),
        Rate("+3190", Decimal("1.20"), setup_fee=Decimal("0.50"), increment=Increment(60, 1)),
    ]
)
TRUNK = TrunkRouting(
    name="hq",
    channels=10,
    networks=(f"{PBX_IP}/32",),
    accounts=("hq-primary",),
    caller_ids=frozenset({MAIN}),
    main_number=MAIN,
)
BASE = TenantRouting(
    slug="acme",
    sip_domain="acme.pbx.test",
    main_number=MAIN,
    users={"2000": UserRouting("2000", name="Alice")},
    numbers={MAIN: ToUser("2000")},
    trunks={"hq": TRUNK},
    rates=RATES,
)


def used(spend: str = "0", calls: int = 0, at: datetime = AT) -> limits.Usage:
    return {
        w: WindowUsage(limits.window_start(w, at, AMS), Decimal(spend), calls)
        for w in limits.WINDOWS
    }


def from_user(dialled: str, tenant: TenantRouting, at: datetime = AT) -> RoutePlan:
    facts = CallFacts(source=FromUser("acme", "2000"), dialled=dialled, at=at)
    return plan_call(facts, tenant, CARRIERS)


def from_trunk(dialled: str, tenant: TenantRouting) -> RoutePlan:
    facts = CallFacts(source=FromTrunk("acme", "hq", PBX_IP), dialled=dialled, at=AT, pai_user=MAIN)
    return plan_call(facts, tenant, CARRIERS)


def test_a_call_out_carries_its_budget_and_cost_per_second() -> None:
    plan = from_user("0612345678", replace(BASE, usage=used("4")))
    assert isinstance(plan, Route)
    assert plan.budget == Budget(
        key="acme",
        remaining=Decimal("6"),
        connect=Decimal("0.0000"),
        per_second=Decimal("0.002"),
    )
    doc = plan_to_json(plan)
    assert doc["credit_key"] == "acme"
    assert doc["credit_max"] == "6.000000"
    assert doc["credit_per_second"] == "0.002000"
    assert doc["credit_connect"] == "0.000000"
    assert (doc["credit_initial_pulse"], doc["credit_final_pulse"]) == ("1", "1")


def test_setup_fee_and_increment_become_cnxccs_connect_cost_and_pulses() -> None:
    plan = from_user("0900123456", BASE)
    assert isinstance(plan, Route) and plan.budget is not None
    assert plan.budget.connect == Decimal("0.50")
    assert plan.budget.per_second == Decimal("0.02")
    assert (plan.budget.initial_pulse, plan.budget.final_pulse) == (60, 1)


def test_spend_limit_reached_refuses_a_call_out() -> None:
    plan = from_user("0612345678", replace(BASE, usage=used("10")))
    assert plan == Reject(403, "Forbidden: spend limit reached (hour)")


def test_the_windows_reset_refused_no_more_the_next_hour() -> None:
    tenant = replace(BASE, usage=used("10"))
    plan = from_user("0612345678", tenant, at=AT + timedelta(hours=1))
    assert isinstance(plan, Route)


def test_call_limit_refuses() -> None:
    tenant = replace(BASE, limits=Limits(calls={Window.HOUR: 3}), usage=used(calls=3))
    assert from_user("0612345678", tenant) == Reject(403, "Forbidden: call limit reached (hour)")


def test_emergency_calls_are_never_refused() -> None:
    tenant = replace(BASE, usage=used("1000", calls=1000), limits=Limits(calls={Window.HOUR: 1}))
    plan = from_user("112", tenant)
    assert isinstance(plan, Route) and plan.kind == "emergency"
    assert plan.budget is None
    trunk_plan = from_trunk("112", tenant)
    assert isinstance(trunk_plan, Route) and trunk_plan.kind == "emergency"


def test_internal_calls_are_not_braked() -> None:
    tenant = replace(
        BASE,
        users={**BASE.users, "2001": UserRouting("2001", name="Bob")},
        usage=used("1000"),
    )
    plan = from_user("2001", tenant)
    assert isinstance(plan, Route) and plan.kind == "internal" and plan.budget is None


def test_a_trunks_own_limit_and_pool() -> None:
    trunk = replace(TRUNK, limits=Limits(spend={Window.HOUR: Decimal("2")}), usage=used("1.5"))
    tenant = replace(BASE, trunks={"hq": trunk})
    plan = from_trunk("+31612345678", tenant)
    assert isinstance(plan, Route) and plan.budget is not None
    assert plan.budget.key == "acme/hq"
    assert plan.budget.remaining == Decimal("0.5")
    assert plan.channels is not None  # the channel limit still applies
    full = replace(tenant, trunks={"hq": replace(trunk, usage=used("2"))})
    assert from_trunk("+31612345678", full) == Reject(403, "Forbidden: spend limit reached (hour)")
    # The tenant's own users are held by the tenant's limits only.
    assert isinstance(from_user("0612345678", full), Route)


def test_the_tenants_limit_holds_its_trunks() -> None:
    tenant = replace(BASE, usage=used("10"))
    assert from_trunk("+31612345678", tenant) == Reject(
        403, "Forbidden: spend limit reached (hour)"
    )


def test_a_call_no_rate_prices_goes_without_a_budget() -> None:
    plan = from_user("0612345678", replace(BASE, rates=RateTable()))
    assert isinstance(plan, Route) and plan.budget is None
    assert "credit_key" not in plan_to_json(plan)


def test_no_spend_limit_no_budget() -> None:
    plan = from_user("0612345678", replace(BASE, limits=Limits(spend={})))
    assert isinstance(plan, Route) and plan.budget is None


def test_a_forward_out_is_refused_at_the_limit_and_has_no_budget() -> None:
    forwarding = Forwarding(always=ToExternal("+31612345678"))
    tenant = replace(BASE, users={"2000": UserRouting("2000", name="Alice", forwarding=forwarding)})
    facts = CallFacts(source=FromCarrier("carrier-a"), dialled=MAIN, at=AT, from_user="+3110")
    plan = plan_call(facts, tenant, CARRIERS)
    assert isinstance(plan, Route) and plan.kind == "outbound" and plan.budget is None
    braked = plan_call(facts, replace(tenant, usage=used("25")), CARRIERS)
    assert braked == Reject(403, "Forbidden: spend limit reached (hour)")


# ---- the routing table counts what it plans ---------------------------------------


def test_every_call_out_planned_counts_at_once_and_the_fourth_is_refused() -> None:
    tenant = replace(BASE, limits=Limits(calls={Window.HOUR: 3}))
    table = RoutingTable([tenant], CARRIERS)
    observed = Observed()
    request = CallRequest(
        "user", "192.0.2.50", "0612345678", domain="acme.pbx.test", extension="2000"
    )
    plans = [table.plan(request, AT, observed) for _ in range(4)]
    assert all(isinstance(p, Route) for p in plans[:3])
    assert plans[3] == Reject(403, "Forbidden: call limit reached (hour)")
    assert observed.meter("acme").usage(AT, AMS)[Window.HOUR].calls == 3
    # Refused and internal calls do not count.
    internal = replace(request, dialled="2000")
    table.plan(internal, AT, observed)
    assert observed.meter("acme").usage(AT, AMS)[Window.HOUR].calls == 3


def test_trunk_calls_count_for_the_trunk_and_the_tenant() -> None:
    table = RoutingTable([BASE], CARRIERS)
    observed = Observed()
    request = CallRequest(
        "trunk",
        PBX_IP,
        "+31612345678",
        domain="acme.pbx.test",
        extension="hq-primary",
        pai_user=MAIN,
    )
    assert isinstance(table.plan(request, AT, observed), Route)
    assert observed.meter("acme").usage(AT, AMS)[Window.DAY].calls == 1
    assert observed.meter("acme", "hq").usage(AT, AMS)[Window.DAY].calls == 1


def test_spend_added_from_records_brakes_the_next_call() -> None:
    table = RoutingTable([BASE], CARRIERS)
    observed = Observed()
    observed.add_spend("acme", None, Decimal("10"), AT, AT, AMS)
    request = CallRequest(
        "user", "192.0.2.50", "0612345678", domain="acme.pbx.test", extension="2000"
    )
    assert table.plan(request, AT, observed) == Reject(403, "Forbidden: spend limit reached (hour)")
