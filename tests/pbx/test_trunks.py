"""A customer's PBX on a SIP trunk, through real Kamailio + rtpengine: sipp plays the
PBX (registering with the trunk's accounts, calling out with its caller ID in
P-Asserted-Identity), the carrier and a phone. The trunk is made by provd's trunk
service, as the console wizard and ``provd trunk add`` make it.

Tenant acme owns +31201234510..519: the trunk "hq" has 510 (inbound and caller ID, its
main number), 511 (caller ID only) and 512 (inbound); 513 is the tenant's, not the
trunk's. Failover: user 2000.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from provd.db.models import Carrier, PhoneNumber, Tenant
from provd.pbx.errors import RpcError
from provd.services import audit
from provd.services.platform import Platform
from provd.services.trunks import NumberOnTrunk
from provd.services.trunks.create import add_trunk
from provd.services.trunks.remove import remove_trunk
from provd.services.trunks.update import update_trunk
from provd.settings import Settings
from tests.pbx.conftest import ACME, MEDIA_IP, PROXY_IP, PbxEnv, ip, unregister
from tests.pbx.sippctl import SippResult, run_sipp, sipp

pytestmark = pytest.mark.asyncio(loop_scope="session")

PBX = ip(80)  # the customer's PBX: its trunk's only allowed address
PBX_UAS = (PBX, 5090)  # where it takes calls (its registered Contact)
PBX_UAS_2 = (PBX, 5092)  # its secondary account's Contact
PBX_UAC = (PBX, 5094)
PBX_UAC_2 = (PBX, 5096)
PBX_UAC_3 = (PBX, 5098)
OUTSIDER = (ip(81), 5090)  # the right password from the wrong address
CARRIER = (ip(82), 5060)
CARRIER_UAC = (ip(82), 5062)
PHONE_2000 = (ip(83), 5066)
MAIN, CLI_ONLY, DID, NOT_ON_TRUNK = (f"+3120123451{i}" for i in range(4))
ACTOR = audit.Actor("cli:test")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def trunk(pbx: PbxEnv) -> AsyncIterator[dict[str, str]]:
    """The trunk and its passwords by account role."""
    platform = Platform(pbx.data_dir, Settings(), pbx.box)
    async with pbx.orm():
        tenant = await Tenant.get(sip_domain=ACME)
        await PhoneNumber.bulk_create(
            [
                PhoneNumber(
                    e164=f"+3120123451{i}",
                    tenant=tenant,
                    block_first="+31201234510",
                    block_count=10,
                )
                for i in range(10)
            ]
        )
        await Carrier.create(
            name="main", host=CARRIER[0], port=CARRIER[1], transport="udp", priority=10
        )
        made = await add_trunk(
            platform,
            ACTOR,
            "acme",
            "hq",
            channels=2,
            allow_ips=[PBX],
            number_format="national",
            brand="asterisk",
            numbers=[
                NumberOnTrunk(MAIN),
                NumberOnTrunk(CLI_ONLY, inbound=False),
                NumberOnTrunk(DID, caller_id=False),
            ],
            failover="user:2000",
            ring_seconds=5,
        )
        await pbx.supervisor.control.sync_subscribers(pbx.box)
    await pbx.refresh_routing()
    try:
        yield made.passwords
    finally:
        async with pbx.orm():
            await remove_trunk(platform, ACTOR, "acme", "hq")
            await PhoneNumber.filter(tenant=tenant).delete()
            await Carrier.all().delete()
            await pbx.supervisor.control.sync_subscribers(pbx.box)
        await pbx.refresh_routing()
        await unregister(pbx, ("2000", "hq-primary", "hq-secondary"))


def auth(username: str, password: str) -> str:
    return f"[authentication username={username} password={password}]"


async def register(
    pbx: PbxEnv, account: str, password: str, contact: tuple[str, int]
) -> SippResult:
    """Register ``account`` from ``contact``: Kamailio sends calls to the address a
    REGISTER came from, so the PBX registers from where it takes calls."""
    row = [account, ACME, auth(account, password), "3600", f"{contact[0]}:{contact[1]}"]
    return await run_sipp("register.xml", pbx.work, remote=pbx.proxy, local=contact, rows=[row])


def header(message: str, name: str) -> str | None:
    found = re.search(rf"^{name}:\s*(.*)$", message, re.M | re.I)
    return found.group(1).strip() if found else None


def ruri(message: str) -> str:
    return message.split("\n", 1)[0].split()[1]


def pbx_row(
    password: str,
    dialled: str,
    line: str,
    line2: str = "X-Test: 1",
    *,
    caller: str = "0201234510",
    account: str = "hq-primary",
) -> list[str]:
    return [caller, ACME, auth(account, password), dialled, ACME, line, line2]


async def pbx_calls_out(
    pbx: PbxEnv,
    password: str,
    dialled: str,
    line: str,
    line2: str = "X-Test: 1",
    *,
    local: tuple[str, int] = PBX_UAC,
) -> tuple[SippResult, SippResult]:
    """The PBX dials ``dialled``; the carrier's gateway answers. (pbx run, gateway run)"""
    async with sipp(
        "uas_call.xml", pbx.work, local=CARRIER, media=(CARRIER[0], 18500), timeout_s=12
    ) as gateway:
        await asyncio.sleep(0.3)
        caller = await run_sipp(
            "pbx_call.xml",
            pbx.work,
            remote=pbx.proxy,
            local=local,
            media=(local[0], 18600),
            rows=[pbx_row(password, dialled, line, line2)],
            timeout_s=12,
        )
        answered = await gateway.finish()
    return caller, answered


async def test_outbound_leaves_in_e164_with_the_trunks_number_in_pai(
    pbx: PbxEnv, trunk: dict[str, str]
) -> None:
    caller, gateway = await pbx_calls_out(
        pbx, trunk["primary"], "0201234567", f"P-Asserted-Identity: <sip:0201234511@{ACME}>"
    )
    assert caller.rc == 0, caller.messages
    assert gateway.rc == 0, gateway.messages
    [invite] = gateway.received("INVITE ")
    assert ruri(invite) == f"sip:+31201234567@{CARRIER[0]}:{CARRIER[1]}"
    assert header(invite, "P-Asserted-Identity") == f"<sip:{CLI_ONLY}@{ACME}>"
    assert re.search(rf"^From: <sip:{re.escape(CLI_ONLY)}@", invite, re.M), invite
    assert re.search(rf"^c=IN IP4 {re.escape(MEDIA_IP)}$", invite, re.M), invite


async def test_the_secondary_account_calls_out_as_well(pbx: PbxEnv, trunk: dict[str, str]) -> None:
    """What the PBX falls back on when the primary account is down."""
    async with sipp(
        "uas_call.xml", pbx.work, local=CARRIER, media=(CARRIER[0], 18500), timeout_s=12
    ) as gateway:
        await asyncio.sleep(0.3)
        caller = await run_sipp(
            "pbx_call.xml",
            pbx.work,
            remote=pbx.proxy,
            local=PBX_UAC_2,
            media=(PBX, 18640),
            rows=[
                pbx_row(
                    trunk["secondary"],
                    "0031201234567",
                    f"P-Asserted-Identity: <sip:{MAIN}@{ACME}>",
                    account="hq-secondary",
                )
            ],
            timeout_s=12,
        )
        answered = await gateway.finish()
    assert caller.rc == 0, caller.messages
    assert answered.rc == 0, answered.messages
    [invite] = answered.received("INVITE ")
    assert ruri(invite) == f"sip:+31201234567@{CARRIER[0]}:{CARRIER[1]}"
    assert header(invite, "P-Asserted-Identity") == f"<sip:{MAIN}@{ACME}>"


async def test_a_pai_outside_the_trunks_numbers_is_replaced_by_its_main_number(
    pbx: PbxEnv, trunk: dict[str, str]
) -> None:
    caller, gateway = await pbx_calls_out(
        pbx, trunk["primary"], "0201234567", f"P-Asserted-Identity: <sip:+31201234513@{ACME}>"
    )
    assert caller.rc == 0 and gateway.rc == 0, caller.messages
    [invite] = gateway.received("INVITE ")
    assert header(invite, "P-Asserted-Identity") == f"<sip:{MAIN}@{ACME}>"


async def test_privacy_id_passes_to_the_carrier_with_pai_intact(
    pbx: PbxEnv, trunk: dict[str, str]
) -> None:
    caller, gateway = await pbx_calls_out(
        pbx,
        trunk["primary"],
        "0201234567",
        f"P-Asserted-Identity: <sip:{CLI_ONLY}@{ACME}>",
        "Privacy: id",
    )
    assert caller.rc == 0 and gateway.rc == 0, caller.messages
    [invite] = gateway.received("INVITE ")
    assert header(invite, "Privacy") == "id"
    assert header(invite, "P-Asserted-Identity") == f"<sip:{CLI_ONLY}@{ACME}>"
    assert re.search(r"^From: .*<sip:anonymous@anonymous\.invalid>", invite, re.M), invite


async def test_a_foreign_pai_is_refused_when_the_trunk_says_so(
    pbx: PbxEnv, trunk: dict[str, str]
) -> None:
    platform = Platform(pbx.data_dir, Settings(), pbx.box)
    async with pbx.orm():
        await update_trunk(platform, ACTOR, "acme", "hq", caller_id_policy="refuse")
    await pbx.refresh_routing()
    try:
        result = await run_sipp(
            "pbx_call.xml",
            pbx.work,
            remote=pbx.proxy,
            local=PBX_UAC,
            rows=[
                pbx_row(trunk["primary"], "0201234567", "P-Asserted-Identity: <sip:0209999999@x>")
            ],
        )
    finally:
        async with pbx.orm():
            await update_trunk(platform, ACTOR, "acme", "hq", caller_id_policy="replace")
        await pbx.refresh_routing()
    assert result.rc == 0, result.messages
    assert "SIP/2.0 403 Forbidden: caller ID not allowed on this trunk" in result.messages


async def test_the_right_password_from_outside_the_allowed_networks_is_refused(
    pbx: PbxEnv, trunk: dict[str, str]
) -> None:
    row = ["hq-primary", ACME, auth("hq-primary", trunk["primary"]), "3600", f"{OUTSIDER[0]}:5090"]
    result = await run_sipp(
        "register_refused.xml", pbx.work, remote=pbx.proxy, local=OUTSIDER, rows=[row]
    )
    assert result.rc == 0, result.messages
    assert "SIP/2.0 403 Address not allowed for this trunk" in result.messages
    call = await run_sipp(
        "pbx_call.xml",
        pbx.work,
        remote=pbx.proxy,
        local=OUTSIDER,
        rows=[pbx_row(trunk["primary"], "0201234567", f"P-Asserted-Identity: <sip:{MAIN}@x>")],
    )
    assert call.rc == 0, call.messages
    assert "SIP/2.0 403 Address not allowed for this trunk" in call.messages


async def test_the_third_concurrent_call_on_two_channels_is_refused(
    pbx: PbxEnv, trunk: dict[str, str]
) -> None:
    line = f"P-Asserted-Identity: <sip:{MAIN}@{ACME}>"
    async with (
        sipp(
            "uas_call.xml",
            pbx.work,
            local=CARRIER,
            media=(CARRIER[0], 18500),
            calls=2,
            timeout_s=20,
            extra=["-l", "2"],
        ) as gateway,
        sipp(
            "pbx_call.xml",
            pbx.work,
            remote=pbx.proxy,
            local=PBX_UAC,
            media=(PBX, 18600),
            rows=[pbx_row(trunk["primary"], "0201234567", line)],
            timeout_s=20,
            extra=["-d", "6000"],
        ) as first,
        sipp(
            "pbx_call.xml",
            pbx.work,
            remote=pbx.proxy,
            local=PBX_UAC_2,
            media=(PBX, 18620),
            rows=[pbx_row(trunk["primary"], "0201234568", line)],
            timeout_s=20,
            extra=["-d", "6000"],
        ) as second,
    ):
        # Both calls are up (the gateway answered them) before the third is tried.
        for _ in range(40):
            if await _channels_in_use(pbx) == 2:
                break
            await asyncio.sleep(0.1)
        assert await _channels_in_use(pbx) == 2
        third = await run_sipp(
            "pbx_call.xml",
            pbx.work,
            remote=pbx.proxy,
            local=PBX_UAC_3,
            rows=[pbx_row(trunk["primary"], "0201234569", line)],
        )
        one, two, answered = await first.finish(), await second.finish(), await gateway.finish()
    assert third.rc == 0, third.messages
    assert "SIP/2.0 503 Channel limit reached" in third.messages
    assert one.rc == 0 and two.rc == 0, (one.messages, two.messages)
    assert answered.rc == 0, answered.messages
    assert len(answered.received("INVITE ")) == 2
    # Channels are given back when calls end.
    assert await _channels_in_use(pbx) == 0


async def _channels_in_use(pbx: PbxEnv) -> int:
    try:
        reply = await pbx.supervisor.control.rpc.call("dlg.profile_get_size", "channels", "acme/hq")
    except RpcError:
        return 0
    return int(reply["size"]) if isinstance(reply, dict) else int(reply)


async def test_inbound_reaches_the_registered_pbx_in_its_number_format(
    pbx: PbxEnv, trunk: dict[str, str]
) -> None:
    registered = await register(pbx, "hq-primary", trunk["primary"], PBX_UAS)
    assert registered.rc == 0, registered.messages
    try:
        async with sipp(
            "uas_call.xml", pbx.work, local=PBX_UAS, media=(PBX, 18700), timeout_s=12
        ) as pbx_side:
            await asyncio.sleep(0.3)
            carrier = await run_sipp(
                "carrier_call.xml",
                pbx.work,
                remote=pbx.proxy,
                local=CARRIER_UAC,
                media=(CARRIER_UAC[0], 18720),
                rows=[[DID, "+31612345678", "Jan", "X-Test: 1"]],
                timeout_s=12,
            )
            answered = await pbx_side.finish()
    finally:
        await unregister(pbx, ("hq-primary",))
    assert carrier.rc == 0, carrier.messages
    assert answered.rc == 0, answered.messages
    [invite] = answered.received("INVITE ")
    # National format: the number called and the caller, as the PBX's country dials them.
    assert ruri(invite).startswith("sip:0201234512@"), invite
    assert re.search(r"^To: <sip:0201234512@", invite, re.M), invite
    assert re.search(r"^From: .*<sip:0612345678@", invite, re.M), invite
    assert re.search(rf"^c=IN IP4 {re.escape(MEDIA_IP)}$", invite, re.M), invite


async def test_inbound_goes_to_the_failover_when_the_pbx_does_not_answer(
    pbx: PbxEnv, trunk: dict[str, str]
) -> None:
    registered = await register(pbx, "hq-primary", trunk["primary"], PBX_UAS)
    assert registered.rc == 0, registered.messages
    phone = await run_sipp(
        "register.xml",
        pbx.work,
        remote=pbx.proxy,
        local=PHONE_2000,
        rows=[[*_phone_row(pbx)]],
    )
    assert phone.rc == 0, phone.messages
    try:
        async with (
            sipp("uas_cancel.xml", pbx.work, local=PBX_UAS, timeout_s=15) as ringing,
            sipp(
                "uas_call.xml",
                pbx.work,
                local=PHONE_2000,
                media=(PHONE_2000[0], 18740),
                timeout_s=15,
            ) as reception,
        ):
            await asyncio.sleep(0.3)
            carrier = await run_sipp(
                "carrier_call.xml",
                pbx.work,
                remote=pbx.proxy,
                local=CARRIER_UAC,
                media=(CARRIER_UAC[0], 18760),
                rows=[[DID, "+31612345678", "Jan", "X-Test: 1"]],
                timeout_s=15,
            )
            rang, answered = await ringing.finish(), await reception.finish()
    finally:
        await unregister(pbx, ("hq-primary", "2000"))
    assert carrier.rc == 0, carrier.messages
    # The PBX rang for the trunk's 5 s and was cancelled; the secondary account is not
    # registered; user 2000 (the failover) answered.
    assert rang.rc == 0, rang.messages
    assert answered.rc == 0, answered.messages
    [invite] = answered.received("INVITE ")
    assert ruri(invite).startswith("sip:2000@"), invite


async def test_inbound_fails_over_to_the_secondary_account(
    pbx: PbxEnv, trunk: dict[str, str]
) -> None:
    # The primary's Contact is registered but dead (nothing listens there).
    first = await register(pbx, "hq-primary", trunk["primary"], (PBX, 5099))
    second = await register(pbx, "hq-secondary", trunk["secondary"], PBX_UAS_2)
    assert first.rc == 0 and second.rc == 0, (first.messages, second.messages)
    try:
        async with sipp(
            "uas_call.xml", pbx.work, local=PBX_UAS_2, media=(PBX, 18780), timeout_s=15
        ) as secondary:
            await asyncio.sleep(0.3)
            carrier = await run_sipp(
                "carrier_call.xml",
                pbx.work,
                remote=pbx.proxy,
                local=CARRIER_UAC,
                media=(CARRIER_UAC[0], 18800),
                rows=[[DID, "+31612345678", "Jan", "X-Test: 1"]],
                timeout_s=15,
            )
            answered = await secondary.finish()
    finally:
        await unregister(pbx, ("hq-primary", "hq-secondary"))
    assert carrier.rc == 0, carrier.messages
    assert answered.rc == 0, answered.messages
    [invite] = answered.received("INVITE ")
    assert ruri(invite).startswith("sip:0201234512@"), invite


def _phone_row(pbx: PbxEnv) -> list[str]:
    account = pbx.accounts["2000"]
    return [
        account.extension,
        account.domain,
        account.auth(),
        "3600",
        f"{PHONE_2000[0]}:{PHONE_2000[1]}",
    ]


async def test_the_pbxs_options_keepalive_is_answered_200(pbx: PbxEnv) -> None:
    for target in (ACME, PROXY_IP):
        result = await run_sipp(
            "options_ping.xml", pbx.work, remote=pbx.proxy, local=PBX_UAC, rows=[[target]]
        )
        assert result.rc == 0, result.messages
        assert result.status_codes() == [200]
