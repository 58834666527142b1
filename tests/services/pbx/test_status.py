"""Registration status per device line, the runtime record CLI commands read, and the
errors resync and status give when there is nothing to talk to. The PBX's answer is the
shape Kamailio 5.6's ``ul.dump`` returns; delivery to real phones is in pbx/test_serve."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from provd.db.models import AuditEntry, Device
from provd.domain.errors import Conflict, NotFound
from provd.pbx import PbxControl, PbxSecrets, PbxSettings
from provd.pbx.status import parse_dump
from provd.services import devices, pbx
from provd.services.directory import users
from provd.services.pbx import PbxMode, PbxNotRunning, PbxRuntime
from provd.services.platform import Platform
from provd.settings import Settings
from tests.conftest import TEST_ACTOR

DOMAIN = "default.provd.internal"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _contact(address: str, received: str | None, ua: str, expires: int | str) -> dict[str, Any]:
    return {
        "Address": address,
        "Expires": expires,
        "User-Agent": ua,
        "Received": received or "[not set]",
        "Socket": "udp:127.0.3.1:5060",
        "Instance": "[not set]",
    }


def _dump(aors: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    infos = [
        {"Info": {"AoR": aor, "Contacts": [{"Contact": c} for c in cs]}} for aor, cs in aors.items()
    ]
    return {"Domains": [{"Domain": {"Domain": "location", "AoRs": infos}}]}


async def _device(p: Platform, mac: str, exts: list[str], fetch_ip: str | None) -> Device:
    d, _ = await devices.add_device(p, TEST_ACTOR, mac, "yealink-t46g", users=exts)
    d.last_fetch_ip = fetch_ip
    await d.save(update_fields=["last_fetch_ip"])
    return d


async def test_lines_get_their_own_phones_binding(platform: Platform) -> None:
    for ext in ("201", "202", "203"):
        await users.add_user(platform, TEST_ACTOR, "default", ext, f"User {ext}")
    # 201 is on two desks; each desk's binding is the one from the address it fetched from.
    office = await _device(platform, "001565000001", ["201"], "203.0.113.7")
    home = await _device(platform, "001565000002", ["201", "202"], "198.51.100.9")
    unknown = await _device(platform, "001565000003", ["201"], None)
    idle = await _device(platform, "001565000004", ["203"], "192.0.2.4")
    empty = await _device(platform, "001565000005", [], None)
    regs = parse_dump(
        _dump(
            {
                f"201@{DOMAIN}": [
                    _contact(
                        "sip:201@192.168.1.20:5060",
                        "sip:203.0.113.7:40612",
                        "Yealink SIP-T46G 28.83.0.120",
                        300,
                    ),
                    _contact(
                        "sip:201@10.0.0.5:5060",
                        "sip:198.51.100.9:5060",
                        "snom D785/10.1.33.33",
                        600,
                    ),
                ],
                # A user on one device only owns its bindings wherever they come from.
                f"202@{DOMAIN}": [
                    _contact("sip:202@10.0.0.5:5062", None, "snom D785/10.1.33.33", 60)
                ],
                # Unregistered after usrloc wrote it to the database: dumped until the
                # next flush, but no binding.
                f"203@{DOMAIN}": [
                    _contact("sip:203@192.0.2.4:5060", None, "Yealink SIP-T46G", "deleted"),
                    _contact("sip:203@192.0.2.4:5062", None, "Yealink SIP-T46G", "expired"),
                ],
            }
        ),
        now=NOW,
    )

    assert f"203@{DOMAIN}" not in regs
    status = await pbx.line_registrations([office, home, unknown, idle, empty], regs)

    [line] = status[office.mac]
    assert line.registered and line.binding is not None
    assert line.binding.user_agent == "Yealink SIP-T46G 28.83.0.120"
    assert line.view() == {
        "slot": 1,
        "extension": "201",
        "aor": f"201@{DOMAIN}",
        "registered": True,
        "contact": "sip:201@192.168.1.20:5060",
        "user_agent": "Yealink SIP-T46G 28.83.0.120",
        "wan_address": "203.0.113.7:40612",
        "lan_address": "192.168.1.20:5060",
        "expires_at": "2026-01-01T00:05:00+00:00",
    }
    first, second = status[home.mac]
    assert first.view()["wan_address"] == "198.51.100.9:5060"
    assert (second.slot, second.view()["lan_address"]) == (2, "10.0.0.5:5062")
    # Fetched from nowhere known, and 201 is on other desks too: not attributed.
    assert not status[unknown.mac][0].registered
    assert [line.registered for line in status[idle.mac]] == [False]
    assert status[empty.mac] == []

    assert pbx.registration_view(home.mac, status[home.mac])["registered"] is True
    assert pbx.registration_view(idle.mac, status[idle.mac])["registered"] is False
    assert pbx.registration_view(empty.mac, [])["registered"] is False
    assert pbx.registration_view(empty.mac, None) == {
        "mac": empty.mac,
        "registered": None,
        "registration": None,
    }


def test_runtime_record_round_trips_without_the_database_url(tmp_path: Path) -> None:
    url = "postgres://provd:s3cret@db.example.net/provd"
    settings = PbxSettings.for_provd(
        tmp_path, url, sip_address="192.0.2.10", advertised_address="203.0.113.1", rpc_port=5999
    )
    pbx.save_runtime(PbxRuntime(PbxMode.SUPERVISED, settings))
    path = tmp_path / "pbx" / pbx.RUNTIME_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert "s3cret" not in path.read_text()

    loaded = pbx.load_runtime(tmp_path, url)
    assert loaded == PbxRuntime(PbxMode.SUPERVISED, settings)
    assert loaded.sip_proxy == ("203.0.113.1", 5060)
    # Advertised address first: phones behind the same NAT as nobody else reach that one.
    plain = pbx.effective_settings(Settings(public_host="provd.test"), loaded)
    assert (plain.proxy_host, plain.sip_proxy_port) == ("203.0.113.1", 5060)
    admin = Settings(public_host="provd.test", sip_proxy_host="sbc.example.net")
    assert pbx.effective_settings(admin, loaded) is admin
    assert pbx.effective_settings(admin, None) is admin

    pbx.clear_runtime(tmp_path)
    assert pbx.load_runtime(tmp_path, url) is None
    assert pbx.open_control(tmp_path, url) is None


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_nothing_to_talk_to_says_the_pbx_is_not_running(platform: Platform) -> None:
    await users.add_user(platform, TEST_ACTOR, "default", "201", "A")
    d = await _device(platform, "001565000001", ["201"], None)
    with pytest.raises(
        PbxNotRunning, match=r"^the PBX is not running \(start provd serve --pbx\)$"
    ):
        await pbx.device_registrations(None, [d])
    with pytest.raises(PbxNotRunning):
        await pbx.check_sync_device(None, TEST_ACTOR, d.mac, reboot=False)

    # Recorded by a serve that has stopped since: its RPC port answers nothing.
    settings = PbxSettings(platform.data_dir, rpc_port=_closed_port())
    pbx.save_runtime(PbxRuntime(PbxMode.SUPERVISED, settings))
    PbxSecrets.load_or_create(settings.pbx_dir)
    control = pbx.open_control(platform.data_dir, None)
    assert isinstance(control, PbxControl)
    try:
        with pytest.raises(PbxNotRunning, match=f"no answer from {settings.rpc_url}"):
            await pbx.device_registrations(control, [d])
        with pytest.raises(PbxNotRunning):
            await pbx.check_sync_device(control, TEST_ACTOR, d.mac, reboot=True)
    finally:
        await control.close()
    assert not await AuditEntry.filter(action__startswith="device.re").exists()


async def test_resync_needs_a_known_device_with_lines(platform: Platform) -> None:
    with pytest.raises(NotFound):
        await pbx.check_sync_device(None, TEST_ACTOR, "001565ffffff", reboot=False)
    await devices.add_device(platform, TEST_ACTOR, "001565000009", "yealink-t46g")
    with pytest.raises(Conflict, match="001565000009 has no lines"):
        await pbx.check_sync_device(None, TEST_ACTOR, "00:15:65:00:00:09", reboot=False)


def test_runtime_ignores_settings_it_does_not_know(tmp_path: Path) -> None:
    settings = replace(PbxSettings(tmp_path), sip_port=5070)
    pbx.save_runtime(PbxRuntime(PbxMode.EXTERNAL, settings, "http://192.0.2.1:5081/RPC"))
    path = tmp_path / "pbx" / pbx.RUNTIME_FILE
    path.write_text(path.read_text().replace('"sip_port"', '"retired": 1, "sip_port"'))
    loaded = pbx.load_runtime(tmp_path, None)
    assert loaded is not None and loaded.settings.sip_port == 5070
    assert loaded.rpc_url == "http://192.0.2.1:5081/RPC"
