"""Call handling in the routing decision: forwarding, do-not-disturb, hunt groups and
incoming blocks, step by step. Each step is planned from the call's facts plus how the
earlier steps failed (``CallFacts.failed``), as Kamailio asks after each failure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from provd.domain import schedules
from provd.domain.routing import (
    MAX_FORWARDS,
    AorTarget,
    Block,
    CallFacts,
    Carrier,
    Carriers,
    CarrierTarget,
    Failure,
    Forwarding,
    FromCarrier,
    FromUser,
    GroupRouting,
    Reject,
    RelayFailure,
    Route,
    RoutePlan,
    ScheduledRouting,
    ScheduleRouting,
    TenantRouting,
    ToExternal,
    ToGroup,
    ToScheduled,
    ToUser,
    UserRouting,
    plan_call,
    plan_to_json,
)

AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
CARRIERS = Carriers((Carrier("carrier-a", "192.0.2.1:5060"),))
BUSY = Failure(486)
NO_ANSWER = Failure(408, timeout=True)
DECLINED = Failure(603)
UNREGISTERED = Failure(480, unregistered=True)
MAIN = "+31201234500"


def tenant(
    users: dict[str, UserRouting] | None = None,
    groups: dict[str, GroupRouting] | None = None,
    blocks: tuple[Block, ...] = (),
) -> TenantRouting:
    users = users or {}
    return TenantRouting(
        slug="acme",
        sip_domain="acme.test",
        main_number=MAIN,
        users={"2000": UserRouting("2000", name="Alice", numbers=("+31201234501",)), **users},
        groups=groups or {},
        numbers={
            MAIN: ToGroup("600") if groups and "600" in groups else None,
            "+31201234501": ToUser("2000"),
            "+31201234502": ToUser("2001"),
        },
        blocks=blocks,
    )


def internal(t: TenantRouting, dialled: str, *failed: Failure, caller: str = "2000") -> RoutePlan:
    return plan_call(CallFacts(FromUser("acme", caller), dialled, AT, failed=failed), t, CARRIERS)


def inbound(
    t: TenantRouting, number: str, *failed: Failure, caller: str = "0612345678", **kw: str
) -> RoutePlan:
    facts = CallFacts(FromCarrier("carrier-a"), number, AT, from_user=caller, failed=failed, **kw)
    return plan_call(facts, t, CARRIERS)


def rings(plan: RoutePlan) -> list[str]:
    """Who a plan rings: extensions for phones, numbers for the carriers."""
    assert isinstance(plan, Route), plan
    out = []
    for b in plan.branches:
        if isinstance(b.target, AorTarget):
            out.append(b.target.extension)
        else:
            assert isinstance(b.target, CarrierTarget)
            out.append(b.target.uri.removeprefix("sip:").split("@")[0])
    return sorted(set(out)) if plan.mode == "parallel" else list(dict.fromkeys(out))


def header(plan: RoutePlan, name: str) -> str | None:
    assert isinstance(plan, Route)
    return plan.branches[0].headers.added(name)


# ---- forwarding ---------------------------------------------------------------------

BOB = "2001"


def bob(**fwd: object) -> dict[str, UserRouting]:
    return {BOB: UserRouting(BOB, name="Bob", forwarding=Forwarding(**fwd))}  # type: ignore[arg-type]


def test_a_user_without_forwarding_rings_and_the_failure_is_the_callers() -> None:
    t = tenant(bob())
    assert rings(internal(t, BOB)) == [BOB]
    assert internal(t, BOB, BUSY) == RelayFailure()
    assert internal(t, BOB, NO_ANSWER) == RelayFailure()
    assert internal(t, BOB, UNREGISTERED) == Reject(480, "Temporarily Unavailable")


@pytest.mark.parametrize(
    ("failure", "expected", "reason"),
    [
        (BUSY, "2002", "user-busy"),
        (Failure(600), "2002", "user-busy"),
        (NO_ANSWER, "2003", "no-answer"),
        (Failure(480), "2003", "no-answer"),
        (UNREGISTERED, "2004", "unavailable"),
    ],
)
def test_each_forward_follows_its_own_failure(failure: Failure, expected: str, reason: str) -> None:
    users = {
        **bob(busy=ToUser("2002"), no_answer=ToUser("2003"), unreachable=ToUser("2004")),
        **{e: UserRouting(e) for e in ("2002", "2003", "2004")},
    }
    t = tenant(users)
    plan = internal(t, BOB, failure)
    assert rings(plan) == [expected]
    assert header(plan, "Diversion") == f"<sip:{BOB}@acme.test>;reason={reason}"


def test_a_decline_is_not_forwarded() -> None:
    t = tenant({**bob(busy=ToUser("2000"), no_answer=ToUser("2000"))})
    assert internal(t, BOB, DECLINED) == RelayFailure()


def test_no_answer_rings_for_the_users_seconds() -> None:
    t = tenant({**bob(no_answer=ToUser("2000"), no_answer_after_s=7)})
    plan = internal(t, BOB, caller="2000")
    assert isinstance(plan, Route)
    assert plan.branches[0].ring_timeout_ms == 7000
    assert plan.more is True
    # Without a no-answer forward it rings for the tenant's ring time.
    plain = internal(tenant(bob()), BOB)
    assert isinstance(plain, Route) and plain.branches[0].ring_timeout_ms == 60_000


def test_unconditional_forward_rings_the_target_without_ringing_the_user() -> None:
    t = tenant({**bob(always=ToUser("2002")), "2002": UserRouting("2002")})
    plan = internal(t, BOB)
    assert rings(plan) == ["2002"]
    assert header(plan, "Diversion") == f"<sip:{BOB}@acme.test>;reason=unconditional"


def test_a_forward_to_an_outside_number_leaves_with_the_users_number_and_diversion() -> None:
    users = {
        BOB: UserRouting(
            BOB,
            numbers=("+31201234502",),
            forwarding=Forwarding(no_answer=ToExternal("+31612345678")),
        )
    }
    t = tenant(users)
    plan = inbound(t, "0201234502", NO_ANSWER, caller="0687654321")
    assert rings(plan) == ["+31612345678"]
    assert header(plan, "P-Asserted-Identity") == "<sip:+31201234502@acme.test>"
    assert header(plan, "Diversion") == "<sip:+31201234502@acme.test>;reason=no-answer"
    assert isinstance(plan, Route)
    # The original caller's number is kept in From where there is one.
    from_ = plan.branches[0].headers.from_
    assert from_ is not None and from_.uri == "sip:+31687654321@acme.test"
    assert plan.more is False  # a failure out there is the caller's
    assert inbound(t, "0201234502", NO_ANSWER, BUSY) == RelayFailure()


def test_a_forward_out_needs_a_number_the_tenant_owns() -> None:
    t = TenantRouting(
        slug="acme",
        sip_domain="acme.test",
        users={
            "2000": UserRouting("2000"),
            BOB: UserRouting(BOB, forwarding=Forwarding(always=ToExternal("+31612345678"))),
        },
    )
    assert internal(t, BOB) == Reject(
        403, "Forbidden: no number to forward out with (user or main number)"
    )


def test_a_forward_loop_is_cut_with_482() -> None:
    users = {
        "2001": UserRouting("2001", forwarding=Forwarding(always=ToUser("2002"))),
        "2002": UserRouting("2002", forwarding=Forwarding(always=ToUser("2001"))),
    }
    assert internal(tenant(users), "2001") == Reject(482, "Loop Detected: forwarding goes round")
    # A busy-forward back to where the call started is cut when replayed too.
    users = {
        "2001": UserRouting("2001", forwarding=Forwarding(busy=ToUser("2002"))),
        "2002": UserRouting("2002", forwarding=Forwarding(busy=ToUser("2001"))),
    }
    t = tenant(users)
    assert rings(internal(t, "2001", BUSY)) == ["2002"]
    assert rings(internal(t, "2001", BUSY, BUSY)) == ["2001"]
    history = (BUSY,) * (MAX_FORWARDS + 1)
    assert internal(t, "2001", *history) == Reject(482, "Loop Detected: forwarding goes round")


def test_a_long_chain_is_cut_after_max_forwards() -> None:
    chain = {
        f"30{i}": UserRouting(f"30{i}", forwarding=Forwarding(always=ToUser(f"30{i + 1}")))
        for i in range(MAX_FORWARDS + 2)
    }
    plan = internal(tenant(chain), "300")
    assert plan == Reject(482, "Loop Detected: forwarding goes round")


# ---- do-not-disturb -----------------------------------------------------------------


def test_do_not_disturb_is_busy_without_ringing() -> None:
    t = tenant({BOB: UserRouting(BOB, dnd=True)})
    assert internal(t, BOB) == Reject(486, "Busy Here: do not disturb")
    t = tenant({BOB: UserRouting(BOB, dnd=True, forwarding=Forwarding(busy=ToUser("2000")))})
    assert rings(internal(t, BOB, caller="2000")) == ["2000"]


# ---- incoming blocks ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "caller", "privacy", "blocked"),
    [
        (Block(anonymous=True), "", None, True),
        (Block(anonymous=True), "0612345678", "id", True),
        (Block(anonymous=True), "0612345678", None, False),
        (Block(prefix="+31900"), "0900123456", None, True),
        (Block(prefix="+31900"), "0612345678", None, False),
        (Block(prefix="+31612345678"), "0031612345678", None, True),
    ],
)
def test_incoming_blocks_refuse_with_603(
    block: Block, caller: str, privacy: str | None, blocked: bool
) -> None:
    kw = {"privacy": privacy} if privacy else {}
    t = tenant(blocks=(block,))
    plan = inbound(t, "0201234501", caller=caller, **kw)
    assert (plan == Reject(603, "Declined: the caller is blocked")) is blocked
    # Per user: only that user's calls.
    per_user = tenant({BOB: UserRouting(BOB, blocks=(block,))})
    assert (
        inbound(per_user, "0201234502", caller=caller, **kw)
        == Reject(603, "Declined: the caller is blocked")
    ) is blocked
    assert isinstance(inbound(per_user, "0201234501", caller=caller, **kw), Route)


def test_blocks_are_about_calls_from_outside() -> None:
    t = tenant({BOB: UserRouting(BOB, blocks=(Block(anonymous=True),))})
    assert rings(internal(t, BOB)) == [BOB]


# ---- hunt groups --------------------------------------------------------------------

MEMBERS = ("2001", "2002", "2003")


def group(policy: str, **kw: object) -> dict[str, GroupRouting]:
    users = kw.pop("members", MEMBERS)
    return {"600": GroupRouting("600", "Sales", policy, users, **kw)}  # type: ignore[arg-type]


def members() -> dict[str, UserRouting]:
    return {m: UserRouting(m, name=f"User {m}") for m in MEMBERS}


def test_simultaneous_rings_every_member_at_once_then_overflows() -> None:
    t = tenant(members(), group("simultaneous", total_wait_s=30, overflow=ToUser("2000")))
    plan = inbound(t, MAIN)
    assert isinstance(plan, Route)
    assert plan.mode == "parallel" and rings(plan) == list(MEMBERS)
    assert all(b.ring_timeout_ms == 30_000 for b in plan.branches)
    assert plan.group == "600" and plan.member is None
    # The member's phone shows the group's name before the caller.
    assert all(
        b.headers.from_ and b.headers.from_.display == "Sales: 0612345678" for b in plan.branches
    )
    assert rings(inbound(t, MAIN, NO_ANSWER)) == ["2000"]
    assert rings(inbound(t, MAIN, BUSY)) == ["2000"]


def test_fixed_order_rings_one_member_after_the_other_then_the_overflow() -> None:
    t = tenant(members(), group("fixed", ring_s=10, overflow=ToExternal("+31612345678")))
    steps = [inbound(t, MAIN, *([NO_ANSWER] * i)) for i in range(5)]
    assert [rings(s) for s in steps[:3]] == [["2001"], ["2002"], ["2003"]]
    assert all(isinstance(s, Route) and s.member == m for s, m in zip(steps, MEMBERS, strict=False))
    assert all(isinstance(s, Route) and s.branches[0].ring_timeout_ms == 10_000 for s in steps[:3])
    assert rings(steps[3]) == ["+31612345678"]
    assert steps[4] == RelayFailure()


def test_a_busy_member_is_skipped_like_one_that_does_not_answer() -> None:
    t = tenant(members(), group("fixed"))
    assert rings(inbound(t, MAIN, BUSY)) == ["2002"]
    assert rings(inbound(t, MAIN, UNREGISTERED, BUSY)) == ["2003"]


def test_members_on_do_not_disturb_are_not_rung() -> None:
    users = members()
    users["2002"] = UserRouting("2002", dnd=True)
    t = tenant(users, group("fixed"))
    assert rings(inbound(t, MAIN, NO_ANSWER)) == ["2003"]
    t = tenant(users, group("simultaneous"))
    assert rings(inbound(t, MAIN)) == ["2001", "2003"]


def test_circular_starts_after_the_last_member_that_answered() -> None:
    t = tenant(members(), group("circular", last_answered="2002"))
    assert [rings(inbound(t, MAIN, *([NO_ANSWER] * i))) for i in range(3)] == [
        ["2003"],
        ["2001"],
        ["2002"],
    ]
    # A last answerer who left the group: from the top.
    t = tenant(members(), group("circular", last_answered="2999"))
    assert rings(inbound(t, MAIN)) == ["2001"]


def test_longest_idle_rings_the_member_idle_longest_first() -> None:
    idle = {"2001": AT - timedelta(minutes=1), "2003": AT - timedelta(hours=2)}
    t = tenant(members(), group("longest_idle", idle_since=idle))
    # 2002 never had a call: idle longest.
    assert [rings(inbound(t, MAIN, *([NO_ANSWER] * i))) for i in range(3)] == [
        ["2002"],
        ["2003"],
        ["2001"],
    ]


def test_the_total_wait_limits_how_many_members_ring() -> None:
    t = tenant(members(), group("fixed", ring_s=15, total_wait_s=30, overflow=ToUser("2000")))
    assert rings(inbound(t, MAIN, NO_ANSWER)) == ["2002"]
    assert rings(inbound(t, MAIN, NO_ANSWER, NO_ANSWER)) == ["2000"]


def test_a_group_with_nobody_to_ring_goes_to_its_overflow_at_once() -> None:
    users = {m: UserRouting(m, dnd=True) for m in MEMBERS}
    t = tenant(users, group("fixed", overflow=ToUser("2000")))
    assert rings(inbound(t, MAIN)) == ["2000"]
    t = tenant(users, group("simultaneous"))
    assert inbound(t, MAIN) == Reject(480, "Temporarily Unavailable: nobody in the group answered")


def test_an_outside_member_rings_through_the_carriers() -> None:
    t = tenant(members(), group("fixed", members=("2001", "+31612345678")))
    plan = inbound(t, MAIN, NO_ANSWER)
    assert rings(plan) == ["+31612345678"]
    assert isinstance(plan, Route) and plan.member == "+31612345678"
    assert header(plan, "P-Asserted-Identity") == f"<sip:{MAIN}@acme.test>"


def test_a_group_is_dialled_by_its_extension_and_overflows_into_another() -> None:
    groups = {
        **group("fixed", overflow=ToGroup("601")),
        "601": GroupRouting("601", "Support", "simultaneous", ("2000",)),
    }
    t = tenant(members(), groups)
    assert rings(internal(t, "600", caller="2000")) == ["2001"]
    plan = internal(t, "600", NO_ANSWER, NO_ANSWER, NO_ANSWER, caller="2000")
    assert rings(plan) == ["2000"]
    assert isinstance(plan, Route) and plan.group == "601"


def test_the_plan_document_says_when_to_ask_again() -> None:
    t = tenant(members(), group("fixed"))
    doc = plan_to_json(inbound(t, MAIN))
    assert doc["more"] == 1 and doc["group"] == "600" and doc["member"] == "2001"
    doc = plan_to_json(inbound(tenant(members(), group("simultaneous")), MAIN))
    assert doc["routing"] == "parallel" and "next_status" not in doc
    assert plan_to_json(RelayFailure()) == {"version": "1.0", "action": "relay"}


# ---- schedules: number plans and the night switch ------------------------------------

WEEKDAYS = schedules.Schedule(
    "office",
    "Europe/Amsterdam",
    rules=(schedules.parse_rule("mon-fri 08:00-17:00"),),
    holidays=(schedules.parse_holiday("2026-12-25..2026-12-26"),),
)
MONDAY_MORNING = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam
MONDAY_NIGHT = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
CHRISTMAS = datetime(2026, 12, 25, 10, 0, tzinfo=UTC)


def planned(
    override: schedules.Override | None = None, holiday: ToUser | None = None
) -> TenantRouting:
    route = ScheduledRouting("main", "office", ToUser("2001"), ToExternal("+31612345678"), holiday)
    t = tenant({BOB: UserRouting(BOB)})
    return replace(
        t,
        numbers={**t.numbers, MAIN: ToScheduled("main")},
        schedules={"office": ScheduleRouting(WEEKDAYS, override)},
        routes={"main": route},
    )


def at(t: TenantRouting, when: datetime, *failed: Failure) -> RoutePlan:
    facts = CallFacts(FromCarrier("carrier-a"), MAIN, when, from_user="0612345678", failed=failed)
    return plan_call(facts, t, CARRIERS)


def test_a_number_plan_follows_its_schedule() -> None:
    t = planned()
    assert rings(at(t, MONDAY_MORNING)) == [BOB]
    assert rings(at(t, MONDAY_NIGHT)) == ["+31612345678"]
    # A holiday without its own destination takes the closed one.
    assert rings(at(t, CHRISTMAS)) == ["+31612345678"]
    assert rings(at(planned(holiday=ToUser("2000")), CHRISTMAS)) == ["2000"]


def test_the_night_switch_overrides_the_week_and_the_holidays() -> None:
    closed = schedules.Override("closed")
    assert rings(at(planned(closed), MONDAY_MORNING)) == ["+31612345678"]
    opened = schedules.Override("open", until=datetime(2026, 12, 25, 12, 0, tzinfo=UTC))
    assert rings(at(planned(opened), CHRISTMAS)) == [BOB]
    # Past its end time the switch is automatic again.
    assert rings(at(planned(opened), CHRISTMAS + timedelta(hours=3))) == ["+31612345678"]


def test_a_closed_state_without_destination_is_refused_plainly() -> None:
    t = planned()
    t = replace(t, routes={"main": ScheduledRouting("main", "office", ToUser(BOB), None)})
    assert at(t, MONDAY_NIGHT) == Reject(480, "Temporarily Unavailable: closed")
    assert rings(at(t, MONDAY_MORNING)) == [BOB]


def test_a_block_can_hold_only_while_the_schedule_is_closed() -> None:
    block = Block(anonymous=True, when=("office", "closed"))
    t = replace(planned(), blocks=(block,))
    anonymous = CallFacts(FromCarrier("carrier-a"), MAIN, MONDAY_NIGHT, privacy="id")
    assert plan_call(anonymous, t, CARRIERS) == Reject(603, "Declined: the caller is blocked")
    daytime = replace(anonymous, at=MONDAY_MORNING)
    assert rings(plan_call(daytime, t, CARRIERS)) == [BOB]


def test_an_inbound_call_sent_outside_asserts_the_number_it_came_in_on() -> None:
    t = replace(planned(), main_number=None)
    plan = at(t, MONDAY_NIGHT)
    assert rings(plan) == ["+31612345678"]
    assert header(plan, "P-Asserted-Identity") == f"<sip:{MAIN}@acme.test>"
