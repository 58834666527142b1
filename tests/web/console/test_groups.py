"""The console's groups page: a tenant's hunt groups with policy, times, overflow and
members in order; add, edit and remove a group, add a member (a user or an outside
number) at a position and remove one, each audited; refusals shown by field with
nothing written; a tenant admin works in their own tenant only, and another tenant's
group, even posted by hand, answers as a missing one."""

from __future__ import annotations

import html as html_lib
import re

from provd.db.models import AuditEntry, HuntGroup, HuntGroupMember
from provd.services import groups
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.web.console.conftest import Console
from tests.web.console.test_numbers import field_error, flashes


def text(fragment: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def sections(page: str) -> dict[str, str]:
    """Each group's card by extension."""
    return dict(
        re.findall(r'<section class="card group"[^>]*data-group="(\d+)"(.*?)</section>', page, re.S)
    )


def fact(section: str, name: str) -> str:
    match = re.search(rf'<dd class="{name}">(.*?)</dd>', section, re.S)
    assert match, name
    return text(match.group(1))


def members(section: str) -> list[str]:
    return [
        text(m).removesuffix(" remove")
        for m in re.findall(r"<li data-position[^>]*>(.*?)</li>", section, re.S)
    ]


async def snapshot() -> list[object]:
    out: list[object] = [await AuditEntry.all().count()]
    for model in (HuntGroup, HuntGroupMember):
        out.append(await model.all().order_by("id").values())
    return out


async def _sales(platform: Platform, tenant: str = "acme") -> None:
    await groups.add_group(
        platform, TEST_ACTOR, tenant, "610", "Sales", "circular", ring_seconds=10
    )
    await groups.add_member(platform, TEST_ACTOR, tenant, "610", user="202")


async def test_the_page_lists_a_tenants_groups_with_members_in_order(
    alice: Console, platform: Platform
) -> None:
    await _sales(platform)
    await groups.add_member(platform, TEST_ACTOR, "acme", "610", external="0612345678")
    await groups.add_member(platform, TEST_ACTOR, "acme", "610", user="201", position=1)
    await groups.add_group(
        platform,
        TEST_ACTOR,
        "acme",
        "600",
        "Reception",
        "fixed",
        total_wait_seconds=60,
        overflow="group:610",
    )
    await groups.add_group(platform, TEST_ACTOR, "globex", "700", "Globex Desk", "simultaneous")
    status, page = await alice.get("/console/groups?tenant=acme")
    assert status == 200
    cards = sections(page)
    assert list(cards) == ["600", "610"]
    sales = cards["610"]
    assert fact(sales, "policy") == "circular"
    assert fact(sales, "ring") == "10 s per member"
    assert fact(sales, "wait") == "until every member has been tried once"
    assert fact(sales, "overflow") == "none"
    assert members(sales) == [
        "user 201 Front Desk",
        "user 202 Back Office",
        "outside number +31612345678",
    ]
    assert fact(cards["600"], "overflow") == "group 610 (Sales)"
    assert fact(cards["600"], "wait") == "60 s"
    assert "Globex Desk" not in page
    _, globex = await alice.get("/console/groups?tenant=globex")
    assert list(sections(globex)) == ["700"]
    _, unknown = await alice.get("/console/groups?tenant=nosuch")
    assert field_error(unknown, "e-f-tenant") == "tenant 'nosuch' not found"
    assert list(sections(unknown)) == []  # the default tenant's, which has none


async def test_add_edit_and_remove_a_group_through_the_forms(alice: Console) -> None:
    status, page = await alice.post(
        "/console/groups/acme",
        {
            "extension": "600",
            "name": "Reception",
            "policy": "fixed",
            "ring_seconds": "15",
            "total_wait_seconds": "0",
            "overflow_kind": "none",
            "overflow_key": "",
        },
    )
    assert status == 200 and "Group 600 added." in flashes(page)
    group = await HuntGroup.get(extension="600", tenant__slug="acme")
    assert (group.name, group.policy, group.ring_seconds, group.overflow) == (
        "Reception",
        "fixed",
        15,
        None,
    )
    entry = await AuditEntry.filter(action="group.add").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice" and entry.object_key == "acme/600"

    status, page = await alice.post(
        "/console/groups/acme/600",
        {
            "name": "Front",
            "policy": "simultaneous",
            "ring_seconds": "20",
            "total_wait_seconds": "40",
            "overflow_kind": "external",
            "overflow_key": "06 1234 5678",
        },
    )
    assert "Group 600 saved." in flashes(page)
    card = sections(page)["600"]
    assert fact(card, "policy") == "simultaneous" and fact(card, "ring") == "20 s per member"
    assert fact(card, "overflow") == "external +31612345678"
    # The edit form shows the stored destination back as kind and key.
    assert 'name="overflow_key" list="dest-keys" autocomplete="off" value="+31612345678"' in card

    audited = await AuditEntry.all().count()
    _, page = await alice.post(
        "/console/groups/acme/600",
        {
            "name": "Front",
            "policy": "simultaneous",
            "ring_seconds": "20",
            "total_wait_seconds": "40",
            "overflow_kind": "external",
            "overflow_key": "+31612345678",
        },
    )
    assert "Nothing changed." in flashes(page)
    assert await AuditEntry.all().count() == audited

    status, page = await alice.post("/console/groups/acme/600/remove")
    assert "Group 600 removed." in flashes(page)
    assert not await HuntGroup.filter(extension="600").exists()
    assert await AuditEntry.filter(action="group.remove", object_key="acme/600").exists()


async def test_members_are_added_at_a_position_and_removed(
    alice: Console, platform: Platform
) -> None:
    await _sales(platform)
    _, page = await alice.post(
        "/console/groups/acme/610/members", {"user": "201", "external": "", "position": "1"}
    )
    assert "Member added to group 610." in flashes(page)
    _, page = await alice.post(
        "/console/groups/acme/610/members", {"user": "", "external": "0612345678", "position": ""}
    )
    assert members(sections(page)["610"]) == [
        "user 201 Front Desk",
        "user 202 Back Office",
        "outside number +31612345678",
    ]
    _, page = await alice.post("/console/groups/acme/610/members/2/remove")
    assert "Member removed from group 610." in flashes(page)
    assert members(sections(page)["610"]) == ["user 201 Front Desk", "outside number +31612345678"]
    actions = [e.action for e in await AuditEntry.filter(object_key="acme/610").order_by("id")]
    assert actions[-3:] == ["group.member.add", "group.member.add", "group.member.remove"]


async def test_refusals_name_the_field_and_write_nothing(
    alice: Console, platform: Platform
) -> None:
    await _sales(platform)
    before = await snapshot()
    add = {
        "extension": "600",
        "name": "Reception",
        "policy": "fixed",
        "ring_seconds": "15",
        "total_wait_seconds": "0",
        "overflow_kind": "none",
    }
    for change, error_id, message in (
        ({"extension": "201"}, "e-extension", "201"),  # a user's extension
        ({"policy": "random"}, "e-policy", "is not a policy"),
        ({"ring_seconds": "2"}, "e-ring_seconds", "from 5 to 120"),
        ({"ring_seconds": "soon"}, "e-ring_seconds", "is not a whole number"),
        (
            {"total_wait_seconds": "10"},
            "e-total_wait_seconds",
            "shorter than one member's ring time",
        ),
        (
            {"overflow_kind": "user", "overflow_key": "301"},
            "a-overflow-error",
            "user '301 in tenant acme' not found",
        ),
        (
            {"overflow_kind": "external", "overflow_key": "112"},
            "a-overflow-error",
            "emergency number",
        ),
        ({"overflow_kind": "group", "overflow_key": ""}, "a-overflow-error", "names no group"),
        ({"name": ""}, "e-name", "must not be empty"),
    ):
        status, page = await alice.post("/console/groups/acme", {**add, **change})
        assert status == 200, change
        assert message in field_error(page, error_id), (change, field_error(page, error_id))
        assert any(f.startswith("The group was not added") for f in flashes(page))
        # The refused form keeps what was typed.
        assert (
            f'value="{html_lib.escape(add["name"] if "name" not in change else change["name"])}"'
            in page
        )
    # A member that is not a user of the tenant, a bad number or position; a loop.
    for form, error_id, message in (
        ({"user": "301"}, "e-m610-user", "user '301 in tenant acme' not found"),
        ({"user": "202"}, "e-m610-user", "already a member"),
        ({"external": "12"}, "e-m610-external", "not"),
        ({"user": "201", "external": "0612345678"}, "e-m610-external", "not both"),
        ({}, "e-m610-user", "give a user or an external number"),
        ({"user": "201", "position": "9"}, "e-m610-position", "is not a position from 1 to 2"),
    ):
        _, page = await alice.post("/console/groups/acme/610/members", form)
        assert message in field_error(page, error_id), (form, field_error(page, error_id))
    _, page = await alice.post(
        "/console/groups/acme/610", {"overflow_kind": "group", "overflow_key": "610"}
    )
    assert "a loop" in field_error(page, "g610-overflow-error")
    assert '<details class="edit" open>' in page
    _, page = await alice.post("/console/groups/acme/610/members/5/remove")
    assert any("position 5 is not a member" in f for f in flashes(page))
    # A group something points at is kept.
    await groups.add_group(
        platform, TEST_ACTOR, "acme", "600", "Reception", "fixed", overflow="group:610"
    )
    before = await snapshot()
    _, page = await alice.post("/console/groups/acme/610/remove")
    assert any("is in use by group 600's overflow" in f for f in flashes(page))
    assert await snapshot() == before


async def test_a_tenant_admin_works_in_their_own_tenant_only(
    tara: Console, platform: Platform
) -> None:
    await _sales(platform)
    await groups.add_group(platform, TEST_ACTOR, "globex", "610", "Globex Sales", "fixed")
    status, page = await tara.get("/console/groups?tenant=globex")
    assert status == 200 and list(sections(page)) == ["610"]
    assert "Globex" not in page and 'id="f-tenant"' not in page
    before = await snapshot()
    for path, form in (
        (
            "/console/groups/globex",
            {"extension": "620", "name": "X", "policy": "fixed", "ring_seconds": "15"},
        ),
        ("/console/groups/globex/610", {"name": "Taken over"}),
        ("/console/groups/globex/610/remove", {}),
        ("/console/groups/globex/610/members", {"external": "0612345678"}),
        ("/console/groups/globex/610/members/1/remove", {}),
    ):
        other_status, other = await tara.post(path, form)
        missing_status, missing = await tara.post(path.replace("globex", "nosuch"), form)
        assert other_status == missing_status == 404, path
        assert other.replace("globex", "T") == missing.replace("nosuch", "T")
    # A user of another tenant is no member; nor is another tenant's group an overflow.
    _, page = await tara.post("/console/groups/acme/610/members", {"user": "301"})
    assert "not found" in field_error(page, "e-m610-user")
    assert await snapshot() == before
    assert (await HuntGroup.get(extension="610", tenant__slug="globex")).name == "Globex Sales"

    _, page = await tara.post(
        "/console/groups/acme",
        {
            "extension": "620",
            "name": "Support",
            "policy": "simultaneous",
            "ring_seconds": "15",
            "overflow_kind": "group",
            "overflow_key": "610",
        },
    )
    assert "Group 620 added." in flashes(page)
    entry = await AuditEntry.filter(action="group.add").order_by("-id").first()
    assert entry is not None and entry.actor == "web:tara" and entry.object_key == "acme/620"
