"""The console's Announcements page: a tenant's announcements listed with sound, plays
and numbers; add, edit and remove one through the forms, each audited; refusals shown
by field with nothing written; an announcement something uses is kept; announcements
offered as destinations and as a number's assignment; a tenant admin works in their
own tenant only."""

from __future__ import annotations

import re

from provd.db.models import Announcement, AuditEntry, PhoneNumber
from provd.services import announcements, groups
from provd.services.menus import sounds
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.services.menus.audio import tone_wav
from tests.web.console.conftest import ACME_BLOCK, Console
from tests.web.console.test_groups import text
from tests.web.console.test_numbers import field_error, flashes


def listed(page: str) -> dict[str, list[str]]:
    """The list's rows by extension: name, sound, plays, numbers."""
    out = {}
    for ext, row in re.findall(r'<tr data-announcement="(\d+)">(.*?)</tr>', page, re.S):
        out[ext] = [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[1:]]
    return out


def form(**changes: str) -> dict[str, str]:
    return {"extension": "800", "name": "Closed", "sound": "closed", "plays": "1"} | changes


async def snapshot() -> list[object]:
    return [
        await AuditEntry.all().count(),
        await Announcement.all().order_by("id").values(),
        await PhoneNumber.all().order_by("id").values(),
    ]


async def _sounds(platform: Platform, tenant: str = "acme") -> None:
    for name in ("closed", "moved"):
        await sounds.add_sound(platform, TEST_ACTOR, tenant, name, tone_wav())


async def test_add_edit_and_remove_an_announcement_through_the_forms(
    alice: Console, platform: Platform
) -> None:
    await _sounds(platform)
    status, page = await alice.post("/console/announcements/acme", form(plays="2"))
    assert status == 200 and "Announcement 800 added." in flashes(page)
    assert listed(page) == {"800": ["Closed", "closed", "2", "none"]}
    entry = await AuditEntry.filter(action="announcement.add").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice" and entry.object_key == "acme/800"

    edit = form(name="Moved", sound="moved", plays="3")
    del edit["extension"]
    _, page = await alice.post("/console/announcements/acme/800", edit)
    assert "Announcement 800 saved." in flashes(page)
    assert listed(page) == {"800": ["Moved", "moved", "3", "none"]}
    audited = await AuditEntry.all().count()
    _, page = await alice.post("/console/announcements/acme/800", edit)
    assert "Nothing changed." in flashes(page)
    assert await AuditEntry.all().count() == audited

    # Announcements are destinations and numbers' assignments elsewhere in the console.
    _, groups_page = await alice.get("/console/groups?tenant=acme")
    assert '<option value="announcement">announcement</option>' in groups_page
    assert '<option value="800">announcement Moved</option>' in groups_page
    _, numbers_page = await alice.get("/console/numbers?tenant=acme")
    assert '<option value="announcement:800">announcement 800 Moved</option>' in numbers_page
    _, page = await alice.post(
        f"/console/numbers/{ACME_BLOCK}/assign", {"target": "announcement:800"}
    )
    assert f"Number {ACME_BLOCK} assigned." in flashes(page)
    row = re.search(rf'<tr data-number="\{ACME_BLOCK}">(.*?)</tr>', page, re.S)
    assert row and "in use by announcement 800 (Moved)" in text(row.group(1))
    _, page = await alice.get("/console/announcements?tenant=acme")
    assert listed(page)["800"][-1] == ACME_BLOCK

    before = await snapshot()
    _, page = await alice.post("/console/announcements/acme/800/remove")
    assert any("Announcement 800 was kept" in f and ACME_BLOCK in f for f in flashes(page))
    assert await snapshot() == before
    await alice.post(f"/console/numbers/{ACME_BLOCK}/release")
    _, page = await alice.post("/console/announcements/acme/800/remove")
    assert "Announcement 800 removed." in flashes(page)
    assert listed(page) == {}
    assert await AuditEntry.filter(action="announcement.remove", object_key="acme/800").exists()


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
        ({"sound": ""}, "a-e-sound", "pick a sound"),
        ({"sound": "nosuch"}, "a-e-sound", "not found"),
        ({"plays": "0"}, "a-e-plays", "from 1 to 5"),
        ({"plays": "many"}, "a-e-plays", "is not a whole number"),
    ):
        status, page = await alice.post("/console/announcements/acme", form(**change))
        assert status == 200, change
        assert message in field_error(page, error_id), (change, field_error(page, error_id))
        assert any(f.startswith("The announcement was not added") for f in flashes(page))
        assert 'value="Closed"' in page or change == {"name": ""}  # what was typed is kept
    assert await snapshot() == before

    await announcements.add_announcement(platform, TEST_ACTOR, "acme", "800", "Closed", "closed")
    await groups.update_group(platform, TEST_ACTOR, "acme", "600", overflow="announcement:800")
    before = await snapshot()
    _, page = await alice.post(
        "/console/announcements/acme/800", {"name": "Closed", "sound": "closed", "plays": "6"}
    )
    assert "from 1 to 5" in field_error(page, "x800-e-plays")
    assert '<details class="edit" open>' in page
    _, page = await alice.post("/console/announcements/acme/800/remove")
    assert any("is in use by group 600's overflow" in f for f in flashes(page))
    assert await snapshot() == before


async def test_a_tenant_admin_works_in_their_own_tenant_only(
    tara: Console, platform: Platform
) -> None:
    await _sounds(platform)
    await _sounds(platform, "globex")
    await announcements.add_announcement(
        platform, TEST_ACTOR, "globex", "800", "Globex Closed", "closed"
    )
    status, page = await tara.get("/console/announcements?tenant=globex")
    assert status == 200 and listed(page) == {} and "Globex" not in page
    before = await snapshot()
    for path, posted in (
        ("/console/announcements/globex", form()),
        ("/console/announcements/globex/800", {"name": "Taken over"}),
        ("/console/announcements/globex/800/remove", {}),
    ):
        other_status, other = await tara.post(path, posted)
        missing_status, missing = await tara.post(path.replace("globex", "nosuch"), posted)
        assert other_status == missing_status == 404, path
        assert other.replace("globex", "T") == missing.replace("nosuch", "T")
    assert await snapshot() == before
    _, page = await tara.post("/console/announcements/acme", form())
    assert "Announcement 800 added." in flashes(page)
    assert listed(page) == {"800": ["Closed", "closed", "1", "none"]}
