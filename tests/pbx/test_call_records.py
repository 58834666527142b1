"""Call records written by Kamailio's own accounting and collected into provd, through real
Kamailio, rtpengine and sipp: every call leaves exactly one record, with how it ended and
for how long, and collecting again (as a restarted provd does) adds nothing and loses
nothing.

Tenant acme owns +31201234500..509; 2000 has +31201234501. The carrier's gateway answers,
is busy or rings until the caller gives up.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from provd.db.models import CallRecord, Carrier, PhoneNumber, Tenant, User
from provd.pbx.call_records import RESTART_REASON
from provd.security.secretbox import SecretBox
from provd.services import outbound
from provd.services.calls.collector import CallCollector
from provd.services.platform import Platform
from provd.settings import Settings
from tests.conftest import TEST_ACTOR
from tests.pbx.conftest import ACME, PbxEnv, call_row, ip, reg_row, unregister
from tests.pbx.sippctl import SippResult, run_sipp, sipp

pytestmark = pytest.mark.asyncio(loop_scope="session")

GATEWAY = (ip(110), 5060)
PHONE = (ip(111), 5066)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def calls(pbx: PbxEnv) -> AsyncIterator[PbxEnv]:
    async with pbx.orm():
        tenant = await Tenant.get(sip_domain=ACME)
        user = await User.get(tenant=tenant, extension="2000")
        await PhoneNumber.bulk_create(
            [
                PhoneNumber(
                    e164=f"+3120123450{i}",
                    tenant=tenant,
                    block_first="+31201234500",
                    block_count=10,
                    assigned_user=user if i == 1 else None,
                )
                for i in range(10)
            ]
        )
        await Carrier.create(
            name="records", host=GATEWAY[0], port=GATEWAY[1], transport="udp", priority=10
        )
    await pbx.refresh_routing()
    result = await run_sipp(
        "register.xml",
        pbx.work,
        remote=pbx.proxy,
        local=PHONE,
        rows=[reg_row(pbx.accounts["2000"], PHONE)],
    )
    assert result.rc == 0, result.messages
    try:
        yield pbx
    finally:
        async with pbx.orm():
            await PhoneNumber.filter(tenant=tenant).delete()
            await Carrier.filter(name="records").delete()
        await pbx.refresh_routing()
        await unregister(pbx, ("2000",))


def call_id(run: SippResult) -> str:
    """The Call-ID of the INVITE the phone sent (not of a stray earlier message)."""
    found = re.search(r"^\s*INVITE sip:.*?^\s*Call-ID:\s*(\S+)", run.messages, re.M | re.I | re.S)
    assert found, run.messages
    return found.group(1)


async def collect(pbx: PbxEnv) -> int:
    """What serve's collector does each round: a new collector each time, as after a restart."""
    async with pbx.orm():
        return await CallCollector(pbx.supervisor.control.db).collect()


async def records_of(pbx: PbxEnv, callid: str) -> list[CallRecord]:
    async with pbx.orm():
        return await CallRecord.filter(callid=callid).all()


async def dial(
    pbx: PbxEnv,
    dialled: str,
    gateway_scenario: str,
    *,
    scenario: str = "uac_call.xml",
    hold_ms: int = 0,
) -> tuple[SippResult, SippResult]:
    """2000 dials ``dialled``; the gateway plays ``gateway_scenario``. (phone, gateway)"""
    extra = ["-d", str(hold_ms)] if hold_ms else []
    async with sipp(
        gateway_scenario, pbx.work, local=GATEWAY, media=(GATEWAY[0], 18500), timeout_s=15
    ) as gw:
        await asyncio.sleep(0.3)
        async with sipp(
            scenario,
            pbx.work,
            remote=pbx.proxy,
            local=PHONE,
            media=(PHONE[0], 18600),
            rows=[call_row(pbx.accounts["2000"], dialled, ACME)],
            timeout_s=15,
            extra=extra,
        ) as phone_run:
            phone = await phone_run.finish()
        gateway = await gw.finish()
    return phone, gateway


async def until_collected(pbx: PbxEnv, callid: str) -> list[CallRecord]:
    """acc writes a CDR when the dialog ends, just after the BYE's reply: poll briefly."""
    for _ in range(40):
        await collect(pbx)
        found = await records_of(pbx, callid)
        if found:
            return found
        await asyncio.sleep(0.1)
    return []


async def test_an_answered_call_leaves_one_record_with_its_duration(calls: PbxEnv) -> None:
    phone, gateway = await dial(
        calls, "0612345678", "uas_call.xml", scenario="uac_call_held.xml", hold_ms=2000
    )
    assert phone.rc == 0, phone.messages
    assert gateway.rc == 0, gateway.messages
    cid = call_id(phone)
    [record] = await until_collected(calls, cid)
    assert record.disposition == "answered"
    assert record.source == "acc_cdrs"
    assert record.call_type == "mobile"
    assert (record.caller, record.callee, record.dialled) == ("2000", "+31612345678", "0612345678")
    assert record.number == "+31201234501" and record.user_ext == "2000"
    assert record.answered_at is not None
    # Talked 2 s (sipp's pause), whole seconds from the answer.
    assert record.duration == 2
    talked = (record.ended_at - record.answered_at).total_seconds()
    assert 1.5 <= talked <= 3.5, talked
    assert record.started_at <= record.answered_at <= record.ended_at
    assert record.cost is None
    # Collected again: still one.
    assert await collect(calls) == 0
    assert len(await records_of(calls, cid)) == 1


async def test_a_busy_callee_leaves_one_busy_record(calls: PbxEnv) -> None:
    phone, gateway = await dial(calls, "0201234567", "uas_busy.xml", scenario="uac_refused.xml")
    assert gateway.rc == 0, gateway.messages
    cid = call_id(phone)
    [record] = await until_collected(calls, cid)
    assert (record.disposition, record.sip_code, record.duration) == ("busy", 486, 0)
    assert record.answered_at is None
    assert record.call_type == "national_fixed"
    assert record.reason == "Busy Here"


async def test_a_call_nobody_answers_leaves_one_no_answer_record(calls: PbxEnv) -> None:
    phone, gateway = await dial(calls, "0201234568", "uas_cancel.xml", scenario="uac_cancel.xml")
    assert phone.rc == 0, phone.messages
    assert gateway.rc == 0, gateway.messages
    cid = call_id(phone)
    [record] = await until_collected(calls, cid)
    assert (record.disposition, record.sip_code, record.duration) == ("no_answer", 487, 0)
    assert record.answered_at is None


async def test_a_call_provd_refuses_leaves_one_record_saying_why(calls: PbxEnv) -> None:
    async with sipp(
        "uac_refused.xml",
        calls.work,
        remote=calls.proxy,
        local=PHONE,
        rows=[call_row(calls.accounts["2000"], "2999", ACME)],
    ) as run:
        phone = await run.finish()
    cid = call_id(phone)
    [record] = await until_collected(calls, cid)
    assert record.disposition == "failed"
    assert (record.sip_code, record.call_type, record.dialled) == (404, "internal", "2999")
    assert record.reason != ""


async def test_a_record_survives_a_restart_of_provd_during_the_call(calls: PbxEnv) -> None:
    async with sipp(
        "uas_call.xml", calls.work, local=GATEWAY, media=(GATEWAY[0], 18500), timeout_s=15
    ) as gw:
        await asyncio.sleep(0.3)
        async with sipp(
            "uac_call_held.xml",
            calls.work,
            remote=calls.proxy,
            local=PHONE,
            media=(PHONE[0], 18600),
            rows=[call_row(calls.accounts["2000"], "0612345679", ACME)],
            timeout_s=15,
            extra=["-d", "3000"],
        ) as phone_run:
            await asyncio.sleep(1.5)
            # provd collects while the call is up (nothing of it yet), then "restarts":
            # its database connections closed, a new collector reads from the stored mark.
            await collect(calls)
            phone = await phone_run.finish()
        assert (await gw.finish()).rc == 0
    assert phone.rc == 0, phone.messages
    cid = call_id(phone)
    [record] = await until_collected(calls, cid)
    assert record.disposition == "answered" and record.duration == 3
    for _ in range(2):
        await collect(calls)
    assert len(await records_of(calls, cid)) == 1


async def test_a_call_the_outbound_policy_blocks_leaves_a_record_saying_why(calls: PbxEnv) -> None:
    platform = Platform(calls.data_dir, Settings(), SecretBox.load_or_create(calls.data_dir))
    async with calls.orm():
        await outbound.set_policy(platform, TEST_ACTOR, "acme", block=["premium"])
    await calls.refresh_routing()
    try:
        async with sipp(
            "uac_refused.xml",
            calls.work,
            remote=calls.proxy,
            local=PHONE,
            rows=[call_row(calls.accounts["2000"], "0900123456", ACME)],
        ) as run:
            phone = await run.finish()
    finally:
        async with calls.orm():
            await outbound.set_policy(platform, TEST_ACTOR, "acme", block=[])
        await calls.refresh_routing()
    assert phone.rc == 0, phone.messages
    [record] = await until_collected(calls, call_id(phone))
    assert (record.disposition, record.sip_code, record.call_type) == ("blocked", 403, "premium")
    assert "premium" in record.reason, record.reason
    assert (record.callee, record.dialled, record.duration) == ("+31900123456", "0900123456", 0)


async def test_an_inbound_call_leaves_one_record_of_the_number_called(calls: PbxEnv) -> None:
    async with sipp("uas_call.xml", calls.work, local=PHONE, media=(PHONE[0], 18600)) as phone:
        await asyncio.sleep(0.3)
        carrier = await run_sipp(
            "carrier_call.xml",
            calls.work,
            remote=calls.proxy,
            local=(GATEWAY[0], 5062),
            media=(GATEWAY[0], 18700),
            rows=[["0201234501", "0612345678", "Jan", "X-Test: 1"]],
        )
        answered = await phone.finish()
    assert carrier.rc == 0, carrier.messages
    assert answered.rc == 0, answered.messages
    [record] = await until_collected(calls, call_id(carrier))
    assert (record.disposition, record.call_type) == ("answered", "inbound")
    assert (record.caller, record.callee, record.number) == (
        "+31612345678",
        "+31201234501",
        "+31201234501",
    )
    assert (record.dialled, record.user_ext) == ("0201234501", "2000")


async def test_a_call_up_when_kamailio_restarts_leaves_one_record(calls: PbxEnv) -> None:
    """Dialogs live in Kamailio's memory only: a call that is up when Kamailio stops
    never gets its CDR. The collector finds it (answered before the running Kamailio
    started, no CDR) and records it as ended by the restart, once."""
    kamailio = calls.supervisor.kamailio
    assert kamailio is not None
    async with sipp(
        "uas_call.xml", calls.work, local=GATEWAY, media=(GATEWAY[0], 18500), timeout_s=20
    ) as gw:
        await asyncio.sleep(0.3)
        async with sipp(
            "uac_call_held.xml",
            calls.work,
            remote=calls.proxy,
            local=PHONE,
            media=(PHONE[0], 18600),
            rows=[call_row(calls.accounts["2000"], "0612345670", ACME)],
            timeout_s=20,
            extra=["-d", "20000"],
        ) as phone_run:
            await asyncio.sleep(2.0)  # answered and talking
            await kamailio.restart()
            phone_run.proc.kill()
            phone = await phone_run.finish()
        gw.proc.kill()
        await gw.finish()
    cid = call_id(phone)
    started = calls.supervisor.control.started_at

    async def collect_with_restarts() -> list[CallRecord]:
        async with calls.orm():
            await CallCollector(calls.supervisor.control.db, pbx_started=started).collect()
            return await CallRecord.filter(callid=cid).all()

    found: list[CallRecord] = []
    for _ in range(40):
        found = await collect_with_restarts()
        if found:
            break
        await asyncio.sleep(0.25)
    [record] = found
    assert record.disposition == "answered"
    assert record.reason == RESTART_REASON
    assert record.call_type == "mobile" and record.dialled == "0612345670"
    assert record.answered_at is not None and record.ended_at >= record.answered_at
    assert 1 <= record.duration <= 10
    # Collected again (a later round, a restarted provd): still one.
    assert len(await collect_with_restarts()) == 1
