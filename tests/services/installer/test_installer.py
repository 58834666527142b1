"""Claims and live status as an installer of one tenant sees them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from provd.db.models import AuditEntry, Device, DeviceLine, Tenant
from provd.domain.access import Principal, Role
from provd.domain.errors import Conflict, InvalidInput
from provd.pbx.status import ContactBinding, SipAddress
from provd.services import installer
from provd.services.audit import Actor
from provd.services.directory import tenants, users
from provd.services.installer import OTHER_ACCOUNT, ClaimState, Progress
from provd.services.pbx import LineRegistration
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR

ADMIN = Principal("api:root", Role.ADMIN, None)
ACTOR = Actor("web:ivan", "req-1")
YEALINK_MAC, SNOM_MAC = "00:15:65:a1:b2:c3", "00:04:13:2a:3b:4c"


@pytest.fixture
async def acme(platform: Platform) -> Principal:
    """An installer of tenant acme, which has users 201 and 202; tenant globex exists too."""
    tenant, _ = await tenants.add_tenant(platform, TEST_ACTOR, "acme")
    await tenants.add_tenant(platform, TEST_ACTOR, "globex")
    await users.add_user(platform, TEST_ACTOR, "acme", "201", "Front Desk")
    await users.add_user(platform, TEST_ACTOR, "acme", "202", "Back Office")
    await users.add_user(platform, TEST_ACTOR, "globex", "201", "Globex Desk")
    return Principal("web:ivan", Role.INSTALLER, tenant.id)


async def _claim(
    p: Platform, who: Principal, mac: str, ext: str | None = "201", **kw: str
) -> dict[str, Any]:
    model = kw.pop("model", "yealink-t46g")
    return await installer.claim(p, ACTOR, who, None, mac=mac, model=model, extension=ext, **kw)


async def test_claim_adds_the_device_with_the_user_on_line_one(
    platform: Platform, acme: Principal
) -> None:
    claimed = await _claim(platform, acme, YEALINK_MAC)
    assert claimed["mac"] == "001565a1b2c3"
    assert claimed["tenant"] == "acme" and claimed["vendor"] == "yealink"
    assert claimed["user"] == {"extension": "201", "name": "Front Desk"}
    assert claimed["status"]["state"] == "waiting"
    device = await Device.get(mac="001565a1b2c3").prefetch_related("tenant")
    assert device.tenant.slug == "acme"
    [line] = await DeviceLine.filter(device=device).prefetch_related("user")
    assert (line.slot, line.user.extension) == (1, "201")
    audit = await AuditEntry.filter(action="device.add").get()
    assert (audit.actor, audit.request_id, audit.object_key) == ("web:ivan", "req-1", device.mac)
    # What the installer gets back names no credential of any kind.
    text = json.dumps(claimed)
    assert "password" not in text and "dev-" not in text
    assert platform.box.open(device.prov_password_enc) not in text


async def test_spare_phone_has_no_line(platform: Platform, acme: Principal) -> None:
    claimed = await _claim(platform, acme, "805ec0000001", None, model="yealink-t54w")
    assert claimed["user"] is None
    assert await DeviceLine.all().count() == 0


async def test_wrong_vendor_is_refused_and_nothing_is_written(
    platform: Platform, acme: Principal
) -> None:
    with pytest.raises(InvalidInput) as e:
        await _claim(platform, acme, SNOM_MAC)
    assert e.value.field == "mac"
    assert "is a Snom MAC, but you chose Yealink T46G" in e.value.message
    assert "pick the right model or scan the right label" in e.value.message
    assert await Device.all().count() == 0


async def test_phone_of_another_tenant_is_refused_without_naming_it(
    platform: Platform, acme: Principal
) -> None:
    await _claim(platform, ADMIN, YEALINK_MAC, tenant_slug="globex")
    with pytest.raises(Conflict) as e:
        await _claim(platform, acme, YEALINK_MAC)
    assert e.value.field == "mac"
    assert e.value.message == OTHER_ACCOUNT
    assert "globex" not in str(e.value) and "Globex" not in str(e.value)
    assert await Device.all().count() == 1
    # The status of that MAC reads as if nobody had claimed it.
    [status] = await installer.status_of(None, acme, [YEALINK_MAC])
    assert status["state"] == "unclaimed" and status["model"] is None


async def test_phone_already_claimed_here_says_for_whom(
    platform: Platform, acme: Principal
) -> None:
    await _claim(platform, acme, YEALINK_MAC, "202")
    with pytest.raises(Conflict) as e:
        await _claim(platform, acme, YEALINK_MAC, "201")
    assert "already claimed, as 202 Back Office (Yealink T46G)" in e.value.message
    assert "ask your provd administrator" in e.value.message


async def test_admin_sees_where_the_phone_is(platform: Platform, acme: Principal) -> None:
    await _claim(platform, acme, YEALINK_MAC)
    with pytest.raises(Conflict, match="already registered in tenant acme"):
        await _claim(platform, ADMIN, YEALINK_MAC, tenant_slug="globex")


async def test_installer_cannot_claim_into_another_tenant(
    platform: Platform, acme: Principal
) -> None:
    for slug in ("globex", "no-such-tenant"):
        with pytest.raises(InvalidInput) as e:
            await _claim(platform, acme, YEALINK_MAC, tenant_slug=slug)
        assert e.value.field == "tenant"
        assert "your own account only" in e.value.message
    claimed = await _claim(platform, acme, YEALINK_MAC, tenant_slug="ACME")
    assert claimed["tenant"] == "acme"


async def test_unknown_extension_and_bad_input_name_the_field(
    platform: Platform, acme: Principal
) -> None:
    with pytest.raises(InvalidInput) as e:
        await _claim(platform, acme, YEALINK_MAC, "299")
    assert e.value.field == "extension" and "choose spare" in e.value.message
    with pytest.raises(InvalidInput) as e:
        await _claim(platform, acme, "00:15:65:a1:b2")
    assert e.value.field == "mac"
    with pytest.raises(InvalidInput) as e:
        await _claim(platform, acme, YEALINK_MAC, model="yealink-t99")
    assert e.value.field == "model"
    assert await Device.all().count() == 0


async def test_user_search_is_scoped_and_counts_devices(
    platform: Platform, acme: Principal
) -> None:
    await _claim(platform, acme, YEALINK_MAC, "201")
    found = await installer.search_users(acme, None, "")
    assert found == [
        {"extension": "201", "name": "Front Desk", "devices": 1},
        {"extension": "202", "name": "Back Office", "devices": 0},
    ]
    assert [u["extension"] for u in await installer.search_users(acme, None, "back")] == ["202"]
    assert [u["extension"] for u in await installer.search_users(acme, None, "20")] == [
        "201",
        "202",
    ]
    globex = await installer.search_users(ADMIN, "globex", "")
    assert globex == [{"extension": "201", "name": "Globex Desk", "devices": 0}]


async def test_status_follows_the_phone_from_waiting_to_sealed(
    platform: Platform, acme: Principal
) -> None:
    await _claim(platform, acme, YEALINK_MAC)
    [s] = await installer.status_of(None, acme, ["001565A1B2C3"])
    assert (s["state"], s["hint"]) == ("waiting", installer.HINT_WAITING)
    assert "DHCP option 66" in s["hint"]
    device = await Device.get(mac="001565a1b2c3")
    device.last_fetch_at = datetime.now(UTC) - timedelta(minutes=1)
    device.last_fetch_ip = "192.0.2.10"
    device.last_user_agent = "Yealink SIP-T46G 28.83.0.120 00:15:65:a1:b2:c3"
    device.reported_firmware = "28.83.0.120"
    await device.save()
    [s] = await installer.status_of(None, acme, [YEALINK_MAC])
    assert s["state"] == "fetched" and "own credential" in s["hint"]
    assert s["reported_model"] == "Yealink T46G"
    assert s["reported_firmware"] == "28.83.0.120"
    assert s["ip"] == "192.0.2.10" and s["last_contact_at"]
    device.sealed_at = datetime.now(UTC)
    await device.save()
    [s] = await installer.status_of(None, acme, [YEALINK_MAC])
    # Without a PBX to ask, registration is unknown and the hint says so.
    assert (s["state"], s["hint"]) == ("sealed", installer.HINT_PBX_UNKNOWN)
    assert set(s) == {
        "mac",
        "state",
        "label",
        "hint",
        "model",
        "reported_model",
        "reported_firmware",
        "last_contact_at",
        "ip",
    }


def _binding(ua: str = "Yealink SIP-T46G 28.83.0.130") -> ContactBinding:
    return ContactBinding(
        uri="sip:201@192.0.2.10:5060",
        user_agent=ua,
        lan_address=SipAddress("192.0.2.10", 5060),
        wan_address=SipAddress("192.0.2.10", 5060),
        expires_in=300,
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
        socket="udp:127.0.0.1:5060",
        instance=None,
    )


async def test_registered_when_every_line_is(platform: Platform, acme: Principal) -> None:
    await _claim(platform, acme, YEALINK_MAC)
    device = await Device.get(mac="001565a1b2c3")
    device.sealed_at = device.last_fetch_at = datetime.now(UTC)
    device.sip_firmware, device.sip_firmware_at = "28.83.0.130", datetime.now(UTC)
    line = LineRegistration(1, "201", "201@acme.provd.internal", _binding())
    s = installer.device_status(device, 1, [line])
    assert (s["state"], s["label"], s["hint"]) == ("registered", "Registered", "")
    assert s["reported_model"] == "Yealink T46G"
    assert s["reported_firmware"] == "28.83.0.130"
    down = LineRegistration(1, "201", "201@acme.provd.internal", None)
    s = installer.device_status(device, 1, [down])
    assert (s["state"], s["hint"]) == ("sealed", installer.HINT_SEALED)
    assert "SIP proxy / firewall / VLAN" in s["hint"]


@pytest.mark.parametrize(
    ("progress", "state", "hint"),
    [
        (Progress(False, False, 1, False), ClaimState.WAITING, installer.HINT_WAITING),
        (Progress(True, False, 1, False), ClaimState.FETCHED, installer.HINT_FETCHED),
        (Progress(True, True, 0, False), ClaimState.SEALED, installer.HINT_SPARE),
        (Progress(True, True, 1, None), ClaimState.SEALED, installer.HINT_PBX_UNKNOWN),
        (
            Progress(True, True, 2, False, (2,)),
            ClaimState.SEALED,
            "line(s) 2 not registered: check the SIP proxy / firewall / VLAN",
        ),
        (Progress(True, True, 2, True), ClaimState.REGISTERED, ""),
        (
            Progress(True, True, 1, True, model_mismatch="Yealink T48G"),
            ClaimState.REGISTERED,
            "the phone reports itself as Yealink T48G: ask your administrator to correct the model",
        ),
    ],
)
def test_each_state_has_its_hint(progress: Progress, state: ClaimState, hint: str) -> None:
    assert progress.state() is state
    assert progress.hint() == hint


async def test_status_refuses_too_many_or_bad_macs(platform: Platform, acme: Principal) -> None:
    with pytest.raises(InvalidInput) as e:
        await installer.status_of(None, acme, ["nope"])
    assert e.value.field == "mac"
    with pytest.raises(InvalidInput, match="at most 100"):
        await installer.status_of(None, acme, [f"001565{i:06x}" for i in range(101)])


async def test_admin_status_spans_tenants_unless_one_is_named(
    platform: Platform, acme: Principal
) -> None:
    await _claim(platform, ADMIN, YEALINK_MAC, tenant_slug="globex")
    [s] = await installer.status_of(None, ADMIN, [YEALINK_MAC])
    assert s["state"] == "waiting"
    [s] = await installer.status_of(None, ADMIN, [YEALINK_MAC], tenant_slug="acme")
    assert s["state"] == "unclaimed"
    assert await Tenant.filter(slug="globex").exists()
