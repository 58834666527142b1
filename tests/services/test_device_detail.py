"""The device page's read model: what it tells about the device and its history."""

from __future__ import annotations

from provd.services import device_detail, devices, tenants
from provd.services.audit import Actor
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR

MAC = "001565d00001"


async def test_events_are_of_this_device_only_not_of_an_earlier_owner(
    platform: Platform,
) -> None:
    await tenants.add_tenant(platform, TEST_ACTOR, "acme", sip_domain="acme.test")
    await tenants.add_tenant(platform, TEST_ACTOR, "globex", sip_domain="globex.test")
    acme_installer = Actor("web:acme-ivan")
    await devices.add_device(platform, acme_installer, MAC, "yealink-t46g", tenant_slug="acme")
    await devices.update_device(acme_installer, MAC, name="Acme reception")
    assert [e.action for e in await device_detail.events(MAC)] == ["device.set", "device.add"]

    await devices.remove_device(TEST_ACTOR, MAC)
    globex_installer = Actor("web:globex-gina")
    await devices.add_device(platform, globex_installer, MAC, "yealink-t46g", tenant_slug="globex")
    shown = await device_detail.events(MAC)
    assert [(e.action, e.actor) for e in shown] == [("device.add", "web:globex-gina")]


async def test_events_are_newest_first_and_limited(platform: Platform) -> None:
    await devices.add_device(platform, TEST_ACTOR, MAC, "yealink-t46g")
    for i in range(5):
        await devices.update_device(TEST_ACTOR, MAC, name=f"Desk {i}")
    shown = await device_detail.events(MAC, limit=3)
    assert len(shown) == 3
    assert [e.id for e in shown] == sorted((e.id for e in shown), reverse=True)
    assert shown[0].after is not None and shown[0].after["name"] == "Desk 4"
