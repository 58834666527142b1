"""Layout inheritance, locks and validation, seen through what phones receive."""

from __future__ import annotations

from typing import Any

import pytest

from provd.db.models import AuditEntry, KeySetting
from provd.domain.errors import InvalidInput
from provd.services import devices, layouts
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from provd.services.provisioning import rendering
from tests.conftest import TEST_ACTOR

T46G = "yealink-t46g"
MAC_A, MAC_B = "0015654aa937", "0015654aa938"


async def _setup(p: Platform) -> None:
    for ext, name in (("201", "Anna"), ("202", "Bram"), ("203", "Cor"), ("204", "Dirk")):
        await users.add_user(p, TEST_ACTOR, "default", ext, name)
    await devices.add_device(p, TEST_ACTOR, MAC_A, T46G, users=["201"])
    await devices.add_device(p, TEST_ACTOR, MAC_B, T46G, users=["202"])
    await devices.update_device(TEST_ACTOR, MAC_A, expansion_modules=2)


async def _cfg(p: Platform, mac: str) -> str:
    device = await devices.get_device(mac)
    return (await rendering.render_file(p, device, f"{mac}.cfg")).decode()


async def _scope(**kw: Any) -> layouts.Scope:
    return await layouts.resolve_scope(**kw)


async def test_tenant_default_user_layout_and_device_override_stack(platform: Platform) -> None:
    await _setup(platform)
    tenant = await _scope(tenant="default")
    await layouts.set_key(TEST_ACTOR, tenant, T46G, "line:1", "line", target="1", locked=True)
    await layouts.set_key(TEST_ACTOR, tenant, T46G, "line:3", "blf", target="203", label="Cor")
    await layouts.set_key(TEST_ACTOR, tenant, T46G, "exp:2:25", "blf", target="204", label="Dirk")
    await layouts.set_page_label(TEST_ACTOR, tenant, T46G, 2, 2, "Warehouse")
    anna = await _scope(user="201")
    await layouts.set_key(
        TEST_ACTOR, anna, T46G, "line:3", "speed_dial", target="0201234567", label="Mum"
    )
    await layouts.set_key(
        TEST_ACTOR, await _scope(device=MAC_A), None, "line:4", "dnd", label="DND"
    )

    a = await _cfg(platform, MAC_A)
    assert "linekey.1.type = 15" in a
    assert "linekey.3.type = 13" in a and "linekey.3.value = 0201234567" in a
    assert "linekey.4.type = 5" in a
    assert (
        "expansion_module.2.key.25.type = 16" in a and "expansion_module.2.key.25.value = 204" in a
    )

    # The other phone gets the tenant default, not Anna's layout nor A's override.
    b = await _cfg(platform, MAC_B)
    assert "linekey.3.type = 16" in b and "linekey.3.value = 203" in b
    assert "linekey.4.type = 0" in b
    assert "expansion_module" not in b  # no module attached to B

    view = await layouts.effective_keys_view(await devices.get_device(MAC_A))
    origins = {k["key"]: k["from"] for k in view}
    assert origins == {
        "line:1": "tenant",
        "line:3": "user",
        "exp:2:25": "tenant",
        "line:4": "device",
    }


async def test_user_layout_follows_the_user_to_another_phone(platform: Platform) -> None:
    await _setup(platform)
    await layouts.set_key(TEST_ACTOR, await _scope(user="202"), T46G, "line:5", "blf", target="201")
    assert "linekey.5.type = 16" in await _cfg(platform, MAC_B)
    await devices.remove_device(TEST_ACTOR, MAC_B)
    await devices.add_device(platform, TEST_ACTOR, "001565aabbcc", T46G, users=["202"])
    assert "linekey.5.value = 201" in await _cfg(platform, "001565aabbcc")


async def test_locked_keys_cannot_be_overwritten_below(platform: Platform) -> None:
    await _setup(platform)
    await layouts.set_key(
        TEST_ACTOR, await _scope(platform=True), T46G, "line:2", "voicemail", locked=True
    )
    for scope in (
        await _scope(tenant="default"),
        await _scope(user="201"),
        await _scope(device=MAC_A),
    ):
        with pytest.raises(InvalidInput, match="locked by the platform default") as e:
            await layouts.set_key(TEST_ACTOR, scope, T46G, "line:2", "dnd")
        assert e.value.field == "key line:2"
    with pytest.raises(InvalidInput, match="only the platform and tenant"):
        await layouts.set_key(
            TEST_ACTOR, await _scope(user="201"), T46G, "line:6", "dnd", locked=True
        )
    assert "linekey.2.type = 12" in await _cfg(platform, MAC_A)


@pytest.mark.parametrize(
    ("scope_kw", "location", "function", "target", "field", "words"),
    [
        ({"tenant": "default"}, "line:28", "dnd", "", "key line:28", "27 line keys"),
        ({"tenant": "default"}, "exp:7:1", "dnd", "", "key exp:7:1", "6 expansion modules"),
        ({"tenant": "default"}, "exp:1:41", "dnd", "", "key exp:1:41", "40 keys"),
        ({"device": MAC_B}, "exp:1:1", "dnd", "", "key exp:1:1", "0 expansion modules"),
        ({"device": MAC_A}, "exp:3:1", "dnd", "", "key exp:3:1", "2 expansion modules"),
        ({"tenant": "default"}, "line:3", "blf", "299", "key line:3", "not a user of this tenant"),
        ({"tenant": "default"}, "line:3", "blf", "", "key line:3", "needs the extension"),
        ({"tenant": "default"}, "line:3", "teleport", "", "function", "unknown key function"),
        ({"tenant": "default"}, "line:x", "dnd", "", "key", "not a key location"),
        ({"tenant": "default"}, "line:3", "speed_dial", "12ab", "key line:3", "number to dial"),
        ({"tenant": "default"}, "line:3", "url", "ftp://x", "key line:3", "http"),
        ({"tenant": "default"}, "line:3", "dnd", "201", "key line:3", "takes no target"),
        ({"tenant": "default"}, "line:3", "line", "17", "key line:3", "1 to 16"),
        (
            {"platform": True},
            "line:3",
            "blf",
            "201",
            "key line:3",
            "cannot point at a tenant's user",
        ),
    ],
)
async def test_bad_keys_are_refused_naming_the_key_and_nothing_is_saved(
    platform: Platform,
    scope_kw: dict[str, Any],
    location: str,
    function: str,
    target: str,
    field: str,
    words: str,
) -> None:
    await _setup(platform)
    rows, audit_rows = await KeySetting.all().count(), await AuditEntry.all().count()
    with pytest.raises(InvalidInput) as e:
        await layouts.set_key(
            TEST_ACTOR, await _scope(**scope_kw), T46G, location, function, target=target
        )
    assert e.value.field == field
    assert words in e.value.message
    assert await KeySetting.all().count() == rows
    assert await AuditEntry.all().count() == audit_rows


async def test_blf_target_of_another_tenant_is_refused(platform: Platform) -> None:
    await _setup(platform)
    await tenants.add_tenant(platform, TEST_ACTOR, "other")
    await users.add_user(platform, TEST_ACTOR, "other", "301", "Elsewhere")
    with pytest.raises(InvalidInput, match="not a user of this tenant"):
        await layouts.set_key(
            TEST_ACTOR, await _scope(tenant="default"), T46G, "line:3", "blf", target="301"
        )


async def test_watched_user_cannot_be_removed(platform: Platform) -> None:
    await _setup(platform)
    await layouts.set_key(
        TEST_ACTOR, await _scope(tenant="default"), T46G, "line:3", "blf", target="204"
    )
    with pytest.raises(InvalidInput, match="target of 1 programmed key") as e:
        await users.remove_user(platform, TEST_ACTOR, "default", "204")
    assert e.value.field == "extension"
    await layouts.clear_keys(TEST_ACTOR, await _scope(tenant="default"), T46G, "line:3")
    await users.remove_user(platform, TEST_ACTOR, "default", "204")


async def test_export_import_round_trip_and_all_or_nothing(platform: Platform) -> None:
    await _setup(platform)
    tenant = await _scope(tenant="default")
    await layouts.set_key(TEST_ACTOR, tenant, T46G, "line:3", "blf", target="203", label="Cor")
    await layouts.set_key(
        TEST_ACTOR, tenant, T46G, "exp:1:21", "speed_dial", target="112", label="Help"
    )
    await layouts.set_page_label(TEST_ACTOR, tenant, T46G, 1, 2, "Emergency")
    exported = await layouts.export_layout(tenant, T46G)

    anna = await _scope(user="201")
    assert await layouts.import_layout(TEST_ACTOR, anna, exported) == 2
    assert (await layouts.export_layout(anna, T46G)) == exported

    broken = {
        "model": T46G,
        "keys": [
            {"key": "line:5", "function": "dnd"},
            {"key": "line:6", "function": "blf", "target": "999"},
        ],
    }
    with pytest.raises(InvalidInput) as e:
        await layouts.import_layout(TEST_ACTOR, anna, broken)
    assert e.value.row == 2 and e.value.field == "key line:6"
    assert await layouts.export_layout(anna, T46G) == exported
