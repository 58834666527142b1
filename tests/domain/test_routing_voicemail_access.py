"""``*1233`` in the routing decision: a user reaches their own mailbox's menu in the
media application, and nobody else reaches it by any route."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from provd.domain.routing import (
    MAILBOX_ACCESS_PREFIX,
    CallFacts,
    Carrier,
    Carriers,
    Failure,
    FromCarrier,
    FromMedia,
    FromTrunk,
    FromUser,
    MediaTarget,
    Reject,
    RelayFailure,
    Route,
    TenantRouting,
    ToUser,
    TrunkRouting,
    UserRouting,
    plan_call,
    plan_to_json,
)
from provd.domain.service_codes import CODES, VOICEMAIL_ACCESS, parse

AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
MEDIA = "127.0.0.1:5090"
CARRIERS = Carriers((Carrier("kpn", "192.0.2.1:5060"),))
ACME = TenantRouting(
    slug="acme",
    sip_domain="acme.test",
    main_number="+31201234500",
    users={"201": UserRouting("201", name="Alice"), "202": UserRouting("202", name="Bob")},
    numbers={"+31201234500": ToUser("201")},
    trunks={"hq": TrunkRouting(name="hq", channels=2, networks=("192.0.2.10/32",))},
)


def from_user(dialled: str, extension: str = "201", **kw: object) -> CallFacts:
    return CallFacts(FromUser("acme", extension), dialled, AT, **kw)  # type: ignore[arg-type]


def test_a_user_dialling_the_code_reaches_their_own_mailbox_menu() -> None:
    plan = plan_call(from_user("*1233"), ACME, CARRIERS, media=MEDIA)
    assert isinstance(plan, Route)
    assert plan.kind == "internal"
    [branch] = plan.branches
    assert branch.target == MediaTarget("voicemail", f"sip:vmbox-201@{MEDIA}", f"sip:{MEDIA}")
    assert branch.headers.to is not None
    assert branch.headers.to.uri == "sip:vmbox-201@acme.test"
    assert branch.headers.from_ is not None
    assert branch.headers.from_.uri == "sip:201@acme.test"
    doc = plan_to_json(plan)
    assert doc["target"] == "media"
    routes = doc["routes"]
    assert isinstance(routes, list)
    assert routes[0]["service"] == "voicemail"


def test_each_user_gets_their_own_mailbox_only() -> None:
    plan = plan_call(from_user("*1233", "202"), ACME, CARRIERS, media=MEDIA)
    assert isinstance(plan, Route)
    assert plan.branches[0].target.uri == f"sip:{MAILBOX_ACCESS_PREFIX}202@{MEDIA}"


def test_the_code_is_read_percent_encoded_and_with_spaces_around() -> None:
    plan = plan_call(from_user(" %2A1233 "), ACME, CARRIERS, media=MEDIA)
    assert isinstance(plan, Route)
    assert plan.branches[0].target.uri == f"sip:vmbox-201@{MEDIA}"


def test_without_the_media_application_the_mailbox_is_unavailable() -> None:
    assert plan_call(from_user("*1233"), ACME, CARRIERS) == Reject(
        503, "Service Unavailable: no media service"
    )


def test_a_failure_of_the_media_application_is_the_callers_reply() -> None:
    facts = from_user("*1233", failed=(Failure(503),))
    assert plan_call(facts, ACME, CARRIERS, media=MEDIA) == RelayFailure()


@pytest.mark.parametrize("dialled", ["*1233", "vmbox-201", "vm-201", "1233"])
def test_a_carrier_never_reaches_a_mailbox_menu(dialled: str) -> None:
    facts = CallFacts(FromCarrier("kpn"), dialled, AT, from_user="0612345678")
    plan = plan_call(facts, ACME, CARRIERS, media=MEDIA)
    assert isinstance(plan, Reject)


@pytest.mark.parametrize("dialled", ["*1233", "vmbox-201"])
def test_a_trunk_never_reaches_a_mailbox_menu(dialled: str) -> None:
    facts = CallFacts(FromTrunk("acme", "hq", "192.0.2.10"), dialled, AT, from_user="201")
    plan = plan_call(facts, ACME, CARRIERS, media=MEDIA)
    assert not (isinstance(plan, Route) and "vmbox-" in plan.branches[0].target.uri)


@pytest.mark.parametrize("dialled", ["*1233", "vmbox-201", "vmbox-202"])
def test_a_menu_calling_back_never_reaches_a_mailbox_menu(dialled: str) -> None:
    facts = CallFacts(FromMedia("acme"), dialled, AT, from_user="201")
    plan = plan_call(facts, ACME, CARRIERS, media=MEDIA)
    assert isinstance(plan, Reject)


@pytest.mark.parametrize("dialled", ["*1233*202#", "*1233*202", "%2A1233%2A202%23"])
def test_another_mailbox_of_the_tenant_is_reached_with_its_extension(dialled: str) -> None:
    # A shared mailbox (a user without phones), or one's own from a colleague's desk:
    # the media application asks that mailbox's PIN first, as for one's own.
    plan = plan_call(from_user(dialled), ACME, CARRIERS, media=MEDIA)
    assert isinstance(plan, Route)
    assert plan.branches[0].target.uri == f"sip:vmbox-202@{MEDIA}"
    assert plan.branches[0].headers.from_ is not None
    assert plan.branches[0].headers.from_.uri == "sip:201@acme.test"  # who asked


@pytest.mark.parametrize("dialled", ["*1233*203#", "*1233*3000#"])
def test_a_mailbox_the_tenant_does_not_have_is_not_found(dialled: str) -> None:
    # 3000 may well be a user of another tenant: a tenant's code never reaches there.
    plan = plan_call(from_user(dialled), ACME, CARRIERS, media=MEDIA)
    assert plan == Reject(404, "Not Found: no such mailbox")


@pytest.mark.parametrize("dialled", ["vmbox-202", "vmbox-201", "#31#*1233", "*1233*2#"])
def test_a_user_cannot_name_a_mailbox_menu_directly(dialled: str) -> None:
    plan = plan_call(from_user(dialled), ACME, CARRIERS, media=MEDIA)
    assert not (isinstance(plan, Route) and "vmbox-" in plan.branches[0].target.uri)


def test_the_code_is_listed_and_is_no_change_for_provd() -> None:
    assert VOICEMAIL_ACCESS == "*1233"
    assert any(c.code == VOICEMAIL_ACCESS for c in CODES)
    assert parse(VOICEMAIL_ACCESS) is None
