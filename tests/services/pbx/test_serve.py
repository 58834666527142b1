"""The PBX as ``serve`` runs it: real Kamailio and rtpengine on their own loopback
addresses, kept in step with changes made here (hook) and by other processes (audit watch)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from provd.db.models import AuditEntry
from provd.pbx import PbxSettings
from provd.services import devices, pbx
from provd.services.directory import tenants, users
from provd.services.pbx import PbxMode, PbxNotRunning, PbxRuntime
from provd.services.pbx.serve import ServedPbx, default_sip_address
from provd.services.platform import Platform
from provd.settings import Settings
from tests.conftest import TEST_ACTOR
from tests.pbx.conftest import Account, ip, reg_row
from tests.pbx.sippctl import run_sipp, sipp

pytestmark = pytest.mark.slow

PROXY = ip(181)
PHONE = (ip(182), 5061)
SECOND_DESK = (ip(184), 5063)
DOMAIN = "default.provd.internal"


def _runtime(p: Platform, mode: PbxMode = PbxMode.SUPERVISED) -> PbxRuntime:
    settings = PbxSettings.for_provd(
        p.data_dir,
        None,
        sip_address=PROXY,
        rpc_address=PROXY,
        rtpengine_ng_address=PROXY,
        media_address=ip(183),
        children=1,
    )
    return PbxRuntime(mode, settings)


def _elsewhere(p: Platform) -> Platform:
    """The platform another process (the CLI) has: same data, none of serve's hooks."""
    return Platform(p.data_dir, p.settings, p.box)


async def _within(seconds: float, check: Callable[[], Awaitable[bool]]) -> float:
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < seconds, "not within the time allowed"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_supervised_pbx_follows_account_changes_and_serves_status(
    platform: Platform,
) -> None:
    served = ServedPbx(platform, _runtime(platform), poll_s=0.1)
    control = await served.start()
    try:
        assert pbx.load_runtime(platform.data_dir, None) == served.runtime

        async def subscribers() -> set[str]:
            return {row[0] for row in await control.db.fetch_subscribers()}

        # Through this process's services: in Kamailio by the time add_user returns.
        _, password = await users.add_user(platform, TEST_ACTOR, "default", "201", "Here")
        assert await subscribers() == {"201"}

        # Through another process: the audit watch picks it up.
        other = _elsewhere(platform)
        await users.add_user(other, TEST_ACTOR, "default", "202", "Elsewhere")
        await _within(3, lambda: _has(subscribers, "202"))
        assert served.supervisor is not None
        kamailio = served.supervisor.kamailio
        assert kamailio is not None
        old_pid = kamailio.pid
        await tenants.add_tenant(other, TEST_ACTOR, "acme", sip_domain="acme.test")
        local = platform.data_dir / "pbx" / "provd-local.cfg"
        await _within(5, lambda: _contains(local, 'alias="acme.test"'))

        async def restarted() -> bool:
            return kamailio.pid not in (None, old_pid) and kamailio.ready_event.is_set()

        await _within(5, restarted)

        # Status and check-sync for a phone registered with 201's credentials.
        d, _ = await devices.add_device(
            platform, TEST_ACTOR, "001565000001", "yealink-t46g", users=["201"]
        )
        account = Account("201", DOMAIN, "201", password)
        workdir = platform.data_dir
        done = await run_sipp(
            "register.xml",
            workdir,
            remote=f"{PROXY}:5060",
            local=PHONE,
            rows=[reg_row(account, PHONE)],
        )
        assert done.rc == 0, done.output
        [line] = (await pbx.device_registrations(control, [d]))[d.mac]
        assert line.view()["wan_address"] == f"{PHONE[0]}:{PHONE[1]}"
        async with sipp("uas_notify.xml", workdir, local=PHONE) as phone:
            await asyncio.sleep(0.3)
            outcome = await pbx.check_sync_device(control, TEST_ACTOR, d.mac, reboot=True)
            received = await phone.finish()
        assert outcome.delivered
        assert [line.text for line in outcome.lines] == ["sent (phone answered 200)"]
        assert "Event: check-sync;reboot=true" in received.received("NOTIFY ")[0]
        row = await AuditEntry.get(action="device.reboot")
        assert (row.actor, row.object_key) == (TEST_ACTOR.name, d.mac)
        assert row.after["lines"][0]["outcome"] == "delivered"

        # 201 on a second desk: a reboot of that desk's phone reaches it and not the first.
        d2, _ = await devices.add_device(
            platform, TEST_ACTOR, "001565000002", "yealink-t46g", users=["201"]
        )
        for device, where in ((d, PHONE), (d2, SECOND_DESK)):
            device.last_fetch_ip = where[0]
            await device.save(update_fields=["last_fetch_ip"])
        done = await run_sipp(
            "register.xml",
            workdir,
            remote=f"{PROXY}:5060",
            local=SECOND_DESK,
            rows=[reg_row(account, SECOND_DESK)],
        )
        assert done.rc == 0, done.output
        async with (
            sipp("uas_notify.xml", workdir, local=SECOND_DESK, timeout_s=4) as second,
            sipp("uas_notify.xml", workdir, local=PHONE, timeout_s=4) as first,
        ):
            await asyncio.sleep(0.3)
            outcome = await pbx.check_sync_device(control, TEST_ACTOR, d2.mac, reboot=True)
            got, missed = await second.finish(), await first.finish()
        assert outcome.delivered
        assert len(got.received("NOTIFY ")) == 1
        assert missed.received("NOTIFY ") == [], "the first desk was rebooted too"
        await devices.remove_device(TEST_ACTOR, d2.mac)

        # Removed elsewhere: its subscriber goes and so does its live registration.
        await devices.remove_device(TEST_ACTOR, d.mac)
        await users.remove_user(other, TEST_ACTOR, "default", "201")
        await _within(3, lambda: _lacks(subscribers, "201"))

        # The sync deletes the row, then ends the binding: the second follows the first.
        async def unregistered() -> bool:
            return not (await control.registration(f"201@{DOMAIN}")).registered

        await _within(3, unregistered)
    finally:
        await served.stop()
    assert platform.on_accounts_changed == []
    with pytest.raises(PbxNotRunning):
        fresh = pbx.open_control(platform.data_dir, None)
        try:
            await pbx.device_registrations(fresh, [])
        finally:
            if fresh is not None:
                await fresh.close()


async def _has(get: Callable[[], Awaitable[set[str]]], item: str) -> bool:
    return item in await get()


async def _lacks(get: Callable[[], Awaitable[set[str]]], item: str) -> bool:
    return item not in await get()


async def _contains(path: Path, text: str) -> bool:
    return path.exists() and text in path.read_text()


async def test_external_pbx_gets_config_and_subscribers(platform: Platform, tmp_path: Path) -> None:
    runtime = _runtime(platform, PbxMode.EXTERNAL)
    export = tmp_path / "kamailio"
    served = ServedPbx(platform, runtime, export_dir=export, run_dir=tmp_path / "run", poll_s=0.1)
    await users.add_user(platform, TEST_ACTOR, "default", "201", "First")
    control = await served.start()
    try:
        assert 'alias="default.provd.internal"' in (export / "provd-local.cfg").read_text()
        assert (export / "kamailio.cfg").exists()
        assert {r[0] for r in await control.db.fetch_subscribers()} == {"201"}
        await tenants.add_tenant(_elsewhere(platform), TEST_ACTOR, "acme", sip_domain="acme.test")
        await _within(3, lambda: _contains(export / "provd-local.cfg", 'alias="acme.test"'))
        # No Kamailio runs here: status says so instead of guessing.
        with pytest.raises(PbxNotRunning):
            await pbx.device_registrations(control, [])
    finally:
        await served.stop()
    assert pbx.load_runtime(platform.data_dir, None) == runtime


def test_default_sip_address_is_one_this_host_has() -> None:
    import socket

    def bindable(address: str) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind((address, 0))
            except OSError:
                return False
            return True

    chosen = default_sip_address(Settings(public_host="no-such-host.invalid"))
    assert bindable(chosen)
    # A public host that is this machine's address is taken as it is.
    assert default_sip_address(Settings(public_host=chosen)) == chosen
