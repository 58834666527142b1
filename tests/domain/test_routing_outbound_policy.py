"""The outbound policy in the routing decision: users, trunks, forwards and groups
going out are refused with 403 and the verdict's reason; emergency calls never are."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from provd.domain import outbound_policy
from provd.domain.outbound_policy import Policy, parse_policy
from provd.domain.routing import (
    BLOCKED_REASON_PREFIX,
    AorTarget,
    CallFacts,
    Carrier,
    Carriers,
    CarrierTarget,
    Forwarding,
    FromCarrier,
    FromTrunk,
    FromUser,
    GroupRouting,
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

AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
MAIN = "+31201234500"
ALICE_NUMBER = "+31201234501"
PBX_IP = "192.0.2.10"
CARRIERS = Carriers((Carrier("carrier-a", "192.0.2.1:5060"), Carrier("carrier-b", "192.0.2.2")))
EVERYTHING = Policy(blocked=frozenset(outbound_policy.Category), prefixes=frozenset({"+999"}))

TRUNK = TrunkRouting(
    name="hq",
    channels=2,
    networks=(f"{PBX_IP}/32",),
    accounts=("hq-primary",),
    caller_ids=frozenset({MAIN}),
    main_number=MAIN,
)
BASE = TenantRouting(
    slug="acme",
    sip_domain="acme.pbx.test",
    main_number=MAIN,
    users={
        "2000": UserRouting("2000", name="Alice", numbers=(ALICE_NUMBER,)),
        "2001": UserRouting("2001", name="Bob"),
    },
    numbers={MAIN: None, ALICE_NUMBER: ToUser("2000")},
    trunks={"hq": TRUNK},
)


def blocked(reason: str) -> Reject:
    return Reject(403, f"Forbidden: destination blocked: {reason}")


def with_policies(
    tenant: Policy = outbound_policy.DEFAULT,
    user: Policy = outbound_policy.DEFAULT,
    trunk: Policy = outbound_policy.DEFAULT,
) -> TenantRouting:
    users = dict(BASE.users)
    users["2000"] = replace(users["2000"], outbound=user)
    return replace(
        BASE, outbound=tenant, users=users, trunks={"hq": replace(TRUNK, outbound=trunk)}
    )


def from_user(t: TenantRouting, dialled: str, ext: str = "2000") -> RoutePlan:
    return plan_call(CallFacts(FromUser(t.slug, ext), dialled, AT), t, CARRIERS)


def from_trunk(t: TenantRouting, dialled: str) -> RoutePlan:
    facts = CallFacts(FromTrunk(t.slug, "hq", PBX_IP), dialled, AT, pai_user=MAIN)
    return plan_call(facts, t, CARRIERS)


def to_carrier(plan: RoutePlan) -> str:
    """The number sent to the carriers."""
    assert isinstance(plan, Route), plan
    targets = {b.target for b in plan.branches}
    assert all(isinstance(t, CarrierTarget) for t in targets)
    users = {b.target.uri.removeprefix("sip:").split("@")[0] for b in plan.branches}
    assert len(users) == 1
    return users.pop()


PREMIUM = parse_policy(["premium"])


@pytest.mark.parametrize("caller", [from_user, from_trunk])
@pytest.mark.parametrize(
    ("tenant", "own", "dialled", "expected"),
    [
        (PREMIUM, outbound_policy.DEFAULT, "0900123456", blocked("premium")),
        (outbound_policy.DEFAULT, PREMIUM, "0900123456", blocked("premium")),
        (PREMIUM, outbound_policy.DEFAULT, "0201234567", "+31201234567"),
        (parse_policy(["mobile"]), PREMIUM, "0612345678", blocked("mobile")),
        (parse_policy(["international"]), outbound_policy.DEFAULT, "0044207", None),
        (
            parse_policy(presets=["benelux"]),
            outbound_policy.DEFAULT,
            "+442071234567",
            blocked("not in whitelist"),
        ),
        (
            parse_policy(presets=["benelux"]),
            parse_policy(presets=["europe"]),
            "003225000000",
            "+3225000000",
        ),
        (
            outbound_policy.DEFAULT,
            outbound_policy.DEFAULT,
            "+870772112345",
            blocked("fraud-prone destination"),
        ),
        (
            parse_policy(prefixes=["+870"]),
            outbound_policy.DEFAULT,
            "+870772112345",
            "+870772112345",
        ),
        (EVERYTHING, EVERYTHING, "112", "+31112"),
        (EVERYTHING, EVERYTHING, "911", "+31911"),
    ],
)
def test_the_tenants_and_the_callers_own_policy_decide_a_call_out(
    caller: object,
    tenant: Policy,
    own: Policy,
    dialled: str,
    expected: Reject | str | None,
) -> None:
    assert caller in (from_user, from_trunk)
    if caller is from_user:
        plan = from_user(with_policies(tenant=tenant, user=own), dialled)
    else:
        plan = from_trunk(with_policies(tenant=tenant, trunk=own), dialled)
    if expected is None:  # an incomplete number: refused as before, whatever the policy
        assert isinstance(plan, Reject) and plan.code == 484
    elif isinstance(expected, Reject):
        assert plan == expected
    else:
        assert to_carrier(plan) == expected


def test_a_users_own_policy_does_not_touch_the_other_users() -> None:
    t = with_policies(user=PREMIUM)
    assert from_user(t, "0900123456", "2000") == blocked("premium")
    assert to_carrier(from_user(t, "0900123456", "2001")) == "+31900123456"


def test_a_trunks_policy_does_not_touch_the_users() -> None:
    t = with_policies(trunk=PREMIUM)
    assert from_trunk(t, "0900123456") == blocked("premium")
    assert to_carrier(from_user(t, "0900123456")) == "+31900123456"


def test_the_policy_is_told_before_a_missing_caller_id() -> None:
    # The more useful reason first: no caller ID would not help against the block.
    t = replace(with_policies(tenant=PREMIUM), main_number=None)
    assert from_user(t, "0900123456", "2001") == blocked("premium")


def test_internal_calls_are_not_the_policys_business() -> None:
    assert isinstance(from_user(with_policies(tenant=EVERYTHING), "2001"), Route)


def test_the_reject_reaches_kamailio_with_its_reason() -> None:
    plan = from_user(with_policies(tenant=PREMIUM), "0900123456")
    assert isinstance(plan, Reject)
    assert plan.reason.startswith(BLOCKED_REASON_PREFIX)
    assert plan_to_json(plan) == {
        "version": "1.0",
        "action": "reject",
        "code": 403,
        "reason": "Forbidden: destination blocked: premium",
    }


# ---- forwards and groups going out ----------------------------------------------


def forwarding_to(number: str, tenant: Policy, own: Policy = outbound_policy.DEFAULT) -> RoutePlan:
    t = with_policies(tenant=tenant)
    users = dict(t.users)
    users["2001"] = replace(
        users["2001"], forwarding=Forwarding(always=ToExternal(number)), outbound=own
    )
    t = replace(t, users=users)
    return from_user(t, "2001")


def test_a_forward_out_is_held_to_the_tenants_policy() -> None:
    assert forwarding_to("+31900123456", PREMIUM) == blocked("premium")
    assert to_carrier(forwarding_to("+31201234567", PREMIUM)) == "+31201234567"
    assert forwarding_to("+870772112345", outbound_policy.DEFAULT) == blocked(
        "fraud-prone destination"
    )


def test_a_forward_out_is_held_to_the_forwarding_users_own_policy() -> None:
    # What the user may not dial, the user's forward may not reach either.
    plan = forwarding_to("+31900123456", outbound_policy.DEFAULT, own=PREMIUM)
    assert plan == blocked("premium")


def test_a_groups_blocked_outside_member_is_passed_over() -> None:
    group = GroupRouting("600", "Sales", "fixed", ("+31900123456", "2000"), ring_s=10)
    t = replace(with_policies(tenant=PREMIUM), groups={"600": group})
    plan = from_user(t, "600", "2001")
    assert isinstance(plan, Route)
    [branch] = plan.branches
    assert isinstance(branch.target, AorTarget)
    assert branch.target.extension == "2000"
    allowed = replace(with_policies(), groups={"600": group})
    assert to_carrier(from_user(allowed, "600", "2001")) == "+31900123456"


def test_an_inbound_call_forwarded_out_is_held_to_the_tenants_policy() -> None:
    t = with_policies(tenant=PREMIUM)
    users = dict(t.users)
    users["2000"] = replace(users["2000"], forwarding=Forwarding(always=ToExternal("+31900123456")))
    t = replace(t, users=users)
    facts = CallFacts(FromCarrier("carrier-a"), ALICE_NUMBER, AT, from_user="+31612345678")
    assert plan_call(facts, t, CARRIERS) == blocked("premium")
