"""Announcements: one extension space with users, groups and menus, a sound of the
tenant played 1 to 5 times, refusals naming the field with nothing written, removal
refused while in use, destinations and numbers naming them, and what the media
application is given."""

from __future__ import annotations

from typing import Any

import pytest

from provd.db.models import Announcement, AuditEntry, Sound
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.routing import MediaTarget, Route, ToAnnouncement
from provd.domain.routing_table import CallRequest
from provd.media.announcements import Announcement as Played
from provd.services import announcements, groups, menus, numbers
from provd.services.destinations import Names, describe, resolve_destination
from provd.services.directory import forwarding, tenants, users
from provd.services.menus import sounds
from provd.services.platform import Platform
from provd.services.routing import load_table
from tests.conftest import TEST_ACTOR as A
from tests.conftest import starting_from
from tests.services.menus.audio import tone_wav
from tests.services.routing.test_load_call_handling import MONDAY_10H

MEDIA = "127.0.0.1:5090"


async def _office(platform: Platform) -> None:
    await users.add_user(platform, A, "default", "201", "Front Desk")
    await groups.add_group(platform, A, "default", "600", "Sales", "fixed")
    for name in ("closed", "moved"):
        await sounds.add_sound(platform, A, "default", name, tone_wav(0.2))
    await menus.add_menu(platform, A, "default", "700", "Main", "closed")
    await tenants.add_tenant(platform, A, "acme")
    await sounds.add_sound(platform, A, "acme", "theirs", tone_wav(0.2))


platform_start = starting_from(_office)


async def _resolve(host: str) -> list[str]:
    return ["192.0.2.1"]


async def _state() -> dict[str, Any]:
    return {
        "announcements": await Announcement.all().order_by("id").values(),
        "audit": await AuditEntry.all().count(),
    }


async def test_an_announcement_is_added_with_one_audit_row(platform: Platform) -> None:
    view = await announcements.add_announcement(
        platform, A, "default", "800", "Closed", "closed", plays=3
    )
    assert view == {
        "tenant": "default",
        "extension": "800",
        "name": "Closed",
        "sound": "closed",
        "plays": 3,
        "numbers": [],
    }
    row = await AuditEntry.filter(action="announcement.add", object_key="default/800").get()
    assert (row.object_type, row.after) == ("announcement", view)
    once = await announcements.add_announcement(platform, A, "default", "801", "Moved", "moved")
    assert once["plays"] == 1
    assert [a["extension"] for a in await announcements.list_announcements("default")] == [
        "800",
        "801",
    ]
    assert await announcements.show_announcement("default", "801") == once


async def test_it_shares_the_extensions_of_users_groups_and_menus(platform: Platform) -> None:
    for taken in ("201", "600", "700"):
        with pytest.raises(Conflict) as caught:
            await announcements.add_announcement(platform, A, "default", taken, "X", "closed")
        assert caught.value.field == "extension"
    await announcements.add_announcement(platform, A, "default", "800", "Closed", "closed")
    with pytest.raises(Conflict, match="announcement 800, Closed"):
        await users.add_user(platform, A, "default", "800", "Late")
    with pytest.raises(Conflict, match="announcement 800"):
        await groups.add_group(platform, A, "default", "800", "Late", "fixed")
    with pytest.raises(Conflict, match="announcement 800"):
        await menus.add_menu(platform, A, "default", "800", "Late", "closed")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"extension": "8"}, "extension"),
        ({"name": " "}, "name"),
        ({"sound": "missing"}, "sound"),
        ({"sound": "theirs"}, "sound"),  # acme's: not found in default
        ({"plays": 0}, "plays"),
        ({"plays": 6}, "plays"),
        ({"plays": True}, "plays"),
        ({"plays": "2"}, "plays"),
    ],
)
async def test_bad_input_names_its_field_and_stores_nothing(
    platform: Platform, kwargs: dict[str, Any], field: str
) -> None:
    given: dict[str, Any] = {"extension": "800", "name": "Closed", "sound": "closed", "plays": 1}
    given.update(kwargs)
    before = await _state()
    with pytest.raises((InvalidInput, NotFound)) as caught:
        await announcements.add_announcement(
            platform, A, "default", given["extension"], given["name"], given["sound"],
            plays=given["plays"],
        )  # fmt: skip
    error = caught.value
    assert isinstance(error, InvalidInput | NotFound)
    assert error.field == field
    assert await _state() == before


async def test_a_change_is_checked_whole_and_audited(platform: Platform) -> None:
    await announcements.add_announcement(platform, A, "default", "800", "Closed", "closed")
    before = await _state()
    with pytest.raises(InvalidInput) as caught:
        await announcements.update_announcement(platform, A, "default", "800", name="New", plays=9)
    assert caught.value.field == "plays"
    with pytest.raises(NotFound) as missing:
        await announcements.update_announcement(platform, A, "default", "800", sound="nope")
    assert missing.value.field == "sound"
    with pytest.raises(InvalidInput, match="nothing to change"):
        await announcements.update_announcement(platform, A, "default", "800")
    assert await _state() == before
    after = await announcements.update_announcement(
        platform, A, "default", "800", name="Moved", sound="moved", plays=2
    )
    assert (after["name"], after["sound"], after["plays"]) == ("Moved", "moved", 2)
    row = await AuditEntry.filter(action="announcement.set").get()
    assert row.before is not None and row.before["sound"] == "closed"
    assert row.after == after


async def test_another_tenants_announcement_is_not_found(platform: Platform) -> None:
    await announcements.add_announcement(platform, A, "acme", "800", "Theirs", "theirs")
    for attempt in (
        announcements.show_announcement("default", "800"),
        announcements.update_announcement(platform, A, "default", "800", plays=2),
        announcements.remove_announcement(platform, A, "default", "800"),
    ):
        with pytest.raises(NotFound):
            await attempt
    tenant = await tenants.get_tenant("default")
    with pytest.raises(NotFound):
        await resolve_destination(tenant, "announcement:800", field="busy")


async def test_a_destination_and_a_number_name_it_and_keep_it(platform: Platform) -> None:
    await announcements.add_announcement(platform, A, "default", "800", "Closed", "closed")
    tenant = await tenants.get_tenant("default")
    row = await Announcement.get(extension="800")
    stored = await resolve_destination(tenant, "Announcement:800", field="busy")
    assert stored == {"kind": "announcement", "announcement_id": row.id}
    view = (await Names.of(tenant)).view(stored)
    assert view == {"kind": "announcement", "key": "800", "name": "Closed",
                    "text": "announcement:800"}  # fmt: skip
    assert describe(view) == "announcement 800 (Closed)"

    await forwarding.set_forwarding(platform, A, "default", "201", busy="announcement:800")
    await groups.update_group(platform, A, "default", "600", overflow="announcement:800")
    await menus.update_menu(platform, A, "default", "700", keys={"5": "announcement:800"})
    await numbers.add_block(platform, A, "+31201234500", 1, "default")
    assigned = await numbers.assign(platform, A, "+31201234500", announcement="800")
    assert assigned.describe_use() == "in use by announcement 800 (Closed)"
    shown = await announcements.show_announcement("default", "800")
    assert shown["numbers"] == ["+31201234500"]

    before = await _state()
    with pytest.raises(InvalidInput) as caught:
        await announcements.remove_announcement(platform, A, "default", "800")
    assert caught.value.field == "extension"
    for use in ("user 201's forwarding", "group 600's overflow", "menu 700's key 5",
                "number +31201234500"):  # fmt: skip
        assert use in str(caught.value)
    assert await _state() == before

    table = await load_table(_resolve, media=MEDIA)
    routing = table.tenant_for_domain(tenant.sip_domain)
    assert routing is not None
    assert routing.announcements == frozenset({"800"})
    assert routing.numbers["+31201234500"] == ToAnnouncement("800")
    assert routing.users["201"].forwarding.busy == ToAnnouncement("800")
    assert routing.groups["600"].overflow == ToAnnouncement("800")
    assert routing.menus["700"].keys["5"] == ToAnnouncement("800")
    plan = table.plan(
        CallRequest("user", "192.0.2.9", "800", domain=tenant.sip_domain, extension="201"),
        MONDAY_10H,
    )
    assert isinstance(plan, Route), plan
    assert plan.branches[0].target == MediaTarget(
        "announcement", f"sip:ann-800@{MEDIA}", f"sip:{MEDIA}"
    )


async def test_a_number_goes_to_exactly_one_thing(platform: Platform) -> None:
    await announcements.add_announcement(platform, A, "default", "800", "Closed", "closed")
    await numbers.add_block(platform, A, "+31201234500", 1, "default")
    with pytest.raises(InvalidInput) as caught:
        await numbers.assign(platform, A, "+31201234500", menu="700", announcement="800")
    assert caught.value.field == "announcement"
    with pytest.raises(NotFound) as missing:
        await numbers.assign(platform, A, "+31201234500", announcement="899")
    assert missing.value.field == "announcement"
    await numbers.assign(platform, A, "+31201234500", announcement="800")
    released = await numbers.release(platform, A, "+31201234500")
    assert released.use is None
    await announcements.remove_announcement(platform, A, "default", "800")
    assert not await Announcement.filter(extension="800").exists()
    assert await AuditEntry.filter(action="announcement.remove").count() == 1


async def test_a_sound_an_announcement_plays_is_not_removed(platform: Platform) -> None:
    await announcements.add_announcement(platform, A, "default", "800", "Closed", "moved")
    with pytest.raises(InvalidInput, match="announcement 800"):
        await sounds.remove_sound(platform, A, "default", "moved")
    assert await Sound.filter(name="moved").exists()


async def test_the_media_application_gets_every_tenants_announcements(
    platform: Platform,
) -> None:
    await announcements.add_announcement(platform, A, "default", "800", "Closed", "closed")
    await announcements.add_announcement(platform, A, "acme", "800", "Theirs", "theirs", plays=4)
    default = await tenants.get_tenant("default")
    acme = await tenants.get_tenant("acme")
    assert await announcements.media_announcements() == {
        default.sip_domain: {"800": Played("default/closed", 1)},
        acme.sip_domain: {"800": Played("acme/theirs", 4)},
    }
