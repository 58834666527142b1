"""The device page's read model: what it tells about the device and its history."""

from __future__ import annotations

from provd.services import devices
from provd.services.access import accounts, tokens
from provd.services.audit import Actor
from provd.services.devices import detail as device_detail
from provd.services.directory import tenants
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


async def test_a_tenants_people_see_their_own_by_name_and_the_platform_as_another_account(
    platform: Platform,
) -> None:
    acme, _ = await tenants.add_tenant(platform, TEST_ACTOR, "acme", sip_domain="acme.test")
    await tenants.add_tenant(platform, TEST_ACTOR, "globex", sip_domain="globex.test")
    strong = "Correct-Horse-Battery-9"
    await accounts.add_account(TEST_ACTOR, "root", strong, role="admin")
    await accounts.add_account(TEST_ACTOR, "ivan", strong, role="installer", tenant_slug="acme")
    await accounts.add_account(TEST_ACTOR, "gina", strong, role="installer", tenant_slug="globex")
    await tokens.create_token(TEST_ACTOR, "acme-site", role="installer", tenant_slug="acme")
    await tokens.create_token(TEST_ACTOR, "deploy", role="admin")
    await devices.add_device(platform, Actor("web:ivan"), MAC, "yealink-t46g", tenant_slug="acme")
    for who in ("web:root", "web:gina", "api:acme-site", "api:deploy", "cli:root"):
        await devices.update_device(Actor(who), MAC, name=who.replace(":", " "))
    device = await devices.get_device(MAC)
    await devices.seal_device(device)
    shown = await device_detail.events(MAC)

    mine = await device_detail.actor_labels(shown, acme.id)
    assert mine == {
        "web:ivan": "web:ivan",
        "api:acme-site": "api:acme-site",
        f"device:{MAC}": f"device:{MAC}",
        "web:root": device_detail.OUTSIDE_ACTOR,
        "web:gina": device_detail.OUTSIDE_ACTOR,
        "api:deploy": device_detail.OUTSIDE_ACTOR,
        "cli:root": device_detail.OUTSIDE_ACTOR,
    }
    platform_view = await device_detail.actor_labels(shown, None)
    assert all(shown_as == actor for actor, shown_as in platform_view.items())
