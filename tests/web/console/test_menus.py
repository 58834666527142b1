"""The console's menus page: a tenant's IVR menus listed with greeting, key count and
default; add, edit and remove a menu through the forms (a row per key: an action, a
destination or a submenu), each audited; refusals shown by field, down to a key's row,
with nothing written; a menu something uses is kept; menus offered as destinations and
as a number's assignment; a tenant admin works in their own tenant only."""

from __future__ import annotations

import html as html_lib
import re

from provd.db.models import AuditEntry, Menu, PhoneNumber
from provd.domain import ivr
from provd.services import groups, menus
from provd.services.menus import sounds
from provd.services.platform import Platform
from provd.web.console.menus import key_slug
from tests.conftest import TEST_ACTOR
from tests.services.menus.audio import tone_wav
from tests.web.console.conftest import ACME_BLOCK, Console
from tests.web.console.test_groups import fact, text
from tests.web.console.test_numbers import field_error, flashes


def cards(page: str) -> dict[str, str]:
    """Each menu's card by extension."""
    return dict(
        re.findall(r'<section class="card menu"[^>]*data-menu="(\d+)"(.*?)</section>', page, re.S)
    )


def listed(page: str) -> dict[str, list[str]]:
    """The list's rows by extension: name, greeting, keys, default, numbers."""
    out = {}
    for ext, row in re.findall(r'<tr data-menu="(\d+)">(.*?)</tr>', page, re.S):
        out[ext] = [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[1:]]
    return out


def keys_of(card: str) -> str:
    return fact(card, "keys").replace(" ;", ";")


def form(**changes: str) -> dict[str, str]:
    """The add form as a browser posts it: every key's row, untouched ones doing nothing."""
    out = {
        "extension": "700",
        "name": "Main",
        "greeting": "welcome",
        "invalid_sound": "",
        "timeout_seconds": "5",
        "max_attempts": "3",
        "dial_length": "5",
        "default_kind": "none",
        "default_key": "",
    }
    for key in ivr.KEYS:
        slug = key_slug(key)
        out |= {f"key_{slug}_action": "none", f"key_{slug}_kind": "none"}
        out |= {f"key_{slug}_key": "", f"key_{slug}_menu": ""}
    return out | changes


async def snapshot() -> list[object]:
    return [
        await AuditEntry.all().count(),
        await Menu.all().order_by("id").values(),
        await PhoneNumber.all().order_by("id").values(),
    ]


async def _sounds(platform: Platform, tenant: str = "acme") -> None:
    for name in ("welcome", "sorry"):
        await sounds.add_sound(platform, TEST_ACTOR, tenant, name, tone_wav())


async def test_add_edit_and_remove_a_menu_through_the_forms(
    alice: Console, platform: Platform
) -> None:
    await _sounds(platform)
    status, page = await alice.post(
        "/console/menus/acme",
        form(
            key_1_action="transfer",
            key_1_kind="user",
            key_1_key="201",
            key_star_action="repeat",
            default_kind="user",
            default_key="202",
            invalid_sound="sorry",
        ),
    )
    assert status == 200 and "Menu 700 added." in flashes(page)
    assert listed(page) == {"700": ["Main", "welcome", "2", "user 202 (Back Office)", "none"]}
    card = cards(page)["700"]
    assert keys_of(card) == "1 to user 201 (Front Desk); * repeat the greeting"
    assert fact(card, "invalid") == "sorry"
    view = await menus.show_menu("acme", "700")
    assert {k: v["text"] for k, v in view["keys"].items()} == {"1": "user:201", "*": "repeat"}
    entry = await AuditEntry.filter(action="menu.add").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice" and entry.object_key == "acme/700"

    # A second menu, entered from the first as a submenu; the edit form shows what is stored.
    _, page = await alice.post("/console/menus/acme", form(extension="710", name="Sales"))
    edit = form(
        name="Main",
        key_1_action="transfer",
        key_1_kind="user",
        key_1_key="201",
        key_2_action="submenu",
        key_2_menu="710",
        key_hash_action="hang_up",
        default_kind="menu",
        default_key="710",
    )
    del edit["extension"]
    _, page = await alice.post("/console/menus/acme/700", edit)
    assert "Menu 700 saved." in flashes(page)
    card = cards(page)["700"]
    assert keys_of(card) == "1 to user 201 (Front Desk); 2 submenu 710; # hang up"
    assert fact(card, "default") == "menu 710 (Sales)"
    assert fact(card, "invalid") == "no notice"
    assert 'name="key_2_menu"' in card and '<option value="710" selected>' in card
    assert 'name="default_key" list="dest-keys" autocomplete="off" value="710"' in card

    audited = await AuditEntry.all().count()
    _, page = await alice.post("/console/menus/acme/700", edit)
    assert "Nothing changed." in flashes(page)
    assert await AuditEntry.all().count() == audited

    # Menus are destinations and numbers' assignments elsewhere in the console.
    _, groups_page = await alice.get("/console/groups?tenant=acme")
    assert '<option value="menu">menu</option>' in groups_page
    assert '<option value="700">menu Main</option>' in groups_page
    _, numbers_page = await alice.get("/console/numbers?tenant=acme")
    assert '<option value="menu:700">menu 700 Main</option>' in numbers_page
    _, page = await alice.post(f"/console/numbers/{ACME_BLOCK}/assign", {"target": "menu:700"})
    assert f"Number {ACME_BLOCK} assigned." in flashes(page)
    row = re.search(rf'<tr data-number="\{ACME_BLOCK}">(.*?)</tr>', page, re.S)
    assert row and "in use by menu 700 (Main)" in text(row.group(1))
    _, page = await alice.get("/console/menus?tenant=acme")
    assert listed(page)["700"][-1] == ACME_BLOCK

    before = await snapshot()
    _, page = await alice.post("/console/menus/acme/710/remove")
    assert any("Menu 710 was kept" in f and "menu 700" in f for f in flashes(page))
    assert await snapshot() == before
    await alice.post(f"/console/numbers/{ACME_BLOCK}/release")
    _, page = await alice.post("/console/menus/acme/700/remove")
    assert "Menu 700 removed." in flashes(page)
    assert list(cards(page)) == ["710"]
    assert await AuditEntry.filter(action="menu.remove", object_key="acme/700").exists()


async def test_refusals_name_the_field_and_write_nothing(
    alice: Console, platform: Platform
) -> None:
    await _sounds(platform)
    await groups.add_group(platform, TEST_ACTOR, "acme", "600", "Reception", "fixed")
    before = await snapshot()
    for change, error_id, message in (
        ({"extension": "201"}, "a-e-extension", "201"),  # a user's
        ({"extension": "600"}, "a-e-extension", "600"),  # a group's
        ({"name": ""}, "a-e-name", "must not be empty"),
        ({"greeting": ""}, "a-e-greeting", "pick a sound"),
        ({"greeting": "nosuch"}, "a-e-greeting", "not found"),
        ({"timeout_seconds": "0"}, "a-e-timeout_seconds", "from 1 to 60"),
        ({"max_attempts": "many"}, "a-e-max_attempts", "is not a whole number"),
        ({"dial_length": "9"}, "a-e-dial_length", "from 2 to 5"),
        (
            {"default_kind": "user", "default_key": "299"},
            "a-default-error",
            "user '299 in tenant acme' not found",
        ),
        (
            {"key_1_action": "transfer", "key_1_kind": "user", "key_1_key": "299"},
            "a-key-1-error",
            "user '299 in tenant acme' not found",
        ),
        ({"key_hash_action": "transfer"}, "a-key-hash-error", "pick where the key transfers"),
        ({"key_9_action": "submenu"}, "a-key-9-error", "names no menu"),
        ({"key_9_action": "submenu", "key_9_menu": "799"}, "a-key-9-error", "not found"),
        ({"key_0_action": "explode"}, "a-key-0-error", "is not a key's action"),
    ):
        status, page = await alice.post("/console/menus/acme", form(**change))
        assert status == 200, change
        assert message in field_error(page, error_id), (change, field_error(page, error_id))
        assert any(f.startswith("The menu was not added") for f in flashes(page)), change
        assert 'value="Main"' in page or change == {"name": ""}  # what was typed is kept
    assert await snapshot() == before

    await menus.add_menu(platform, TEST_ACTOR, "acme", "700", "Main", "welcome")
    await groups.update_group(platform, TEST_ACTOR, "acme", "600", overflow="menu:700")
    before = await snapshot()
    edit = form(key_1_action="transfer", key_1_kind="external", key_1_key="112")
    del edit["extension"]
    _, page = await alice.post("/console/menus/acme/700", edit)
    assert "emergency number" in field_error(page, "m700-key-1-error")
    assert '<details class="edit" open>' in page
    _, page = await alice.post("/console/menus/acme/700", {**edit, "greeting": ""})
    assert "pick a sound" in field_error(page, "m700-e-greeting")
    _, page = await alice.post("/console/menus/acme/700/remove")
    assert any("is in use by group 600's overflow" in f for f in flashes(page))
    assert await snapshot() == before


async def test_a_tenant_admin_works_in_their_own_tenant_only(
    tara: Console, platform: Platform
) -> None:
    await _sounds(platform)
    await _sounds(platform, "globex")
    await menus.add_menu(platform, TEST_ACTOR, "globex", "700", "Globex Main", "welcome")
    status, page = await tara.get("/console/menus?tenant=globex")
    assert status == 200 and listed(page) == {} and "Globex" not in page
    before = await snapshot()
    for path, posted in (
        ("/console/menus/globex", form()),
        ("/console/menus/globex/700", {"name": "Taken over"}),
        ("/console/menus/globex/700/remove", {}),
    ):
        other_status, other = await tara.post(path, posted)
        missing_status, missing = await tara.post(path.replace("globex", "nosuch"), posted)
        assert other_status == missing_status == 404, path
        assert other.replace("globex", "T") == missing.replace("nosuch", "T")
    assert await snapshot() == before

    _, page = await tara.post("/console/menus/acme", form(key_1_action="submenu", key_1_menu="700"))
    assert "not found" in field_error(page, "a-key-1-error")  # globex's 700 is not acme's
    _, page = await tara.post("/console/menus/acme", form(extension="710"))
    assert "Menu 710 added." in flashes(page)
    assert html_lib.unescape(listed(page)["710"][1]) == "welcome"
