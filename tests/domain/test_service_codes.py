"""Service codes as dialled: what each one is, and what is not one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from provd.domain.routing import (
    CallFacts,
    Carriers,
    Failure,
    FromUser,
    Reject,
    Route,
    Service,
    TenantRouting,
    UserRouting,
    plan_call,
    plan_to_json,
)
from provd.domain.service_codes import (
    CODES,
    ClearForward,
    FlipNightSwitch,
    SetDnd,
    SetForward,
    parse,
)


@pytest.mark.parametrize(
    ("dialled", "code"),
    [
        ("*21*0612345678#", SetForward("always", "0612345678")),
        ("*21*201#", SetForward("always", "201")),
        ("*21*+31612345678", SetForward("always", "+31612345678")),
        ("*67*202#", SetForward("busy", "202")),
        ("*61*0612345678#", SetForward("no-answer", "0612345678")),
        ("*62*203#", SetForward("unreachable", "203")),
        ("#21#", ClearForward("always")),
        ("#67#", ClearForward("busy")),
        ("#61#", ClearForward("no-answer")),
        ("#62#", ClearForward("unreachable")),
        ("#002#", ClearForward("all")),
        ("*78", SetDnd(True)),
        ("*79", SetDnd(False)),
        ("*915", FlipNightSwitch(1)),
        ("*915*2#", FlipNightSwitch(2)),
        (" *915 ", FlipNightSwitch(1)),
    ],
)
def test_each_code(dialled: str, code: object) -> None:
    assert parse(dialled) == code


@pytest.mark.parametrize(
    "dialled",
    [
        "",
        "201",
        "0612345678",
        "#31#0612345678",
        "#31#",
        "*21*",
        "*21*abc#",
        "*22*201#",
        "*9150",
        "*915*0#",
        "*78*",
        "##21#",
        "*21*0612345678#extra",
    ],
)
def test_what_is_not_a_code(dialled: str) -> None:
    assert parse(dialled) is None


def test_every_code_is_listed_for_the_users() -> None:
    listed = " ".join(c.code for c in CODES)
    for code in ("*21*", "*67*", "*61*", "*62*", "#21#", "#002#", "*78", "*79", "*915"):
        assert code in listed


TENANT = TenantRouting(slug="acme", sip_domain="acme.test", users={"201": UserRouting("201")})
AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_the_routing_decision_hands_a_code_to_provd_never_to_kamailio() -> None:
    plan = plan_call(CallFacts(FromUser("acme", "201"), "%2321%23", AT), TENANT, Carriers())
    assert plan == Service(ClearForward("always"), "acme", "201")
    with pytest.raises(ValueError, match="never sent to Kamailio"):
        plan_to_json(plan)
    # #31# is a prefix that hides the number, not a code.
    plan = plan_call(CallFacts(FromUser("acme", "201"), "#31#201", AT), TENANT, Carriers())
    assert isinstance(plan, Route)
    # A code is never a step after a failure.
    facts = CallFacts(FromUser("acme", "201"), "*78", AT, failed=(Failure(486),))
    assert isinstance(plan_call(facts, TENANT, Carriers()), Reject)
