"""IVR menus: one extension space with users and groups, keys and defaults resolved to
what they name, refusals naming the field with nothing written, removal refused while
in use, and what the media application is given."""

from __future__ import annotations

from typing import Any

import pytest

from provd.db.models import AuditEntry, Menu
from provd.domain import ivr
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.services import groups, menus, numbers, schedules
from provd.services.directory import forwarding, tenants, users
from provd.services.menus import sounds
from provd.services.platform import Platform
from provd.services.schedules import routes
from tests.conftest import TEST_ACTOR as A
from tests.conftest import starting_from
from tests.services.call_handling_state import written
from tests.services.menus.audio import tone_wav


async def _office(platform: Platform) -> None:
    for ext, name in (("201", "Front Desk"), ("202", "Back Office")):
        await users.add_user(platform, A, "default", ext, name)
    await groups.add_group(platform, A, "default", "600", "Sales", "fixed")
    for name in ("welcome", "sorry", "hours"):
        await sounds.add_sound(platform, A, "default", name, tone_wav(0.2))
    await tenants.add_tenant(platform, A, "acme")
    await users.add_user(platform, A, "acme", "201", "Acme desk")
    await sounds.add_sound(platform, A, "acme", "theirs", tone_wav(0.2))


platform_start = starting_from(_office)


async def _state() -> dict[str, Any]:
    return {**await written(), "menus": await Menu.all().order_by("id").values()}


async def test_a_menu_is_added_with_its_keys_default_and_one_audit_row(platform: Platform) -> None:
    await menus.add_menu(platform, A, "default", "710", "Hours", "hours", keys={"0": "repeat"})
    view = await menus.add_menu(
        platform, A, "default", "700", "Main", "welcome",
        invalid_sound="sorry", timeout_seconds=7, max_attempts=2, dial_length=3,
        default="group:600",
        keys={"1": "user:201", "2": "submenu:710", "3": "menu:710", "0": "repeat",
              "#": "hang_up", "*": "dial_extension", "9": "none"},
    )  # fmt: skip
    assert {k: v for k, v in view.items() if k != "keys"} == {
        "tenant": "default",
        "extension": "700",
        "name": "Main",
        "greeting": "welcome",
        "invalid_sound": "sorry",
        "timeout_seconds": 7,
        "max_attempts": 2,
        "dial_length": 3,
        "default": {"kind": "group", "key": "600", "name": "Sales", "text": "group:600"},
        "numbers": [],
    }
    assert {k: v["text"] for k, v in view["keys"].items()} == {
        "0": "repeat",
        "1": "user:201",
        "2": "submenu:710",
        "3": "menu:710",
        "*": "dial_extension",
        "#": "hang_up",
    }
    assert view["keys"]["1"] == {
        "action": "transfer",
        "destination": {"kind": "user", "key": "201", "name": "Front Desk", "text": "user:201"},
        "menu": None,
        "text": "user:201",
    }
    assert view["keys"]["2"]["menu"] == "710"
    row = await AuditEntry.filter(action="menu.add", object_key="default/700").get()
    assert (row.object_type, row.after) == ("menu", view)
    # Given back as the view writes them, the keys are the same keys.
    again = await menus.update_menu(
        platform, A, "default", "700", keys={k: v["text"] for k, v in view["keys"].items()}
    )
    assert again == view
    assert [m["extension"] for m in await menus.list_menus("default")] == ["700", "710"]
    assert await menus.show_menu("default", "700") == view


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"extension": "7"}, "extension"),
        ({"extension": "201"}, "extension"),  # a user's
        ({"extension": "600"}, "extension"),  # a group's
        ({"name": " "}, "name"),
        ({"greeting": "nothing"}, "greeting"),
        ({"greeting": "theirs"}, "greeting"),  # acme's sound
        ({"invalid_sound": "nothing"}, "invalid_sound"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"timeout_seconds": 61}, "timeout_seconds"),
        ({"timeout_seconds": "5"}, "timeout_seconds"),
        ({"max_attempts": 10}, "max_attempts"),
        ({"dial_length": 1}, "dial_length"),
        ({"dial_length": 6}, "dial_length"),
        ({"default": "user:299"}, "default"),
        ({"default": "external:112"}, "default"),
        ({"default": "voicemail:1"}, "default"),
        ({"keys": {"A": "repeat"}}, "keys"),
        ({"keys": {"10": "repeat"}}, "keys"),
        ({"keys": {"1": "user:299"}}, "keys.1"),
        ({"keys": {"1": "jump"}}, "keys.1"),
        ({"keys": {"#": "submenu:799"}}, "keys.#"),
        ({"keys": {"*": "submenu:"}}, "keys.*"),
        ({"keys": {"5": "menu:700"}}, "keys.5"),  # not there yet
        ({"keys": {"5": 5}}, "keys.5"),
        ({"keys": {"5": "user:201\n"}}, "keys.5"),
    ],
)
async def test_refusals_name_the_field_and_write_nothing(
    platform: Platform, kwargs: dict[str, Any], field: str
) -> None:
    before = await _state()
    args: dict[str, Any] = {"extension": "700", "name": "Main", "greeting": "welcome"} | kwargs
    with pytest.raises((InvalidInput, NotFound)) as refused:
        await menus.add_menu(
            platform, A, "default", args.pop("extension"), args.pop("name"), args.pop("greeting"),
            **args,
        )  # fmt: skip
    assert getattr(refused.value, "field", None) == field
    assert await _state() == before


async def test_changes_are_checked_whole_and_a_menu_does_not_transfer_to_itself(
    platform: Platform,
) -> None:
    await menus.add_menu(platform, A, "default", "700", "Main", "welcome", keys={"1": "user:201"})
    before = await _state()
    for kwargs, field in (
        ({"keys": {"1": "menu:700"}}, "keys.1"),
        ({"default": "menu:700"}, "default"),
        ({"name": "Fine", "max_attempts": 0}, "max_attempts"),
        ({"greeting": "nothing"}, "greeting"),
        ({}, "settings"),
    ):
        with pytest.raises((InvalidInput, NotFound)) as refused:
            await menus.update_menu(platform, A, "default", "700", **kwargs)
        assert getattr(refused.value, "field", None) == field
    assert await _state() == before
    changed = await menus.update_menu(
        platform, A, "default", "700", name="Welcome", keys={"2": "submenu:700"}, default="none"
    )
    assert (changed["name"], list(changed["keys"]), changed["default"]) == ("Welcome", ["2"], None)
    row = await AuditEntry.filter(action="menu.set").get()
    assert (row.before or {})["name"] == "Main" and (row.after or {})["name"] == "Welcome"


async def test_extensions_are_shared_with_users_and_groups_both_ways(platform: Platform) -> None:
    await menus.add_menu(platform, A, "default", "700", "Main", "welcome")
    with pytest.raises(Conflict, match="\\(menu 700, Main\\)") as as_user:
        await users.add_user(platform, A, "default", "700", "Someone")
    assert as_user.value.field == "extension"
    with pytest.raises(Conflict, match="\\(menu 700, Main\\)"):
        await groups.add_group(platform, A, "default", "700", "Team", "fixed")
    with pytest.raises(Conflict, match="\\(menu 700, Main\\)"):
        await menus.add_menu(platform, A, "default", "700", "Again", "welcome")
    # Another tenant's extensions are its own.
    await menus.add_menu(platform, A, "acme", "700", "Acme main", "theirs")


async def test_what_points_at_a_menu_keeps_it_and_is_named(platform: Platform) -> None:
    await menus.add_menu(platform, A, "default", "710", "Hours", "hours")
    await menus.add_menu(
        platform, A, "default", "700", "Main", "welcome", keys={"2": "submenu:710"}
    )
    await menus.add_menu(platform, A, "default", "720", "Other", "welcome", default="menu:710")
    await numbers.add_block(platform, A, "+31201234500", 1, "default")
    await numbers.assign(platform, A, "+31201234500", menu="710")
    await forwarding.set_forwarding(platform, A, "default", "201", busy="menu:710")
    await groups.update_group(platform, A, "default", "600", overflow="menu:710")
    await schedules.add_schedule(platform, A, "default", "Office", ["mon 08:00-17:00"])
    await routes.add_route(platform, A, "default", "Main", "Office", "menu:710", "none")
    before = await _state()
    with pytest.raises(InvalidInput) as in_use:
        await menus.remove_menu(platform, A, "default", "710")
    message = str(in_use.value)
    assert in_use.value.field == "extension"
    for use in (
        "user 201's forwarding (busy)",
        "group 600's overflow",
        "route Main (open)",
        "menu 700's key 2",
        "menu 720's default",
        "and 1 more",  # the number: five are named
    ):
        assert use in message
    assert await _state() == before
    # A user a menu's key transfers to is in use as well.
    await menus.update_menu(platform, A, "default", "700", keys={"1": "user:202"})
    with pytest.raises(InvalidInput, match="menu 700's key 1"):
        await users.remove_user(platform, A, "default", "202")

    # A menu that only points at itself is not kept by that.
    await menus.update_menu(platform, A, "default", "700", keys={"2": "submenu:700"})
    await menus.remove_menu(platform, A, "default", "700")
    row = await AuditEntry.filter(action="menu.remove").get()
    assert (row.object_key, (row.before or {})["extension"]) == ("default/700", "700")
    with pytest.raises(NotFound):
        await menus.show_menu("default", "700")


async def test_a_number_is_assigned_to_a_menu_and_shows_it(platform: Platform) -> None:
    await menus.add_menu(platform, A, "default", "700", "Main", "welcome")
    await numbers.add_block(platform, A, "+31201234500", 1, "default")
    view = await numbers.assign(platform, A, "+31201234500", menu="700")
    assert view.as_dict()["use"] == {"kind": "menu", "key": "700", "name": "Main"}
    assert view.describe_use() == "in use by menu 700 (Main)"
    assert (await menus.show_menu("default", "700"))["numbers"] == ["+31201234500"]
    with pytest.raises(NotFound) as missing:
        await numbers.assign(platform, A, "+31201234500", menu="799")
    assert missing.value.field == "menu"
    with pytest.raises(InvalidInput) as two:
        await numbers.assign(platform, A, "+31201234500", "201", menu="700")
    assert two.value.field == "menu"
    released = await numbers.release(platform, A, "+31201234500")
    assert released.use is None


async def test_the_media_application_gets_every_tenants_menus_by_domain(
    platform: Platform,
) -> None:
    await menus.add_menu(platform, A, "default", "710", "Hours", "hours")
    await menus.add_menu(
        platform, A, "default", "700", "Main", "welcome",
        invalid_sound="sorry", timeout_seconds=8, max_attempts=4, dial_length=4,
        default="user:202",
        keys={"1": "user:201", "2": "submenu:710", "0": "repeat", "#": "hang_up",
              "*": "dial_extension"},
    )  # fmt: skip
    await menus.add_menu(platform, A, "acme", "700", "Acme", "theirs")
    played = await menus.media_menus()
    default_domain = (await tenants.get_tenant("default")).sip_domain
    acme_domain = (await tenants.get_tenant("acme")).sip_domain
    assert set(played) == {default_domain, acme_domain}
    assert played[default_domain]["700"] == ivr.Menu(
        extension="700",
        greeting="default/welcome",
        keys={
            "1": ivr.Transfer(),
            "2": ivr.Submenu("710"),
            "0": ivr.Repeat(),
            "#": ivr.HangUp(),
            "*": ivr.DialByExtension(),
        },
        timeout_s=8,
        max_attempts=4,
        invalid_sound="default/sorry",
        has_default=True,
        dial_length=4,
    )
    assert played[default_domain]["710"].has_default is False
    assert played[acme_domain]["700"].greeting == "acme/theirs"
    ivr.check_menus(played[default_domain])
    assert sounds.sound_file(platform.data_dir, "default/welcome").is_file()
