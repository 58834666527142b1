"""IVR menus in the routing decision: a number or extension sends the call to the media
application, and the media application's call back (a key, the default, a dialled
extension) goes where the menu says, with the caller kept."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from datetime import UTC, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provd.domain.routing import (
    ANONYMOUS_URI,
    AorTarget,
    CallFacts,
    Carrier,
    Carriers,
    CarrierTarget,
    Forwarding,
    FromCarrier,
    FromMedia,
    FromUser,
    GroupRouting,
    MediaTarget,
    MenuRouting,
    Reject,
    RelayFailure,
    Route,
    ScheduledRouting,
    ScheduleRouting,
    TenantRouting,
    ToExternal,
    ToGroup,
    ToMenu,
    ToScheduled,
    ToUser,
    ToVoicemail,
    UserRouting,
    plan_call,
    plan_to_json,
)
from provd.domain.routing import (
    Failure as StepFailure,
)
from provd.domain.routing_table import CallRequest, RoutingTable
from provd.domain.schedules import Schedule, WeeklyRule

AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)  # a Monday, 11:30 in Amsterdam
NIGHT = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)
MEDIA = "127.0.0.1:5090"
CARRIERS = Carriers((Carrier("kpn", "192.0.2.1:5060"),))

ACME = TenantRouting(
    slug="acme",
    sip_domain="acme.test",
    main_number="+31201234500",
    users={
        "2000": UserRouting("2000", name="Alice"),
        "2001": UserRouting("2001", name="Bob"),
    },
    groups={"600": GroupRouting("600", "Sales", "simultaneous", ("2000", "2001"))},
    numbers={
        "+31201234500": ToScheduled("Main"),
        "+31201234599": ToMenu("700"),
        "+31201234598": ToMenu("799"),  # no such menu
    },
    menus={
        "700": MenuRouting(
            "700",
            "Day menu",
            keys={"1": ToGroup("600"), "2": ToUser("2001"), "9": ToExternal("+31612345678")},
            default=ToUser("2000"),
        ),
        "701": MenuRouting("701", "Closed", keys={"*": ToUser("2001")}),
    },
    schedules={
        "Office": ScheduleRouting(
            Schedule(
                "Office",
                "Europe/Amsterdam",
                rules=(WeeklyRule(frozenset(range(5)), time(8), time(18)),),
            )
        )
    },
    routes={"Main": ScheduledRouting("Main", "Office", open=ToMenu("700"), closed=ToMenu("701"))},
)


def carrier_call(
    dialled: str, at: datetime = AT, failed: tuple[StepFailure, ...] = ()
) -> CallFacts:
    return CallFacts(FromCarrier("kpn"), dialled, at, from_user="0612345678", failed=failed)


def media_call(dialled: str, **kw: object) -> CallFacts:
    base: dict[str, object] = {
        "from_user": "0612345678",
        "from_display": '"Jan"',
        "pai_user": "+31612345678",
    }
    base.update(kw)
    return CallFacts(FromMedia("acme"), dialled, AT, **base)  # type: ignore[arg-type]


def route_of(plan: object) -> Route:
    assert isinstance(plan, Route), plan
    return plan


def test_a_number_on_a_menu_goes_to_the_media_application() -> None:
    route = route_of(plan_call(carrier_call("0201234599"), ACME, CARRIERS, media=MEDIA))
    [branch] = route.branches
    assert branch.target == MediaTarget("ivr", f"sip:ivr-700@{MEDIA}", f"sip:{MEDIA}")
    assert route.kind == "inbound"
    # The tenant is in To; the caller's number in PAI, as the media app passes it back.
    assert branch.headers.to is not None
    assert branch.headers.to.uri == "sip:ivr-700@acme.test"
    assert branch.headers.added("P-Asserted-Identity") == "<sip:+31612345678@acme.test>"
    assert branch.headers.from_ is not None
    assert branch.headers.from_.uri == "sip:0612345678@acme.test"
    doc = plan_to_json(route)
    assert doc["target"] == "media"
    assert doc["routes"] == [
        {
            "uri": f"sip:ivr-700@{MEDIA}",
            "target": "media",
            "dst_uri": f"sip:{MEDIA}",
            "service": "ivr",
            "headers": {
                "from": {"display": "", "uri": "sip:0612345678@acme.test"},
                "to": {"display": "", "uri": "sip:ivr-700@acme.test"},
                "extra": "P-Asserted-Identity: <sip:+31612345678@acme.test>\r\n",
            },
            "remove_headers": list(branch.headers.remove),
            "fr_timer": 5000,
            "fr_inv_timer": 5000,
            "on_failure": {"action": "stop"},
        }
    ]


def test_a_menu_that_does_not_answer_relays_its_failure() -> None:
    facts = carrier_call("0201234599", failed=(StepFailure(503),))
    assert plan_call(facts, ACME, CARRIERS, media=MEDIA) == RelayFailure()


def test_without_the_media_application_a_menu_is_unavailable() -> None:
    plan = plan_call(carrier_call("0201234599"), ACME, CARRIERS)
    assert plan == Reject(503, "Service Unavailable: no media service")


def test_a_number_on_a_missing_menu_is_not_in_use() -> None:
    plan = plan_call(carrier_call("0201234598"), ACME, CARRIERS, media=MEDIA)
    assert plan == Reject(404, "Number not in use")


def test_the_schedule_chooses_the_day_or_the_after_hours_menu() -> None:
    day = route_of(plan_call(carrier_call("0201234500"), ACME, CARRIERS, media=MEDIA))
    night = route_of(plan_call(carrier_call("0201234500", NIGHT), ACME, CARRIERS, media=MEDIA))
    assert day.branches[0].target.uri == f"sip:ivr-700@{MEDIA}"
    assert night.branches[0].target.uri == f"sip:ivr-701@{MEDIA}"


def test_a_user_dials_a_menu_by_its_extension() -> None:
    facts = CallFacts(FromUser("acme", "2000"), "700", AT)
    route = route_of(plan_call(facts, ACME, CARRIERS, media=MEDIA))
    assert route.kind == "internal"
    assert route.branches[0].target.uri == f"sip:ivr-700@{MEDIA}"
    # An internal caller has no number to put in PAI.
    assert route.branches[0].headers.added("P-Asserted-Identity") is None


@pytest.mark.parametrize(
    ("dialled", "expected"),
    [
        ("ivr-700-2", AorTarget("2001", "sip:2001@acme.test")),
        ("ivr-700-default", AorTarget("2000", "sip:2000@acme.test")),
        ("ivr-701-star", AorTarget("2001", "sip:2001@acme.test")),
        ("2001", AorTarget("2001", "sip:2001@acme.test")),
    ],
)
def test_the_media_application_calls_back_where_the_menu_says(
    dialled: str, expected: AorTarget
) -> None:
    route = route_of(plan_call(media_call(dialled), ACME, CARRIERS, media=MEDIA))
    assert route.branches[0].target == expected
    assert route.kind == "inbound"
    # The callee sees the original caller, in the tenant's notation.
    assert route.caller_id.number == "+31612345678"
    assert route.caller_id.shown == "0612345678"
    assert route.branches[0].headers.from_ is not None
    assert route.branches[0].headers.from_.display == "Jan"


def test_a_key_on_a_group_rings_the_group() -> None:
    route = route_of(plan_call(media_call("ivr-700-1"), ACME, CARRIERS, media=MEDIA))
    assert route.group == "600"
    assert {b.target.uri for b in route.branches} == {"sip:2000@acme.test", "sip:2001@acme.test"}


def test_a_key_on_an_outside_number_leaves_through_the_carrier() -> None:
    route = route_of(plan_call(media_call("ivr-700-9"), ACME, CARRIERS, media=MEDIA))
    [branch] = route.branches
    assert isinstance(branch.target, CarrierTarget)
    assert branch.target.uri.startswith("sip:+31612345678@")


@pytest.mark.parametrize(
    ("dialled", "expected"),
    [
        ("ivr-700-3", Reject(404, "Not Found: nothing set for this menu key")),
        ("ivr-701-default", Reject(404, "Not Found: nothing set for this menu key")),
        ("ivr-799-1", Reject(404, "Number not in use")),
        ("2999", Reject(404, "Extension not found")),
        # Digits dialled in a menu are the tenant's extensions only: never out.
        ("112", Reject(404, "Extension not found")),
        ("0612345678", Reject(404, "Extension not found")),
        ("ivr-700", Reject(404, "Extension not found")),
        ("", Reject(404, "Extension not found")),
    ],
)
def test_a_call_back_naming_nothing_is_refused(dialled: str, expected: Reject) -> None:
    assert plan_call(media_call(dialled), ACME, CARRIERS, media=MEDIA) == expected


def test_an_anonymous_caller_stays_anonymous_after_the_menu() -> None:
    facts = media_call("ivr-700-2", from_user="anonymous", from_display="Anonymous", pai_user=None)
    route = route_of(plan_call(facts, ACME, CARRIERS, media=MEDIA))
    assert route.caller_id.hidden
    assert route.branches[0].headers.from_ is not None
    assert route.branches[0].headers.from_.uri == ANONYMOUS_URI
    hidden = media_call("ivr-700-2", privacy="id")
    assert route_of(plan_call(hidden, ACME, CARRIERS, media=MEDIA)).caller_id.hidden


def test_a_colleague_who_dialled_the_menu_stays_internal() -> None:
    facts = media_call("ivr-700-2", from_user="2000", from_display="Alice", pai_user=None)
    route = route_of(plan_call(facts, ACME, CARRIERS, media=MEDIA))
    assert route.kind == "internal"
    assert route.caller_id.shown == "2000"
    assert route.caller_id.number is None


def test_a_call_back_is_planned_with_its_own_tenant() -> None:
    other = TenantRouting(slug="globex", sip_domain="globex.test")
    with pytest.raises(ValueError, match="media application"):
        plan_call(media_call("2001"), other, CARRIERS, media=MEDIA)


def test_a_menu_key_that_loops_back_into_a_menu_is_played_again() -> None:
    looping = TenantRouting(
        slug="acme",
        sip_domain="acme.test",
        menus={"700": MenuRouting("700", keys={"0": ToMenu("700")})},
    )
    route = route_of(plan_call(media_call("ivr-700-0"), looping, CARRIERS, media=MEDIA))
    assert route.branches[0].target.uri == f"sip:ivr-700@{MEDIA}"


@given(st.text(max_size=30))
def test_whatever_the_media_application_sends_gives_a_plan(dialled: str) -> None:
    plan = plan_call(media_call(dialled), ACME, CARRIERS, media=MEDIA)
    assert isinstance(plan, Route | Reject)
    if isinstance(plan, Route):
        plan_to_json(plan)  # every plan is one Kamailio can be sent


def test_the_table_takes_the_tenant_of_a_call_back_from_its_request_uri_domain() -> None:
    table = RoutingTable([ACME], CARRIERS, media=MEDIA)
    request = CallRequest(
        "media",
        "127.0.0.1",
        "ivr-700-2",
        domain="acme.test",
        from_user="0612345678",
        pai_user="+31612345678",
    )
    route = route_of(table.plan(request, AT))
    assert route.branches[0].target == AorTarget("2001", "sip:2001@acme.test")
    # Kamailio says "media" only for the media application's address: the same
    # request from anywhere else is nobody's.
    assert table.plan(replace(request, source="peer"), AT) == Reject(
        403, "Forbidden: calls from outside come only through a carrier"
    )
    assert table.plan(replace(request, domain="nowhere.test"), AT) == Reject(
        403, "Forbidden: unknown tenant or trunk"
    )
    # And the table gives plan_call the media application's address.
    inbound = CallRequest("peer", "192.0.2.1", "0201234599", from_user="0612345678")
    carriers_table = RoutingTable(
        [ACME], CARRIERS, {"kpn": [ipaddress.ip_network("192.0.2.1/32")]}, media=MEDIA
    )
    assert route_of(carriers_table.plan(inbound, AT)).branches[0].target.uri == (
        f"sip:ivr-700@{MEDIA}"
    )


def test_a_forward_to_voicemail_goes_to_the_media_application_with_the_diversion() -> None:
    users = dict(ACME.users)
    users["2001"] = UserRouting("2001", name="Bob", forwarding=Forwarding(busy=ToVoicemail("2001")))
    acme = replace(ACME, users=users)
    facts = CallFacts(FromUser("acme", "2000"), "2001", AT, failed=(StepFailure(486),))
    route = route_of(plan_call(facts, acme, CARRIERS, media=MEDIA))
    [branch] = route.branches
    assert branch.target == MediaTarget("voicemail", f"sip:vm-2001@{MEDIA}", f"sip:{MEDIA}")
    assert branch.headers.to is not None
    assert branch.headers.to.uri == "sip:vm-2001@acme.test"
    assert branch.headers.added("Diversion") == "<sip:2001@acme.test>;reason=user-busy"
    assert plan_to_json(route)["target"] == "media"


def test_a_mailbox_needs_its_user_and_the_media_application() -> None:
    acme = replace(ACME, numbers={**ACME.numbers, "+31201234597": ToVoicemail("2999")})
    plan = plan_call(carrier_call("0201234597"), acme, CARRIERS, media=MEDIA)
    assert plan == Reject(404, "Number not in use")
    acme = replace(ACME, numbers={**ACME.numbers, "+31201234597": ToVoicemail("2001")})
    assert plan_call(carrier_call("0201234597"), acme, CARRIERS) == Reject(
        503, "Service Unavailable: no media service"
    )
    route = route_of(plan_call(carrier_call("0201234597"), acme, CARRIERS, media=MEDIA))
    assert route.branches[0].target.uri == f"sip:vm-2001@{MEDIA}"
    # Straight to a mailbox: nobody diverted it.
    assert route.branches[0].headers.added("Diversion") is None
