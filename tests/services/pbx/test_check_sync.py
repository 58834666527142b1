"""Resync and reboot send each phone the check-sync event its vendor's driver names: the
PBX layer is handed the event and knows no vendor. Kamailio is a canned RPC here;
delivery to real phones is in pbx/test_e2e and services/pbx/test_serve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provd.db.models import AuditEntry
from provd.domain.audit_actions import AuditAction
from provd.drivers.registry import driver_for
from provd.pbx import CheckSyncOutcome, PbxControl, PbxSettings
from provd.pbx.database import open_kamailio_db
from provd.pbx.rpc import KamailioRpc
from provd.services import devices, pbx
from provd.services.directory import users
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR

DOMAIN = "default.provd.internal"
YEALINK_MAC, SNOM_MAC = "001565000001", "000413000002"


class _Kamailio(KamailioRpc):
    """201 registered from the Yealink's address, 202 not at all; every NOTIFY is 200."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9/RPC", token=None)
        self.notified: list[tuple[str, str]] = []

    async def call(self, method: str, *params: str, timeout: float | None = None) -> Any:
        if method == "ul.dump":
            contact = {
                "Address": "sip:201@192.168.1.20:5060",
                "Expires": 300,
                "User-Agent": "Yealink SIP-T46G 28.83.0.120",
                "Received": "[not set]",
                "Socket": "udp:127.0.3.1:5060",
                "Instance": "[not set]",
            }
            info = {"AoR": f"201@{DOMAIN}", "Contacts": [{"Contact": contact}]}
            return {"Domains": [{"Domain": {"Domain": "location", "AoRs": [{"Info": info}]}}]}
        assert (method, params[0]) == ("tm.t_uac_wait", "NOTIFY")
        event = next(h for h in params[4].split("\r\n") if h.startswith("Event: "))
        self.notified.append((params[1], event.removeprefix("Event: ")))
        return [200, "OK"]


@pytest.fixture
async def control(tmp_path: Path) -> Any:
    rpc = _Kamailio()
    c = PbxControl(
        rpc=rpc,
        db=open_kamailio_db(PbxSettings(tmp_path / "pbx-data")),
        next_hop="sip:127.0.3.1:5060",
        notify_token="n" * 48,
    )
    yield c
    await c.close()


@pytest.mark.parametrize("reboot", [False, True])
async def test_each_phone_gets_its_vendors_event(
    platform: Platform, control: PbxControl, reboot: bool
) -> None:
    await users.add_user(platform, TEST_ACTOR, "default", "201", "Front Desk")
    await users.add_user(platform, TEST_ACTOR, "default", "202", "Back Office")
    await devices.add_device(platform, TEST_ACTOR, YEALINK_MAC, "yealink-t46g", users=["201"])
    await devices.add_device(platform, TEST_ACTOR, SNOM_MAC, "snom-d785", users=["202"])
    rpc = control.rpc
    assert isinstance(rpc, _Kamailio)

    sent = await pbx.check_sync_device(control, TEST_ACTOR, YEALINK_MAC, reboot=reboot)
    yealink_event = driver_for("yealink").check_sync_event(reboot=reboot)
    assert rpc.notified == [(f"sip:201@{DOMAIN}", yealink_event)]
    [line] = sent.lines
    assert (line.result.event, line.result.outcome) == (yealink_event, CheckSyncOutcome.DELIVERED)

    # Not registered: nothing is sent, and the answer names the event it would have been.
    unsent = await pbx.check_sync_device(control, TEST_ACTOR, SNOM_MAC, reboot=reboot)
    [line] = unsent.lines
    assert line.result.event == driver_for("snom").check_sync_event(reboot=reboot)
    assert line.result.outcome is CheckSyncOutcome.NOT_REGISTERED
    assert len(rpc.notified) == 1
    action = AuditAction.check_sync(reboot=reboot)
    assert await AuditEntry.filter(action=action).count() == 2
