"""Calls to and from the telephone network through real Kamailio + rtpengine, sipp playing
the carriers and the phones. Every decision comes from provd's route plan (asked per call
over the route listener); these tests prove Kamailio executes it as written.

Tenant acme owns +31201234500..509: +31201234501 is 2000's, +31201234502 is unassigned;
2002 has no number and the tenant no main number.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from provd.db.models import Carrier, PhoneNumber, Tenant, User
from tests.pbx.conftest import ACME, MEDIA_IP, PbxEnv, call_row, ip, reg_row, unregister
from tests.pbx.sippctl import SippResult, run_sipp, sipp

pytestmark = pytest.mark.asyncio(loop_scope="session")

CARRIER = (ip(20), 5060)  # carrier "main": its gateway (UAS) and where it calls from
CARRIER_UAC = (ip(20), 5062)
DEAD_CARRIER = (ip(21), 5060)  # nothing listens here
STRANGER = (ip(22), 5064)
PHONE_2000 = (ip(23), 5066)
PHONE_2002 = (ip(24), 5068)
DID = "+31201234501"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pstn(pbx: PbxEnv) -> AsyncIterator[PbxEnv]:
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
            name="main", host=CARRIER[0], port=CARRIER[1], transport="udp", priority=10
        )
    await pbx.refresh_routing()
    for ext, where in (("2000", PHONE_2000), ("2002", PHONE_2002)):
        row = reg_row(pbx.accounts[ext], where)
        result = await run_sipp("register.xml", pbx.work, remote=pbx.proxy, local=where, rows=[row])
        assert result.rc == 0, result.messages
    try:
        yield pbx
    finally:
        async with pbx.orm():
            await PhoneNumber.filter(tenant=tenant).delete()
            await Carrier.all().delete()
        await pbx.refresh_routing()
        await unregister(pbx, ("2000", "2002"))


def header(message: str, name: str) -> str | None:
    found = re.search(rf"^{name}:\s*(.*)$", message, re.M | re.I)
    return found.group(1).strip() if found else None


def ruri(message: str) -> str:
    return message.split("\n", 1)[0].split()[1]


async def carrier_calls_in(
    pbx: PbxEnv, dialled: str, extra: str = "X-Test: 1", *, caller: str = "0612345678"
) -> tuple[SippResult, SippResult]:
    """The carrier calls ``dialled``; 2000's phone answers. (carrier run, phone run)"""
    async with sipp(
        "uas_call.xml", pbx.work, local=PHONE_2000, media=(PHONE_2000[0], 18100)
    ) as phone:
        await asyncio.sleep(0.3)
        carrier = await run_sipp(
            "carrier_call.xml",
            pbx.work,
            remote=pbx.proxy,
            local=CARRIER_UAC,
            media=(CARRIER_UAC[0], 18200),
            rows=[[dialled, caller, "Jan Jansen", extra]],
        )
        answered = await phone.finish()
    return carrier, answered


async def phone_calls_out(
    pbx: PbxEnv,
    ext: str,
    where: tuple[str, int],
    dialled: str,
    *,
    gateway: tuple[str, int] = CARRIER,
) -> tuple[SippResult, SippResult]:
    """``ext`` dials ``dialled``; the carrier's gateway answers. (phone run, gateway run)"""
    async with sipp(
        "uas_call.xml", pbx.work, local=gateway, media=(gateway[0], 18300), timeout_s=15
    ) as gw:
        await asyncio.sleep(0.3)
        phone = await run_sipp(
            "uac_call.xml",
            pbx.work,
            remote=pbx.proxy,
            local=where,
            media=(where[0], 18400),
            rows=[call_row(pbx.accounts[ext], dialled, ACME)],
            timeout_s=15,
        )
        answered = await gw.finish()
    return phone, answered


async def test_a_carrier_call_to_a_did_rings_the_users_phone_through_rtpengine(
    pstn: PbxEnv,
) -> None:
    carrier, phone = await carrier_calls_in(
        pstn, "0201234501", "P-Asserted-Identity: <sip:+31612345678@carrier.test>"
    )
    assert carrier.rc == 0, carrier.messages
    assert phone.rc == 0, phone.messages
    [invite] = phone.received("INVITE ")
    # The caller's number in the tenant's national form, the carrier's display name kept.
    assert header(invite, "From") is not None
    assert re.search(r'^From: "?Jan Jansen"? <sip:0612345678@acme\.test>', invite, re.M), invite
    assert header(invite, "P-Asserted-Identity") is None
    # Media through rtpengine, both ways.
    assert re.search(rf"^c=IN IP4 {re.escape(MEDIA_IP)}$", invite, re.M), invite
    [ok] = [m for m in carrier.received("SIP/2.0 200 OK") if "INVITE" in (header(m, "CSeq") or "")]
    assert re.search(rf"^c=IN IP4 {re.escape(MEDIA_IP)}$", ok, re.M), ok
    # uac restored the From the carrier sent in what reached it back.
    assert f'From: "Jan Jansen" <sip:0612345678@{CARRIER_UAC[0]}>' in ok, ok
    assert phone.received("BYE ")


async def test_an_anonymous_caller_is_shown_as_anonymous(pstn: PbxEnv) -> None:
    carrier, phone = await carrier_calls_in(
        pstn, "+31201234501", "Privacy: id", caller="0612345678"
    )
    assert carrier.rc == 0 and phone.rc == 0, carrier.messages
    [invite] = phone.received("INVITE ")
    assert re.search(r'^From: "?Anonymous"? <sip:anonymous@anonymous\.invalid>', invite, re.M), (
        invite
    )
    assert header(invite, "Privacy") is None


@pytest.mark.parametrize(
    ("dialled", "code", "reason"),
    [("0201234502", 404, "Number not in use"), ("0209999999", 404, "Number not in use")],
)
async def test_a_did_not_in_use_gets_404(
    pstn: PbxEnv, dialled: str, code: int, reason: str
) -> None:
    result = await run_sipp(
        "carrier_rejected.xml",
        pstn.work,
        remote=pstn.proxy,
        local=CARRIER_UAC,
        rows=[[dialled, "0612345678", "Jan", "X-Test: 1"]],
    )
    assert result.rc == 0, result.messages
    assert f"SIP/2.0 {code} {reason}" in result.messages


async def test_an_invite_to_a_did_from_a_non_carrier_address_is_refused(pstn: PbxEnv) -> None:
    result = await run_sipp(
        "carrier_rejected.xml",
        pstn.work,
        remote=pstn.proxy,
        local=STRANGER,
        rows=[[DID, "0612345678", "Jan", "X-Test: 1"]],
    )
    assert result.rc == 0, result.messages
    assert result.status_codes()[-1] == 403
    # Refused outright, not challenged: there is nothing to authenticate against.
    assert "Proxy-Authenticate" not in result.messages


async def test_a_national_number_leaves_as_e164_with_the_users_number_in_pai(pstn: PbxEnv) -> None:
    phone, gateway = await phone_calls_out(pstn, "2000", PHONE_2000, "0201234567")
    assert phone.rc == 0, phone.messages
    assert gateway.rc == 0, gateway.messages
    [invite] = gateway.received("INVITE ")
    assert ruri(invite) == f"sip:+31201234567@{CARRIER[0]}:{CARRIER[1]}"
    assert header(invite, "P-Asserted-Identity") == f"<sip:{DID}@acme.test>"
    assert re.search(rf"^From: <sip:{re.escape(DID)}@acme\.test>", invite, re.M), invite
    assert re.search(r"^To: <sip:\+31201234567@", invite, re.M), invite
    assert header(invite, "Privacy") is None
    assert re.search(rf"^c=IN IP4 {re.escape(MEDIA_IP)}$", invite, re.M), invite
    # The phone's own From came back to it unchanged (uac restores it).
    [ok] = [m for m in phone.received("SIP/2.0 200 OK") if "INVITE" in (header(m, "CSeq") or "")]
    assert re.search(r"^From: <sip:2000@acme\.test>", ok, re.M), ok


async def test_the_31_prefix_hides_the_number_with_privacy_id_and_a_true_pai(pstn: PbxEnv) -> None:
    phone, gateway = await phone_calls_out(pstn, "2000", PHONE_2000, "%2331%230612345678")
    assert phone.rc == 0 and gateway.rc == 0, phone.messages
    [invite] = gateway.received("INVITE ")
    assert ruri(invite).startswith("sip:+31612345678@")
    assert header(invite, "Privacy") == "id"
    assert header(invite, "P-Asserted-Identity") == f"<sip:{DID}@acme.test>"
    assert re.search(r"^From: \"?Anonymous\"? <sip:anonymous@anonymous\.invalid>", invite, re.M)


async def test_112_goes_out_for_a_user_with_no_number(pstn: PbxEnv) -> None:
    phone, gateway = await phone_calls_out(pstn, "2002", PHONE_2002, "112")
    assert phone.rc == 0 and gateway.rc == 0, phone.messages
    [invite] = gateway.received("INVITE ")
    assert ruri(invite) == f"sip:+31112@{CARRIER[0]}:{CARRIER[1]}"
    assert header(invite, "P-Asserted-Identity") is None
    assert re.search(r"^From: \"?Anonymous\"? <sip:anonymous@anonymous\.invalid>", invite, re.M)


async def test_a_user_with_no_number_cannot_call_the_network(pstn: PbxEnv) -> None:
    result = await run_sipp(
        "call_rejected.xml",
        pstn.work,
        remote=pstn.proxy,
        local=PHONE_2002,
        rows=[call_row(pstn.accounts["2002"], "0201234567", ACME)],
    )
    assert result.rc == 0, result.messages
    assert result.status_codes()[-1] == 403


async def test_with_the_first_carrier_down_the_second_gets_the_call(pstn: PbxEnv) -> None:
    async with pstn.orm():
        await Carrier.create(
            name="dead", host=DEAD_CARRIER[0], port=DEAD_CARRIER[1], transport="udp", priority=1
        )
    await pstn.refresh_routing()
    try:
        phone, gateway = await phone_calls_out(pstn, "2000", PHONE_2000, "0201234567")
    finally:
        async with pstn.orm():
            await Carrier.filter(name="dead").delete()
        await pstn.refresh_routing()
    assert phone.rc == 0, phone.messages
    assert gateway.rc == 0, gateway.messages
    [invite] = gateway.received("INVITE ")
    assert ruri(invite) == f"sip:+31201234567@{CARRIER[0]}:{CARRIER[1]}"
    assert header(invite, "P-Asserted-Identity") == f"<sip:{DID}@acme.test>"


REGISTRAR = (ip(25), 5060)  # carrier "reg": its registrar, and where it calls from
REGISTRAR_UAC = (ip(25), 5062)


async def test_kamailio_registers_with_a_carrier_and_takes_calls_through_it(
    pstn: PbxEnv,
) -> None:
    control = pstn.supervisor.control
    async with sipp("carrier_registrar.xml", pstn.work, local=REGISTRAR, timeout_s=30) as registrar:
        async with pstn.orm():
            await Carrier.create(
                name="reg",
                host=REGISTRAR[0],
                port=REGISTRAR[1],
                transport="udp",
                username="31201234500",
                password_enc=pstn.box.seal("carrier-Secret-42"),
                priority=50,
            )
            assert await control.sync_registrations(pstn.box)
            assert not await control.sync_registrations(pstn.box)  # nothing left to change
        await pstn.refresh_routing()
        registered = await registrar.finish()
    try:
        assert registered.rc == 0, registered.output
        first, second = registered.received("REGISTER ")
        assert header(first, "Authorization") is None
        auth = header(second, "Authorization") or ""
        assert 'username="31201234500"' in auth and 'realm="carrier.test"' in auth
        assert "SIP/2.0 200 OK" in registered.messages
        assert "403 Wrong Credentials" not in registered.messages
        assert re.search(rf"^Contact: <sip:reg@{re.escape(pstn.proxy)}>", second, re.M), second
        # The password never travels: only the digest answer does.
        assert "carrier-Secret-42" not in registered.messages

        # The carrier sends a call for +31201234501 to the registration's Contact.
        async with sipp(
            "uas_call.xml", pstn.work, local=PHONE_2000, media=(PHONE_2000[0], 18100)
        ) as phone:
            await asyncio.sleep(0.3)
            carrier = await run_sipp(
                "carrier_call_registered.xml",
                pstn.work,
                remote=pstn.proxy,
                local=REGISTRAR_UAC,
                media=(REGISTRAR_UAC[0], 18200),
                rows=[["reg", "0612345678", "Jan", "X-Test: 1", DID]],
            )
            answered = await phone.finish()
        assert carrier.rc == 0, carrier.messages
        assert answered.rc == 0, answered.messages
        [invite] = answered.received("INVITE ")
        assert ruri(invite).startswith("sip:2000@")
    finally:
        async with pstn.orm():
            await Carrier.filter(name="reg").delete()
            assert await control.sync_registrations(pstn.box)
        await pstn.refresh_routing()
