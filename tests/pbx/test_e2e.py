"""End to end through real Kamailio + rtpengine, driven by sipp. Tests run in file order:
registrations first (later tests call the phones registered here), restart last."""

from __future__ import annotations

import asyncio
import os
import re
import signal

import pytest

from provd.db.models import User
from provd.drivers.registry import driver_for
from provd.pbx.notify import CheckSyncOutcome
from provd.pbx.subscribers import tenant_domains
from tests.pbx.conftest import (
    ACME,
    CALLEE,
    CALLER,
    GLOBEX,
    MEDIA_IP,
    OTHER,
    PROXY_IP,
    SPARE,
    Account,
    PbxEnv,
    add_user,
    call_row,
    ip,
    reg_row,
)
from tests.pbx.sippctl import run_sipp, sipp

pytestmark = pytest.mark.asyncio(loop_scope="session")

# What the services send (the PBX layer is handed the event of the phone's vendor).
YEALINK_RESYNC = driver_for("yealink").check_sync_event(reboot=False)
YEALINK_REBOOT = driver_for("yealink").check_sync_event(reboot=True)
SNOM_REBOOT = driver_for("snom").check_sync_event(reboot=True)


async def register(
    pbx: PbxEnv, account: Account, where: tuple[str, int], *, expires: int = 3600
) -> int:
    """Register ``account`` from ``where`` (so calls to it go there); sipp's rc."""
    row = reg_row(account, where, expires=expires)
    result = await run_sipp("register.xml", pbx.work, remote=pbx.proxy, local=where, rows=[row])
    return result.rc


async def test_initial_sync_wrote_every_user(pbx: PbxEnv) -> None:
    assert pbx.initial_sync.written == 4
    assert pbx.initial_sync.deleted == 0
    rows = await pbx.supervisor.control.db.fetch_subscribers()
    assert {(r[0], r[1], r[4]) for r in rows} == {
        ("2000", ACME, "2000"),
        ("acme-2001", ACME, "2001"),
        ("2002", ACME, "2002"),
        ("3000", GLOBEX, "3000"),
    }
    # Only hashes: no stored value contains a plaintext password.
    stored = repr(rows)
    assert all(a.password not in stored for a in pbx.accounts.values())
    async with pbx.orm():
        again = await pbx.supervisor.control.sync_subscribers(pbx.box)
    assert (again.written, again.deleted) == (0, 0)


async def test_two_users_register_with_generated_credentials(pbx: PbxEnv) -> None:
    assert await register(pbx, pbx.accounts["2000"], CALLEE) == 0
    # 2001's digest username (acme-2001) differs from its extension.
    assert await register(pbx, pbx.accounts["2001"], CALLER) == 0
    regs = await pbx.supervisor.control.registrations()
    assert {"2000@acme.test", "2001@acme.test"} <= set(regs)


async def test_wrong_password_is_refused(pbx: PbxEnv) -> None:
    account = pbx.accounts["2002"]
    result = await run_sipp(
        "register_refused.xml",
        pbx.work,
        remote=pbx.proxy,
        local=OTHER,
        rows=[reg_row(account, OTHER, password=account.password + "x")],
    )
    assert result.rc == 0, result.output
    assert result.status_codes() == [401, 401]
    assert not (await pbx.supervisor.control.registration(account.aor)).registered


async def test_credentials_cannot_register_another_extension(pbx: PbxEnv) -> None:
    mine, other = pbx.accounts["2001"], pbx.accounts["2002"]
    row = reg_row(other, OTHER)
    row[2] = mine.auth()  # 2001's valid credentials, 2002's address
    result = await run_sipp(
        "register_refused.xml", pbx.work, remote=pbx.proxy, local=OTHER, rows=[row]
    )
    assert result.rc == 0, result.output
    assert result.status_codes() == [401, 403]
    assert not (await pbx.supervisor.control.registration(other.aor)).registered


def _sdp_lines(message: str) -> tuple[str, int]:
    conn = re.search(r"^c=IN IP4 (\S+)$", message, re.M)
    media = re.search(r"^m=audio (\d+) ", message, re.M)
    assert conn and media, message
    return conn.group(1), int(media.group(1))


async def test_call_between_users_goes_through_rtpengine(pbx: PbxEnv) -> None:
    settings = pbx.supervisor.settings
    caller = pbx.accounts["2001"]
    async with sipp("uas_call.xml", pbx.work, local=CALLEE, media=(CALLEE[0], 18000)) as callee:
        await asyncio.sleep(0.3)  # the UAS must be bound before the INVITE arrives
        caller_run = await run_sipp(
            "uac_call.xml",
            pbx.work,
            remote=pbx.proxy,
            local=CALLER,
            media=(CALLER[0], 16000),
            rows=[call_row(caller, "2000", ACME)],
        )
        callee_run = await callee.finish()
    assert caller_run.rc == 0, caller_run.messages
    assert callee_run.rc == 0, callee_run.messages
    [invite] = callee_run.received("INVITE ")
    ip, port = _sdp_lines(invite)
    assert ip == MEDIA_IP  # the caller offered its own address
    assert settings.rtp_port_min <= port <= settings.rtp_port_max
    assert f"Record-Route: <sip:{PROXY_IP};lr" in invite
    [answer] = [m for m in caller_run.received("SIP/2.0 200 OK") if "CSeq: 2 INVITE" in m]
    ip, port = _sdp_lines(answer)
    assert ip == MEDIA_IP  # the callee answered its own address
    assert settings.rtp_port_min <= port <= settings.rtp_port_max
    assert callee_run.received("BYE ")


async def test_cancelled_call_is_cancelled_at_the_callee(pbx: PbxEnv) -> None:
    caller = pbx.accounts["2001"]
    async with sipp("uas_cancel.xml", pbx.work, local=CALLEE, media=(CALLEE[0], 18000)) as callee:
        await asyncio.sleep(0.3)
        caller_run = await run_sipp(
            "uac_cancel.xml",
            pbx.work,
            remote=pbx.proxy,
            local=CALLER,
            media=(CALLER[0], 16000),
            rows=[call_row(caller, "2000", ACME)],
        )
        callee_run = await callee.finish()
    assert caller_run.rc == 0, caller_run.messages
    assert callee_run.rc == 0, callee_run.messages
    assert callee_run.received("CANCEL ")
    assert 487 in caller_run.status_codes()


async def test_call_to_unknown_extension_gets_404(pbx: PbxEnv) -> None:
    result = await run_sipp(
        "call_rejected.xml",
        pbx.work,
        remote=pbx.proxy,
        local=CALLER,
        rows=[call_row(pbx.accounts["2001"], "2999", ACME)],
    )
    assert result.rc == 0, result.messages
    assert result.status_codes()[-1] == 404


async def test_call_to_another_tenant_is_refused(pbx: PbxEnv) -> None:
    result = await run_sipp(
        "call_rejected.xml",
        pbx.work,
        remote=pbx.proxy,
        local=CALLER,
        rows=[call_row(pbx.accounts["2001"], "3000", GLOBEX)],
    )
    assert result.rc == 0, result.messages
    assert result.status_codes()[-1] == 403
    assert "another tenant" in result.messages


async def test_unauthenticated_invite_is_challenged(pbx: PbxEnv) -> None:
    result = await run_sipp(
        "invite_noauth.xml",
        pbx.work,
        remote=pbx.proxy,
        local=SPARE,
        rows=[call_row(pbx.accounts["2001"], "2000", ACME)],
    )
    assert result.rc == 0, result.messages
    assert result.status_codes() == [407]
    assert "Proxy-Authenticate: Digest" in result.messages


async def test_check_sync_reaches_registered_phone(pbx: PbxEnv) -> None:
    control = pbx.supervisor.control
    async with sipp("uas_notify.xml", pbx.work, local=CALLEE, calls=2) as phone:
        await asyncio.sleep(0.3)
        resync = await control.check_sync("2000@acme.test", event=YEALINK_RESYNC)
        reboot = await control.check_sync("2000@acme.test", event=SNOM_REBOOT)
        received = await phone.finish()
    assert (resync.outcome, resync.status) == (CheckSyncOutcome.DELIVERED, 200)
    assert (reboot.outcome, reboot.status) == (CheckSyncOutcome.DELIVERED, 200)
    assert received.rc == 0, received.output
    notifies = received.received(f"NOTIFY sip:2000@{CALLEE[0]}:{CALLEE[1]}")
    assert len(notifies) == 2
    assert "Event: check-sync;reboot=false" in notifies[0]
    assert "Event: check-sync;reboot=true" in notifies[1]
    # provd's token is for Kamailio only; the phone never sees it.
    assert "X-Provd-Token" not in received.messages


async def test_check_sync_to_one_contact_reaches_that_phone_only(pbx: PbxEnv) -> None:
    # 2000 on a second desk: two bindings, one per phone.
    second_desk = (ip(7), 5076)
    assert await register(pbx, pbx.accounts["2000"], second_desk, expires=600) == 0
    control = pbx.supervisor.control
    try:
        registration = await control.registration("2000@acme.test")
        uris = {c.uri for c in registration.contacts}
        target = f"sip:2000@{second_desk[0]}:{second_desk[1]}"
        assert target in uris and len(uris) == 2
        async with (
            sipp("uas_notify.xml", pbx.work, local=second_desk, timeout_s=4) as chosen,
            sipp("uas_notify.xml", pbx.work, local=CALLEE, timeout_s=4) as other,
        ):
            await asyncio.sleep(0.3)
            result = await control.check_sync(
                "2000@acme.test", event=YEALINK_REBOOT, contact=target
            )
            got = await chosen.finish()
            missed = await other.finish()
        assert (result.outcome, result.status) == (CheckSyncOutcome.DELIVERED, 200)
        assert len(got.received(f"NOTIFY {target}")) == 1
        assert "X-Provd-Contact" not in got.messages
        # The first desk's phone heard nothing (its sipp timed out waiting).
        assert missed.received("NOTIFY") == []

        # A contact that is not (or no longer) registered is not guessed at.
        gone = await control.check_sync(
            "2000@acme.test", event=YEALINK_REBOOT, contact="sip:2000@192.0.2.1:5060"
        )
        assert (gone.outcome, gone.status) == (CheckSyncOutcome.NOT_REGISTERED, 404)
    finally:
        assert await register(pbx, pbx.accounts["2000"], second_desk, expires=0) == 0


async def test_check_sync_reports_not_registered(pbx: PbxEnv) -> None:
    result = await pbx.supervisor.control.check_sync("2002@acme.test", event=YEALINK_RESYNC)
    assert (result.outcome, result.status) == (CheckSyncOutcome.NOT_REGISTERED, 404)
    assert not result.ok


async def test_notify_without_provd_token_is_refused(pbx: PbxEnv) -> None:
    from provd.pbx.notify import check_sync

    control = pbx.supervisor.control
    result = await check_sync(
        control.rpc,
        "2000@acme.test",
        event=YEALINK_REBOOT,
        next_hop=control.next_hop,
        notify_token="forged",
    )
    assert (result.outcome, result.status) == (CheckSyncOutcome.REJECTED, 403)


async def test_registration_status_and_unregister(pbx: PbxEnv) -> None:
    control = pbx.supervisor.control
    account = pbx.accounts["2002"]
    assert await register(pbx, account, OTHER, expires=600) == 0
    reg = await control.registration(account.aor)
    [binding] = reg.contacts
    assert binding.uri == f"sip:2002@{OTHER[0]}:{OTHER[1]}"
    assert binding.user_agent == "Yealink SIP-T46G 28.83.0.120"
    assert str(binding.wan_address) == f"{OTHER[0]}:{OTHER[1]}"
    assert str(binding.lan_address) == f"{OTHER[0]}:{OTHER[1]}"
    assert not binding.behind_nat
    assert 590 <= binding.expires_in <= 600
    assert account.aor in await control.registrations()

    assert await register(pbx, account, OTHER, expires=0) == 0
    assert not (await control.registration(account.aor)).registered
    assert account.aor not in await control.registrations()


async def test_removed_user_is_kicked_and_refused(pbx: PbxEnv) -> None:
    control = pbx.supervisor.control
    async with pbx.orm():
        tenant = (await User.get(extension="2000").prefetch_related("tenant")).tenant
        temp = await add_user(pbx.box, tenant, "2050", "temp-2050")
        added = await control.sync_subscribers(pbx.box)
    assert (added.written, added.deleted) == (1, 0)
    assert await register(pbx, temp, SPARE) == 0
    assert (await control.registration(temp.aor)).registered

    async with pbx.orm():
        await User.filter(extension="2050").delete()
        removed = await control.sync_subscribers(pbx.box)
    assert (removed.deleted, removed.kicked) == (1, (temp.aor,))
    assert not (await control.registration(temp.aor)).registered
    refused = await run_sipp(
        "register_refused.xml", pbx.work, remote=pbx.proxy, local=SPARE, rows=[reg_row(temp, SPARE)]
    )
    assert refused.status_codes() == [401, 401]


def _flood(source: str, target: tuple[str, int], count: int) -> int:
    """Send ``count`` keepalive OPTIONS as fast as possible; count the answers."""
    import socket

    answers = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        port = s.getsockname()[1]
        for i in range(count):
            s.sendto(
                (
                    f"OPTIONS sip:{target[0]} SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP {source}:{port};rport;branch=z9hG4bK-flood{i}\r\n"
                    f"From: <sip:flood@{source}>;tag=f{i}\r\nTo: <sip:{target[0]}>\r\n"
                    f"Call-ID: flood-{i}@{source}\r\nCSeq: 1 OPTIONS\r\n"
                    "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
                ).encode(),
                target,
            )
        s.settimeout(0.5)
        try:
            while True:
                s.recv(4096)
                answers += 1
        except TimeoutError:
            pass
    return answers


async def test_flooding_source_is_banned(pbx: PbxEnv) -> None:
    limit = pbx.supervisor.settings.flood_limit
    assert limit == 200
    source = ip(99)  # its own address: it stays banned for 5 minutes
    answered = await asyncio.to_thread(_flood, source, (PROXY_IP, 5060), 3 * limit)
    assert answered < 3 * limit
    banned = await pbx.supervisor.control.rpc.call("htable.get", "ipban", source)
    assert banned
    assert await asyncio.to_thread(_flood, source, (PROXY_IP, 5060), 1) == 0
    # Everyone else is still served.
    assert await asyncio.to_thread(_flood, ip(98), (PROXY_IP, 5060), 1) == 1


async def test_reconfigure_restarts_only_on_change(pbx: PbxEnv) -> None:
    supervisor = pbx.supervisor
    async with pbx.orm():
        domains = await tenant_domains()
    assert not await supervisor.reconfigure(domains)
    assert supervisor.kamailio is not None
    old_pid = supervisor.kamailio.pid

    # A new tenant's domain needs a restart (no runtime alias in Kamailio).
    assert await supervisor.reconfigure([*domains, "initech.test"])
    local = (supervisor.settings.pbx_dir / "provd-local.cfg").read_text()
    assert 'alias="initech.test"' in local and 'alias="acme.test"' in local
    assert supervisor.kamailio.pid not in (None, old_pid)
    # usrloc write-back flushed on the clean stop and reloaded: phones stay registered.
    assert (await supervisor.control.registration("2001@acme.test")).registered


async def test_supervisor_restarts_killed_kamailio(pbx: PbxEnv) -> None:
    kamailio = pbx.supervisor.kamailio
    assert kamailio is not None and kamailio.pid is not None
    old_pid = kamailio.pid
    os.kill(old_pid, signal.SIGKILL)
    for _ in range(100):
        if kamailio.restarts == 1 and kamailio.ready_event.is_set():
            break
        await asyncio.sleep(0.1)
    assert kamailio.restarts == 1
    assert kamailio.pid not in (None, old_pid)
    assert await pbx.supervisor.control.rpc.call("core.uptime")
    # It serves SIP again: a phone can register.
    assert await register(pbx, pbx.accounts["2002"], OTHER, expires=60) == 0


async def test_supervisor_restarts_killed_rtpengine(pbx: PbxEnv) -> None:
    from provd.pbx import rtpengine

    daemon = pbx.supervisor.rtpengine
    assert daemon is not None and daemon.pid is not None
    old_pid = daemon.pid
    os.kill(old_pid, signal.SIGKILL)
    for _ in range(100):
        if daemon.restarts == 1 and daemon.ready_event.is_set():
            break
        await asyncio.sleep(0.1)
    assert daemon.restarts == 1 and daemon.pid not in (None, old_pid)
    assert await rtpengine.ping(pbx.supervisor.settings.rtpengine_ng)
