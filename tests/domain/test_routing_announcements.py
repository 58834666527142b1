"""Announcements in the routing decision: a number, an extension, a forward or a menu key
sends the call to the media application as ``ann-<extension>``."""

from __future__ import annotations

from dataclasses import replace

from provd.domain.routing import (
    ANNOUNCEMENT_PREFIX,
    CallFacts,
    Forwarding,
    FromUser,
    MediaTarget,
    MenuRouting,
    Reject,
    ToAnnouncement,
    UserRouting,
    plan_call,
    plan_to_json,
)
from provd.domain.routing import Failure as StepFailure
from tests.domain.test_routing_menus import (
    ACME,
    AT,
    CARRIERS,
    MEDIA,
    carrier_call,
    media_call,
    route_of,
)

WITH_ANNOUNCEMENT = replace(
    ACME,
    announcements=frozenset({"800"}),
    numbers={
        **ACME.numbers,
        "+31201234580": ToAnnouncement("800"),
        "+31201234581": ToAnnouncement("899"),  # no such announcement
    },
)


def test_the_request_user_names_the_announcement() -> None:
    assert ANNOUNCEMENT_PREFIX == "ann-"


def test_a_number_on_an_announcement_goes_to_the_media_application() -> None:
    plan = plan_call(carrier_call("0201234580"), WITH_ANNOUNCEMENT, CARRIERS, media=MEDIA)
    route = route_of(plan)
    [branch] = route.branches
    assert branch.target == MediaTarget("announcement", f"sip:ann-800@{MEDIA}", f"sip:{MEDIA}")
    assert branch.headers.to is not None
    assert branch.headers.to.uri == "sip:ann-800@acme.test"
    assert route.kind == "inbound"
    doc = plan_to_json(route)
    assert doc["target"] == "media"
    assert doc["routes"][0]["service"] == "announcement"  # type: ignore[index]


def test_an_announcement_needs_to_exist_and_the_media_application() -> None:
    assert plan_call(
        carrier_call("0201234581"), WITH_ANNOUNCEMENT, CARRIERS, media=MEDIA
    ) == Reject(404, "Number not in use")
    assert plan_call(carrier_call("0201234580"), WITH_ANNOUNCEMENT, CARRIERS) == Reject(
        503, "Service Unavailable: no media service"
    )


def test_a_user_who_dials_its_extension_reaches_it() -> None:
    facts = CallFacts(FromUser("acme", "2000"), "800", AT)
    route = route_of(plan_call(facts, WITH_ANNOUNCEMENT, CARRIERS, media=MEDIA))
    assert route.kind == "internal"
    assert route.branches[0].target.uri == f"sip:ann-800@{MEDIA}"


def test_an_extension_that_is_no_announcement_is_not_one() -> None:
    facts = CallFacts(FromUser("acme", "2000"), "801", AT)
    assert plan_call(facts, WITH_ANNOUNCEMENT, CARRIERS, media=MEDIA) == Reject(
        404, "Extension not found"
    )


def test_a_forward_to_an_announcement_carries_the_diversion() -> None:
    users = dict(WITH_ANNOUNCEMENT.users)
    users["2001"] = UserRouting(
        "2001", name="Bob", forwarding=Forwarding(busy=ToAnnouncement("800"))
    )
    acme = replace(WITH_ANNOUNCEMENT, users=users)
    facts = CallFacts(FromUser("acme", "2000"), "2001", AT, failed=(StepFailure(486),))
    [branch] = route_of(plan_call(facts, acme, CARRIERS, media=MEDIA)).branches
    assert branch.target.uri == f"sip:ann-800@{MEDIA}"
    assert branch.headers.added("Diversion") == "<sip:2001@acme.test>;reason=user-busy"


def test_a_menu_key_and_a_number_dialled_in_a_menu_reach_it() -> None:
    menus = dict(WITH_ANNOUNCEMENT.menus)
    menus["700"] = replace(menus["700"], keys={**menus["700"].keys, "5": ToAnnouncement("800")})
    acme = replace(WITH_ANNOUNCEMENT, menus=menus)
    by_key = route_of(plan_call(media_call("ivr-700-5"), acme, CARRIERS, media=MEDIA))
    assert by_key.branches[0].target.uri == f"sip:ann-800@{MEDIA}"
    dialled = route_of(plan_call(media_call("800"), acme, CARRIERS, media=MEDIA))
    assert dialled.branches[0].target.uri == f"sip:ann-800@{MEDIA}"


def test_a_menu_routing_may_default_to_an_announcement() -> None:
    menus = {"700": MenuRouting("700", "Day", default=ToAnnouncement("800"))}
    acme = replace(WITH_ANNOUNCEMENT, menus=menus)
    plan = plan_call(media_call("ivr-700-default"), acme, CARRIERS, media=MEDIA)
    assert route_of(plan).branches[0].target.uri == f"sip:ann-800@{MEDIA}"
