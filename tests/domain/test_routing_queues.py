"""Queues in the routing decision: a number or extension sends the call to the media
application; its offers to agents ring only those agents' phones, and its failover goes
where the queue says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from provd.domain import service_codes
from provd.domain.routing import (
    AorTarget,
    CallFacts,
    Carrier,
    Carriers,
    Forwarding,
    FromCarrier,
    FromMedia,
    FromUser,
    MediaTarget,
    QueueRouting,
    Reject,
    Route,
    Service,
    TenantRouting,
    ToExternal,
    ToQueue,
    ToUser,
    ToVoicemail,
    UserRouting,
    plan_call,
    plan_to_json,
)
from provd.domain.routing import Failure as StepFailure

AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
MEDIA = "127.0.0.1:5090"
CARRIERS = Carriers((Carrier("kpn", "192.0.2.1:5060"),))

ACME = TenantRouting(
    slug="acme",
    sip_domain="acme.test",
    users={
        "2000": UserRouting("2000", name="Alice"),
        "2001": UserRouting("2001", name="Bob", forwarding=Forwarding(always=ToVoicemail("2001"))),
        "2002": UserRouting("2002", name="Carol", dnd=True),
        "2003": UserRouting(
            "2003", name="Dan", forwarding=Forwarding(no_answer=ToExternal("+31612345678"))
        ),
    },
    numbers={"+31201234577": ToQueue("800"), "+31201234578": ToQueue("899")},
    queues={
        "800": QueueRouting(
            "800",
            "Sales",
            agents=("2000", "2001", "2002", "2003"),
            ring_s=15,
            failover=ToUser("2000"),
        ),
        "801": QueueRouting("801", "Support", agents=("2000",)),
    },
)


def carrier_call(dialled: str, failed: tuple[StepFailure, ...] = ()) -> CallFacts:
    return CallFacts(FromCarrier("kpn"), dialled, AT, from_user="0612345678", failed=failed)


def media_call(dialled: str, failed: tuple[StepFailure, ...] = ()) -> CallFacts:
    return CallFacts(
        FromMedia("acme"),
        dialled,
        AT,
        from_user="0612345678",
        from_display="Jan",
        pai_user="+31612345678",
        failed=failed,
    )


def route_of(plan: object) -> Route:
    assert isinstance(plan, Route), plan
    return plan


def test_a_number_on_a_queue_goes_to_the_media_application() -> None:
    route = route_of(plan_call(carrier_call("0201234577"), ACME, CARRIERS, media=MEDIA))
    [branch] = route.branches
    assert branch.target == MediaTarget("queue", f"sip:queue-800@{MEDIA}", f"sip:{MEDIA}")
    assert branch.headers.to is not None and branch.headers.to.uri == "sip:queue-800@acme.test"
    assert branch.headers.added("P-Asserted-Identity") == "<sip:+31612345678@acme.test>"
    assert plan_to_json(route)["routes"][0]["service"] == "queue"  # type: ignore[index]


def test_a_user_dials_a_queue_by_its_extension() -> None:
    route = route_of(
        plan_call(CallFacts(FromUser("acme", "2000"), "801", AT), ACME, CARRIERS, media=MEDIA)
    )
    assert route.branches[0].target.uri == f"sip:queue-801@{MEDIA}"


def test_a_missing_queue_is_not_in_use_and_no_media_is_unavailable() -> None:
    assert plan_call(carrier_call("0201234578"), ACME, CARRIERS, media=MEDIA) == Reject(
        404, "Number not in use"
    )
    assert plan_call(carrier_call("0201234577"), ACME, CARRIERS) == Reject(
        503, "Service Unavailable: no media service"
    )


def test_an_offer_rings_only_the_agents_phones_with_the_queues_name_and_the_caller() -> None:
    route = route_of(plan_call(media_call("queue-800-agent-2000"), ACME, CARRIERS, media=MEDIA))
    [branch] = route.branches
    assert branch.target == AorTarget("2000", "sip:2000@acme.test")
    assert branch.headers.from_ is not None
    assert branch.headers.from_.display == "Sales: Jan"
    assert branch.headers.from_.uri == "sip:0612345678@acme.test"
    assert route.caller_id.number == "+31612345678"
    # A little longer than the queue's ring time: the media application cancels first.
    assert branch.ring_timeout_ms == 20_000
    assert not route.more


def test_an_offer_ignores_the_agents_forwards() -> None:
    # 2001 forwards every call to voicemail, 2003 to a mobile when not answered: a queue
    # call rings their phones and nothing else.
    for agent in ("2001", "2003"):
        route = route_of(
            plan_call(media_call(f"queue-800-agent-{agent}"), ACME, CARRIERS, media=MEDIA)
        )
        assert route.branches[0].target == AorTarget(agent, f"sip:{agent}@acme.test")
        failed = media_call(f"queue-800-agent-{agent}", failed=(StepFailure(408, timeout=True),))
        assert not isinstance(plan_call(failed, ACME, CARRIERS, media=MEDIA), Route)


def test_an_agent_in_do_not_disturb_is_busy() -> None:
    plan = plan_call(media_call("queue-800-agent-2002"), ACME, CARRIERS, media=MEDIA)
    assert plan == Reject(486, "Busy Here: do not disturb")


@pytest.mark.parametrize(
    "dialled", ["queue-801-agent-2001", "queue-800-agent-2999", "queue-899-agent-2000"]
)
def test_an_offer_to_someone_not_an_agent_of_the_queue_is_refused(dialled: str) -> None:
    plan = plan_call(media_call(dialled), ACME, CARRIERS, media=MEDIA)
    assert isinstance(plan, Reject) and plan.code == 404


def test_the_failover_goes_where_the_queue_says() -> None:
    route = route_of(plan_call(media_call("queue-800-failover"), ACME, CARRIERS, media=MEDIA))
    assert route.branches[0].target == AorTarget("2000", "sip:2000@acme.test")
    plan = plan_call(media_call("queue-801-failover"), ACME, CARRIERS, media=MEDIA)
    assert plan == Reject(404, "Not Found: the queue has no failover destination")


def test_queue_call_backs_come_only_from_the_media_application() -> None:
    # A phone dialling the same user part is dialling an unknown extension.
    facts = CallFacts(FromUser("acme", "2000"), "queue-800-agent-2001", AT)
    assert not isinstance(plan_call(facts, ACME, CARRIERS, media=MEDIA), Route)
    facts = carrier_call("queue-800-failover")
    assert not isinstance(plan_call(facts, ACME, CARRIERS, media=MEDIA), Route)


@pytest.mark.parametrize(
    ("dialled", "code"),
    [
        ("*903", service_codes.QueueLogin(True)),
        ("*904", service_codes.QueueLogin(False)),
        ("*903*800#", service_codes.QueueLogin(True, "800")),
        ("*904*801", service_codes.QueueLogin(False, "801")),
    ],
)
def test_agents_log_in_and_out_with_903_and_904(
    dialled: str, code: service_codes.QueueLogin
) -> None:
    assert service_codes.parse(dialled) == code
    plan = plan_call(CallFacts(FromUser("acme", "2000"), dialled, AT), ACME, CARRIERS, media=MEDIA)
    assert plan == Service(code, "acme", "2000")


@pytest.mark.parametrize("dialled", ["*905", "*903*", "*903*8#", "*9030"])
def test_near_misses_are_not_agent_codes(dialled: str) -> None:
    assert not isinstance(service_codes.parse(dialled), service_codes.QueueLogin)
