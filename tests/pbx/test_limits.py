"""Spend and call limits through real Kamailio + rtpengine, sipp as phone, customer PBX
and the carrier's gateway: the fourth call of three an hour is refused; a running call
is cut (BYE to both sides) when its budget runs out, and still leaves one record; a
toll-fraud burst from a trunk stops at its limit; the 80 % and 95 % alerts reach an
SMTP sink once each.

Tenant acme owns +31201234650..659 (651 is 2000's, 650 the trunk's); the carrier
"limits" is the gateway. Rates and limits are written as the services store them and
the routing table reloaded; usage starts empty in each test.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import pytest_asyncio

from provd.db.models import (
    CallRecord,
    Carrier,
    PhoneNumber,
    Rate,
    SpendLimit,
    Tenant,
    Trunk,
    User,
)
from provd.domain import limits
from provd.domain.limits import Limits, Window
from provd.pbx.call_records import CUT_REASON
from provd.services import audit
from provd.services.calls.collector import CallCollector
from provd.services.limits.brake import Brake
from provd.services.limits.mail import Smtp
from provd.services.platform import Platform
from provd.services.rating import costs
from provd.services.rating.costs import rate_record
from provd.services.trunks import NumberOnTrunk
from provd.services.trunks.create import add_trunk
from provd.services.trunks.remove import remove_trunk
from provd.settings import Settings
from tests.pbx.conftest import ACME, PbxEnv, call_row, ip, reg_row, unregister
from tests.pbx.sippctl import SippResult, run_sipp, sipp
from tests.smtp_sink import smtp_sink

pytestmark = pytest.mark.asyncio(loop_scope="session")

GATEWAY = (ip(140), 5060)
PHONE_2000 = (ip(141), 5066)
PBX = ip(142)
PBX_UAC = (PBX, 5094)
TRUNK_NUMBER = "+31201234650"
DID = "+31201234651"
ACTOR = audit.Actor("cli:test")
# Priced by the tenant's own rates (longest prefix first):
CUT_NUMBER = "0611111111"  # 6 EUR a minute: 0.10 a second
FEE_NUMBER = "0622222222"  # 1 EUR a call, nothing by the minute: no budget to cut by


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def braked(pbx: PbxEnv) -> AsyncIterator[str]:
    """The tenant's numbers, rates, a trunk, the gateway; yields the trunk's password."""
    platform = Platform(pbx.data_dir, Settings(), pbx.box)
    async with pbx.orm():
        tenant = await Tenant.get(sip_domain=ACME)
        user_id = (await tenant_user(tenant, "2000")).id
        await PhoneNumber.bulk_create(
            [
                PhoneNumber(
                    e164=f"+3120123465{i}",
                    tenant=tenant,
                    block_first="+31201234650",
                    block_count=10,
                    assigned_user_id=user_id if i == 1 else None,
                )
                for i in range(10)
            ]
        )
        await Carrier.create(
            name="limits", host=GATEWAY[0], port=GATEWAY[1], transport="udp", priority=10
        )
        owner = f"tenant:{tenant.id}"
        await Rate.bulk_create(
            [
                Rate(
                    owner=owner,
                    tenant=tenant,
                    match="+316111",
                    price_per_minute=Decimal(6),
                    setup_fee=Decimal(0),
                ),
                Rate(
                    owner=owner,
                    tenant=tenant,
                    match="+316222",
                    price_per_minute=Decimal(0),
                    setup_fee=Decimal(1),
                ),
            ]
        )
        costs.forget()
        made = await add_trunk(
            platform,
            ACTOR,
            "acme",
            "burst",
            channels=50,
            allow_ips=[PBX],
            numbers=[NumberOnTrunk(TRUNK_NUMBER)],
        )
        await pbx.supervisor.control.sync_subscribers(pbx.box)
    await pbx.refresh_routing()
    result = await run_sipp(
        "register.xml",
        pbx.work,
        remote=pbx.proxy,
        local=PHONE_2000,
        rows=[reg_row(pbx.accounts["2000"], PHONE_2000)],
    )
    assert result.rc == 0, result.messages
    try:
        yield made.passwords["primary"]
    finally:
        async with pbx.orm():
            await remove_trunk(platform, ACTOR, "acme", "burst")
            await SpendLimit.filter(tenant=tenant).delete()
            await Rate.filter(tenant=tenant).delete()
            costs.forget()
            await PhoneNumber.filter(tenant=tenant).delete()
            await Carrier.filter(name="limits").delete()
            await pbx.supervisor.control.sync_subscribers(pbx.box)
        pbx.routing.observed.meters.clear()
        await pbx.refresh_routing()
        await unregister(pbx, ("2000",))


async def tenant_user(tenant: Tenant, extension: str) -> User:
    return await User.get(tenant=tenant, extension=extension)


async def set_limits(
    pbx: PbxEnv, tenant: Limits, trunk: Limits | None = None, email: str | None = None
) -> None:
    """Store the limits as services.limits does, reload, and start usage from nothing."""
    async with pbx.orm():
        acme = await Tenant.get(sip_domain=ACME)
        await SpendLimit.filter(tenant=acme).delete()
        await SpendLimit.create(
            owner=f"tenant:{acme.id}", tenant=acme, limits=limits.to_json(tenant), alert_email=email
        )
        if trunk is not None:
            row = await Trunk.get(tenant=acme, name="burst")
            await SpendLimit.create(
                owner=f"trunk:{row.id}", tenant=acme, trunk=row, limits=limits.to_json(trunk)
            )
    pbx.routing.observed.meters.clear()
    await pbx.refresh_routing()


async def dial(
    pbx: PbxEnv,
    dialled: str,
    scenario: str = "uac_call.xml",
    *,
    timeout_s: float = 15,
    hold_ms: int = 0,
    callee: str = "uas_call.xml",
) -> tuple[SippResult, SippResult]:
    """2000 dials ``dialled``; the gateway answers what reaches it (as ``callee`` says).
    (phone, gateway) ``hold_ms``: how long uac_call_held.xml talks."""
    async with sipp(
        callee, pbx.work, local=GATEWAY, media=(GATEWAY[0], 18700), timeout_s=timeout_s
    ) as gw:
        await asyncio.sleep(0.3)
        async with sipp(
            scenario,
            pbx.work,
            remote=pbx.proxy,
            local=PHONE_2000,
            media=(PHONE_2000[0], 18800),
            rows=[call_row(pbx.accounts["2000"], dialled, ACME)],
            timeout_s=timeout_s,
            extra=["-d", str(hold_ms)] if hold_ms else [],
        ) as run:
            phone = await run.finish()
        answered = await gw.finish()
    return phone, answered


def call_id(result: SippResult) -> str:
    found = re.search(r"^Call-ID:\s*(\S+)", result.messages, re.M | re.I)
    assert found, result.messages
    return found.group(1)


async def collect(pbx: PbxEnv, brake: Brake | None = None) -> None:
    """What serve's collector does every few seconds."""
    async with pbx.orm():
        collector = CallCollector(
            pbx.supervisor.control.db,
            rate=rate_record,
            on_records=brake.records_collected if brake else None,
        )
        await collector.collect()


async def collect_call(pbx: PbxEnv, brake: Brake, callid: str) -> None:
    """Collect until this call's record is in: on a loaded machine Kamailio's row can
    come after the phone's BYE was answered (bounded: 5 s)."""
    for _ in range(20):
        await collect(pbx, brake)
        async with pbx.orm():
            if await CallRecord.filter(callid=callid).exists():
                return
        await asyncio.sleep(0.25)
    raise AssertionError(f"no call record for {callid}")


async def test_a_limit_of_3_calls_an_hour_refuses_the_fourth(pbx: PbxEnv, braked: str) -> None:
    await set_limits(pbx, Limits(calls={Window.HOUR: 3}))
    for _ in range(3):
        phone, gateway = await dial(pbx, "0201234567")
        assert phone.rc == 0, phone.messages
        assert len(gateway.received("INVITE ")) == 1
    phone, gateway = await dial(pbx, "0201234567", "call_rejected.xml", timeout_s=3)
    assert phone.rc == 0, phone.messages
    assert "SIP/2.0 403 Forbidden: call limit reached (hour)" in phone.messages
    assert gateway.received("INVITE ") == []
    # Emergency calls are never refused.
    phone, gateway = await dial(pbx, "112")
    assert phone.rc == 0, phone.messages
    assert len(gateway.received("INVITE ")) == 1


# A callee that rings first is the case where Kamailio's cut once BYEd only the caller
# (kamailio.cfg, reply_route): both must get their BYE, every time.
@pytest.mark.parametrize("callee", ["uas_answer.xml", "uas_call.xml"])
async def test_a_running_call_is_cut_when_its_budget_runs_out(
    pbx: PbxEnv, braked: str, callee: str
) -> None:
    # 0.30 EUR at 0.10 a second: cut a few seconds after the answer, long before the
    # phone would give up (it waits for the proxy's BYE and never hangs up itself).
    await set_limits(pbx, Limits(spend={Window.HOUR: Decimal("0.30")}))
    phone, gateway = await dial(pbx, CUT_NUMBER, "uac_call_cut.xml", timeout_s=20, callee=callee)
    assert phone.rc == 0, phone.messages
    assert gateway.rc == 0, gateway.messages
    # Both sides got Kamailio's BYE.
    assert len(phone.received("BYE ")) == 1
    assert len(gateway.received("BYE ")) == 1
    # No CDR from acc, yet exactly one record: answered, cut, with its time.
    # Kamailio's cnxcc process writes the cut's row just after its BYEs: on a loaded
    # machine the phone may have answered them first. Collected as serve does, again
    # until it is there (bounded).
    records: list[CallRecord] = []
    for _ in range(20):
        await collect(pbx)
        async with pbx.orm():
            records = await CallRecord.filter(callid=call_id(phone))
        if records:
            break
        await asyncio.sleep(0.25)
    assert len(records) == 1, records
    [record] = records
    assert (record.disposition, record.reason) == ("answered", CUT_REASON)
    assert record.answered_at is not None
    assert 0 < record.duration < 20
    assert record.callee == "+31611111111"
    assert record.cost is not None and record.cost > 0
    await collect(pbx)
    async with pbx.orm():
        assert await CallRecord.filter(callid=call_id(phone)).count() == 1


async def test_a_toll_fraud_burst_from_a_trunk_stops_at_its_limit(pbx: PbxEnv, braked: str) -> None:
    """A hacked PBX dials premium and international numbers as fast as it can."""
    await set_limits(pbx, limits.DEFAULT, Limits(spend={}, calls={Window.HOUR: 5}))
    auth = f"[authentication username=burst-primary password={braked}]"
    numbers = ["0900123456", "00442071234567", "0909123456", "0033142345678"] * 3
    rows = [
        [
            "0201234650",
            ACME,
            auth,
            n,
            ACME,
            f"P-Asserted-Identity: <sip:{TRUNK_NUMBER}@{ACME}>",
            "X-Test: 1",
        ]
        for n in numbers
    ]
    async with sipp(
        "uas_call.xml",
        pbx.work,
        local=GATEWAY,
        media=(GATEWAY[0], 18700),
        calls=len(rows),
        timeout_s=20,
    ) as gw:
        await asyncio.sleep(0.3)
        caller = await run_sipp(
            "pbx_call.xml",
            pbx.work,
            remote=pbx.proxy,
            local=PBX_UAC,
            media=(PBX, 18900),
            rows=rows,
            calls=len(rows),
            timeout_s=20,
        )
        gateway = await gw.finish()
    # Counted by call: under load a request or a reply is retransmitted, and the
    # retransmission is in the messages too.
    assert len(_calls(gateway.received("INVITE "))) == 5, gateway.messages
    refused = _calls(caller.received("SIP/2.0 403 Forbidden: call limit reached (hour)"))
    assert len(refused) == len(rows) - 5, caller.messages


def _calls(messages: list[str]) -> set[str]:
    """The Call-IDs of ``messages``."""
    found = (re.search(r"^Call-ID:\s*(\S+)", m, re.M | re.I) for m in messages)
    return {m.group(1) for m in found if m is not None}


async def test_80_and_95_percent_alerts_reach_the_smtp_sink_once_each(
    pbx: PbxEnv, braked: str
) -> None:
    """1 EUR a call against 5 EUR an hour: the fourth call's record crosses 80 %, the
    fifth's 95 % (and the limit: a sixth is refused)."""
    await set_limits(pbx, Limits(spend={Window.HOUR: Decimal("5")}), email="billing@acme.test")
    with smtp_sink(ip(143)) as (port, inbox):
        brake = Brake(pbx.routing, Smtp(ip(143), port, "provd@pbx.test"))
        await collect(pbx)  # earlier tests' calls: not this test's spend
        pbx.routing.observed.meters.clear()
        subjects: list[list[str]] = []
        for _ in range(5):
            # Talked for over a second: a call answered for 0 s (rounded) costs nothing.
            phone, _gateway = await dial(pbx, FEE_NUMBER, "uac_call_held.xml", hold_ms=1500)
            assert phone.rc == 0, phone.messages
            await collect_call(pbx, brake, call_id(phone))
            async with pbx.orm():
                await brake.check_alerts()
            subjects.append([m["Subject"] for m in inbox])
        async with pbx.orm():
            await brake.check_alerts()
        phone, gateway = await dial(pbx, FEE_NUMBER, "call_rejected.xml", timeout_s=3)
    assert subjects[:3] == [[], [], []]
    assert subjects[3] == ["Acme: 80% of the hour's limit reached"]
    assert subjects[4] == [
        "Acme: 80% of the hour's limit reached",
        "Acme: 95% of the hour's limit reached",
    ]
    assert len(inbox) == 2
    assert all(m["To"] == "billing@acme.test" for m in inbox)
    assert "SIP/2.0 403 Forbidden: spend limit reached (hour)" in phone.messages
    assert gateway.received("INVITE ") == []
