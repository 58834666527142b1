"""Hunt groups and forwarding through real Kamailio + rtpengine, sipp playing the phones.

Each failed step goes back to provd (failure_route asks the route listener again with
how the step failed) and Kamailio rings what the next plan says. The routing data is
given to the route listener directly here (what provd would load from its database):
these tests prove Kamailio executes the steps, tests/domain/test_call_handling.py that
the steps are the right ones.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import pytest_asyncio

from provd.db.models import (
    AuditEntry,
    IncomingBlock,
    PhoneNumber,
    Schedule,
    ScheduledRoute,
    Tenant,
    User,
)
from provd.db.models import (
    Carrier as CarrierRow,
)
from provd.domain.routing import (
    Carrier,
    Carriers,
    Forwarding,
    GroupRouting,
    TenantRouting,
    ToExternal,
    ToUser,
)
from provd.domain.routing_table import RoutingTable
from tests.pbx.conftest import ACME, PbxEnv, call_row, ip, reg_row, unregister
from tests.pbx.sippctl import SippResult, run_sipp, sipp

pytestmark = pytest.mark.asyncio(loop_scope="session")

CALLER = (ip(30), 5080)  # 2000
PHONE_2001 = (ip(31), 5082)
PHONE_2002 = (ip(32), 5084)
GATEWAY = (ip(33), 5060)  # the carrier


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def handling(pbx: PbxEnv) -> AsyncIterator[PbxEnv]:
    for ext, where in (("2000", CALLER), ("2001", PHONE_2001), ("2002", PHONE_2002)):
        row = reg_row(pbx.accounts[ext], where)
        result = await run_sipp("register.xml", pbx.work, remote=pbx.proxy, local=where, rows=[row])
        assert result.rc == 0, result.messages
    await pbx.refresh_routing()
    BASE.append(pbx.routing.table)
    try:
        yield pbx
    finally:
        pbx.routing.observed.last_answered.clear()
        pbx.routing.observed.answered_at.clear()
        await pbx.refresh_routing()
        await unregister(pbx, ("2000", "2001", "2002"))


BASE: list[RoutingTable] = []
"""The table loaded from the database; each test changes its own copy of acme."""


def base_acme() -> TenantRouting:
    acme = BASE[-1].tenant_for_domain(ACME)
    assert acme is not None
    return acme


def with_acme(pbx: PbxEnv, **changes: Any) -> None:
    """The route listener's table with acme's routing data changed (``replace`` fields)."""
    acme = base_acme()
    assert acme is not None
    acme = replace(acme, **changes)
    carriers = Carriers((Carrier("gw", f"{GATEWAY[0]}:{GATEWAY[1]}"),))
    pbx.routing.table = RoutingTable([acme], carriers)


def forwarding(pbx: PbxEnv, ext: str, fwd: Forwarding) -> dict[str, Any]:
    users = dict(base_acme().users)
    users[ext] = replace(users[ext], forwarding=fwd)
    return {"users": users}


async def call(pbx: PbxEnv, dialled: str, *, timeout_s: float = 15) -> SippResult:
    return await run_sipp(
        "uac_call.xml",
        pbx.work,
        remote=pbx.proxy,
        local=CALLER,
        media=(CALLER[0], 17000),
        rows=[call_row(pbx.accounts["2000"], dialled, ACME)],
        timeout_s=timeout_s,
    )


async def test_a_simultaneous_group_rings_every_member_and_cancels_the_others(
    handling: PbxEnv,
) -> None:
    with_acme(
        handling, groups={"600": GroupRouting("600", "Sales", "simultaneous", ("2001", "2002"))}
    )
    async with (
        sipp(
            "uas_cancel.xml", handling.work, local=PHONE_2002, media=(PHONE_2002[0], 17200)
        ) as other,
    ):
        await asyncio.sleep(0.2)
        async with sipp(
            "uas_call.xml", handling.work, local=PHONE_2001, media=(PHONE_2001[0], 17100)
        ) as answering:
            await asyncio.sleep(0.3)
            caller = await call(handling, "600")
            answered = await answering.finish()
        cancelled = await other.finish()
    assert caller.rc == 0, caller.messages
    assert answered.rc == 0, answered.messages
    assert cancelled.rc == 0, cancelled.messages
    # Both rang, with the group's name before the caller.
    for run in (answered, cancelled):
        [invite] = run.received("INVITE ")
        assert re.search(r'^From: "?Sales: User 2000"? <sip:2000@acme\.test>', invite, re.M), invite


async def test_fixed_order_rings_the_next_member_after_the_ring_time(handling: PbxEnv) -> None:
    group = GroupRouting("600", "Sales", "fixed", ("2001", "2002"), ring_s=2)
    with_acme(handling, groups={"600": group})
    async with sipp(
        "uas_cancel.xml", handling.work, local=PHONE_2001, media=(PHONE_2001[0], 17100)
    ) as first:
        async with sipp(
            "uas_call.xml", handling.work, local=PHONE_2002, media=(PHONE_2002[0], 17200)
        ) as second:
            await asyncio.sleep(0.3)
            caller = await call(handling, "600")
            got_second = await second.finish()
        got_first = await first.finish()
    assert caller.rc == 0, caller.messages
    assert got_first.rc == 0 and got_first.received("CANCEL "), got_first.messages
    assert got_second.rc == 0, got_second.messages
    # The first member rang, was cancelled at its ring time, then the second rang.
    assert len(got_first.received("INVITE ")) == 1
    assert got_second.received("INVITE ")


async def test_a_busy_member_is_skipped_and_circular_starts_after_the_answerer(
    handling: PbxEnv,
) -> None:
    group = GroupRouting("600", "Sales", "circular", ("2001", "2002"), ring_s=10)
    with_acme(handling, groups={"600": group})
    async with sipp("uas_busy.xml", handling.work, local=PHONE_2001) as busy:
        async with sipp(
            "uas_call.xml", handling.work, local=PHONE_2002, media=(PHONE_2002[0], 17200)
        ) as second:
            await asyncio.sleep(0.3)
            caller = await call(handling, "600")
            answered = await second.finish()
        got_busy = await busy.finish()
    assert caller.rc == 0, caller.messages
    assert got_busy.rc == 0 and answered.rc == 0, answered.messages
    # 2002 answered: the next call to the group starts with 2001 again (after 2002).
    assert handling.routing.observed.last_answered[("acme", "600")] == "2002"
    async with sipp(
        "uas_call.xml", handling.work, local=PHONE_2001, media=(PHONE_2001[0], 17100)
    ) as first:
        await asyncio.sleep(0.3)
        caller = await call(handling, "600")
        answered = await first.finish()
    assert caller.rc == 0 and answered.rc == 0, caller.messages
    assert handling.routing.observed.last_answered[("acme", "600")] == "2001"


async def test_forwarding_on_no_answer_after_n_seconds_reaches_the_target(
    handling: PbxEnv,
) -> None:
    fwd = Forwarding(no_answer=ToUser("2002"), no_answer_after_s=2)
    with_acme(handling, **forwarding(handling, "2001", fwd))
    async with sipp(
        "uas_cancel.xml", handling.work, local=PHONE_2001, media=(PHONE_2001[0], 17100)
    ) as first:
        async with sipp(
            "uas_call.xml", handling.work, local=PHONE_2002, media=(PHONE_2002[0], 17200)
        ) as target:
            await asyncio.sleep(0.3)
            caller = await call(handling, "2001")
            got = await target.finish()
        await first.finish()
    assert caller.rc == 0, caller.messages
    [invite] = got.received("INVITE ")
    assert "Diversion: <sip:2001@acme.test>;reason=no-answer" in invite


async def test_an_outside_forward_leaves_through_the_carrier_with_diversion(
    handling: PbxEnv,
) -> None:
    fwd = Forwarding(busy=ToExternal("+31612345678"))
    changes = forwarding(handling, "2001", fwd)
    with_acme(handling, main_number="+31201234500", numbers={"+31201234500": None}, **changes)
    async with sipp("uas_busy.xml", handling.work, local=PHONE_2001) as busy:
        async with sipp(
            "uas_call.xml", handling.work, local=GATEWAY, media=(GATEWAY[0], 17300)
        ) as gateway:
            await asyncio.sleep(0.3)
            caller = await call(handling, "2001")
            out = await gateway.finish()
        await busy.finish()
    assert caller.rc == 0, caller.messages
    [invite] = out.received("INVITE ")
    assert invite.split()[1] == f"sip:+31612345678@{GATEWAY[0]}:{GATEWAY[1]}"
    # Toward the carrier the diverting party is a number the tenant owns (here the main one).
    assert "Diversion: <sip:+31201234500@acme.test>;reason=user-busy" in invite
    assert "P-Asserted-Identity: <sip:+31201234500@acme.test>" in invite


async def test_a_forward_loop_is_cut_with_a_clear_rejection(handling: PbxEnv) -> None:
    users = dict(base_acme().users)
    users["2001"] = replace(users["2001"], forwarding=Forwarding(always=ToUser("2002")))
    users["2002"] = replace(users["2002"], forwarding=Forwarding(always=ToUser("2001")))
    with_acme(handling, users=users)
    result = await run_sipp(
        "call_rejected.xml",
        handling.work,
        remote=handling.proxy,
        local=CALLER,
        rows=[call_row(handling.accounts["2000"], "2001", ACME)],
    )
    assert "SIP/2.0 482 Loop Detected" in result.messages, result.messages


async def test_a_group_nobody_answers_overflows_after_the_total_wait(handling: PbxEnv) -> None:
    group = GroupRouting(
        "600", "Sales", "simultaneous", ("2001",), total_wait_s=2, overflow=ToUser("2002")
    )
    with_acme(handling, groups={"600": group})
    async with sipp(
        "uas_cancel.xml", handling.work, local=PHONE_2001, media=(PHONE_2001[0], 17100)
    ) as first:
        async with sipp(
            "uas_call.xml", handling.work, local=PHONE_2002, media=(PHONE_2002[0], 17200)
        ) as overflow:
            await asyncio.sleep(0.3)
            caller = await call(handling, "600")
            got = await overflow.finish()
        await first.finish()
    assert caller.rc == 0, caller.messages
    assert got.rc == 0 and got.received("INVITE ")


CARRIER_UAC = (ip(34), 5062)  # a carrier calling in


async def carrier_call(pbx: PbxEnv, scenario: str, number: str, extra: str) -> SippResult:
    return await run_sipp(
        scenario,
        pbx.work,
        remote=pbx.proxy,
        local=CARRIER_UAC,
        media=(CARRIER_UAC[0], 17400),
        rows=[[number, "0612345678", "Jan", extra]],
    )


async def rings_on_inbound(pbx: PbxEnv, phone: tuple[str, int]) -> bool:
    """A carrier calls the plan's number and the phone at ``phone`` answers."""
    async with sipp("uas_call.xml", pbx.work, local=phone, media=(phone[0], 17500)) as answering:
        await asyncio.sleep(0.3)
        caller = await carrier_call(pbx, "carrier_call.xml", "0201234600", "X-Test: 1")
        answered = await answering.finish()
    assert caller.rc == 0, caller.messages
    return answered.rc == 0 and bool(answered.received("INVITE "))


async def test_star_915_flips_the_night_switch_and_the_next_call_follows_it(
    handling: PbxEnv,
) -> None:
    """From the database, as serve runs it: a number plan on a schedule open all week
    rings 2001; the receptionist 2000 dials *915 and the next call goes to 2002."""
    async with handling.orm():
        tenant = await Tenant.get(sip_domain=ACME)
        await User.filter(tenant=tenant, extension="2000").update(may_switch_night=True)
        u2001 = await User.get(tenant=tenant, extension="2001")
        u2002 = await User.get(tenant=tenant, extension="2002")
        office = await Schedule.create(tenant=tenant, name="office", rules=["mon-sun all day"])
        route = await ScheduledRoute.create(
            tenant=tenant,
            name="main",
            schedule=office,
            open_destination={"kind": "user", "user_id": u2001.id},
            closed_destination={"kind": "user", "user_id": u2002.id},
        )
        await PhoneNumber.create(
            e164="+31201234600",
            tenant=tenant,
            block_first="+31201234600",
            block_count=1,
            assigned_route=route,
        )
        await CarrierRow.create(name="in", host=CARRIER_UAC[0], port=5060, transport="udp")
    await handling.refresh_routing()
    try:
        assert await rings_on_inbound(handling, PHONE_2001)
        # The receptionist flips the switch; provd's database is open for it.
        async with handling.orm():
            flipped = await run_sipp(
                "call_rejected.xml",
                handling.work,
                remote=handling.proxy,
                local=CALLER,
                rows=[call_row(handling.accounts["2000"], "*915", ACME)],
            )
        assert "SIP/2.0 480 Done: night switch office on" in flipped.messages, flipped.messages
        assert await rings_on_inbound(handling, PHONE_2002)

        # An anonymous caller is refused once the tenant blocks them.
        async with handling.orm():
            await IncomingBlock.create(tenant=tenant, anonymous=True)
        await handling.refresh_routing()
        refused = await carrier_call(handling, "carrier_rejected.xml", "0201234600", "Privacy: id")
        assert "SIP/2.0 603 Declined: the caller is blocked" in refused.messages, refused.messages
        audit = None
        async with handling.orm():
            audit = await AuditEntry.filter(actor="phone:2000@acme").order_by("-id").first()
        assert audit is not None and audit.action == "schedule.night_switch"
    finally:
        async with handling.orm():
            await IncomingBlock.filter(tenant=tenant).delete()
            await PhoneNumber.filter(e164="+31201234600").delete()
            await ScheduledRoute.filter(tenant=tenant).delete()
            await Schedule.filter(tenant=tenant).delete()
            await CarrierRow.filter(name="in").delete()
        await handling.refresh_routing()
