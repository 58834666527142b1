"""The outbound policy through real Kamailio + rtpengine, sipp playing a phone and the
carrier's gateway: a blocked destination is refused by provd's plan (403 with the
reason) before anything reaches the carrier; emergency numbers pass whatever is
blocked; an allowed number still goes out.

Tenant acme owns +31201234600..609, +31201234601 is 2000's; the policy is set on the
tenant's and the user's rows as the services store it, and the routing table reloaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from provd.db.models import Carrier, PhoneNumber, Tenant, User
from provd.domain import outbound_policy
from tests.pbx.conftest import ACME, PbxEnv, call_row, ip, reg_row, unregister
from tests.pbx.sippctl import SippResult, run_sipp, sipp

pytestmark = pytest.mark.asyncio(loop_scope="session")

GATEWAY = (ip(120), 5060)  # carrier "policy": its gateway (UAS)
PHONE_2000 = (ip(121), 5066)
DID = "+31201234601"
EVERYTHING = outbound_policy.to_json(
    outbound_policy.parse_policy([c.value for c in outbound_policy.Category], prefixes=["+3110"])
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def outbound(pbx: PbxEnv) -> AsyncIterator[PbxEnv]:
    async with pbx.orm():
        tenant = await Tenant.get(sip_domain=ACME)
        user = await User.get(tenant=tenant, extension="2000")
        await PhoneNumber.bulk_create(
            [
                PhoneNumber(
                    e164=f"+3120123460{i}",
                    tenant=tenant,
                    block_first="+31201234600",
                    block_count=10,
                    assigned_user=user if i == 1 else None,
                )
                for i in range(10)
            ]
        )
        await Carrier.create(
            name="policy", host=GATEWAY[0], port=GATEWAY[1], transport="udp", priority=10
        )
    await pbx.refresh_routing()
    row = reg_row(pbx.accounts["2000"], PHONE_2000)
    result = await run_sipp(
        "register.xml", pbx.work, remote=pbx.proxy, local=PHONE_2000, rows=[row]
    )
    assert result.rc == 0, result.messages
    try:
        yield pbx
    finally:
        async with pbx.orm():
            await PhoneNumber.filter(tenant=tenant).delete()
            await Carrier.filter(name="policy").delete()
            await Tenant.filter(id=tenant.id).update(outbound_policy=None)
            await User.filter(id=user.id).update(outbound_policy=None)
        await pbx.refresh_routing()
        await unregister(pbx, ("2000",))


async def set_policies(pbx: PbxEnv, tenant: object, user: object = None) -> None:
    async with pbx.orm():
        await Tenant.filter(sip_domain=ACME).update(outbound_policy=tenant)
        acme = await Tenant.get(sip_domain=ACME)
        await User.filter(tenant=acme, extension="2000").update(outbound_policy=user)
    await pbx.refresh_routing()


async def dial(
    pbx: PbxEnv, dialled: str, scenario: str, *, gateway_s: float = 15
) -> tuple[SippResult, SippResult]:
    """2000 dials ``dialled``; the carrier's gateway answers whatever reaches it.
    (phone run, gateway run)"""
    async with sipp(
        "uas_call.xml", pbx.work, local=GATEWAY, media=(GATEWAY[0], 18500), timeout_s=gateway_s
    ) as gw:
        await asyncio.sleep(0.3)
        phone = await run_sipp(
            scenario,
            pbx.work,
            remote=pbx.proxy,
            local=PHONE_2000,
            media=(PHONE_2000[0], 18600),
            rows=[call_row(pbx.accounts["2000"], dialled, ACME)],
            timeout_s=15,
        )
        answered = await gw.finish()
    return phone, answered


def ruri(message: str) -> str:
    return message.split("\n", 1)[0].split()[1]


async def test_a_blocked_premium_number_gets_403_with_the_reason_and_never_reaches_the_carrier(
    outbound: PbxEnv,
) -> None:
    premium = outbound_policy.to_json(outbound_policy.parse_policy(["premium"]))
    await set_policies(outbound, premium)
    phone, gateway = await dial(outbound, "0900123456", "call_rejected.xml", gateway_s=3)
    assert phone.rc == 0, phone.messages
    assert phone.status_codes()[-1] == 403
    assert "SIP/2.0 403 Forbidden: destination blocked: premium" in phone.messages
    assert gateway.received("INVITE ") == []


async def test_a_users_own_block_refuses_what_the_tenant_allows(outbound: PbxEnv) -> None:
    mobile = outbound_policy.to_json(outbound_policy.parse_policy(["mobile"]))
    await set_policies(outbound, None, mobile)
    phone, gateway = await dial(outbound, "0612345678", "call_rejected.xml", gateway_s=3)
    assert phone.rc == 0, phone.messages
    assert "SIP/2.0 403 Forbidden: destination blocked: mobile" in phone.messages
    assert gateway.received("INVITE ") == []


async def test_112_goes_out_with_everything_blocked(outbound: PbxEnv) -> None:
    await set_policies(outbound, EVERYTHING, EVERYTHING)
    phone, gateway = await dial(outbound, "112", "uac_call.xml")
    assert phone.rc == 0, phone.messages
    assert gateway.rc == 0, gateway.messages
    [invite] = gateway.received("INVITE ")
    assert ruri(invite) == f"sip:+31112@{GATEWAY[0]}:{GATEWAY[1]}"


async def test_an_allowed_fixed_number_still_reaches_the_carrier(outbound: PbxEnv) -> None:
    premium = outbound_policy.to_json(
        outbound_policy.parse_policy(["premium", "international"], ["nl"])
    )
    await set_policies(outbound, premium, premium)
    phone, gateway = await dial(outbound, "0201234567", "uac_call.xml")
    assert phone.rc == 0, phone.messages
    assert gateway.rc == 0, gateway.messages
    [invite] = gateway.received("INVITE ")
    assert ruri(invite) == f"sip:+31201234567@{GATEWAY[0]}:{GATEWAY[1]}"
