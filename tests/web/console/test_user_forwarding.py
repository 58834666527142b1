"""The user page's forwarding (always, busy, no answer after N seconds, unreachable),
do-not-disturb and the user's incoming blocks: set through the forms and audited, an
unchanged form writes nothing, refusals are shown by field with nothing written, and a
tenant admin reaches their own tenant's users only."""

from __future__ import annotations

import html as html_lib
import re

from provd.db.models import AuditEntry, IncomingBlock, User
from provd.services import blocking, groups, schedules
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.web.console.conftest import Console
from tests.web.console.test_numbers import field_error, flashes
from tests.web.console.test_user_numbers import fact

PAGE = "/console/users/acme/201"
UNSET = {
    "always_kind": "none",
    "busy_kind": "none",
    "no_answer_kind": "none",
    "unreachable_kind": "none",
    "no_answer_seconds": "20",
}


def blocks(page: str) -> dict[str, str]:
    """The user's blocks listed, by id."""
    found = re.findall(r'<li data-block="(\d+)">(.*?)<form', page, re.S)
    return {i: " ".join(html_lib.unescape(t).split()) for i, t in found}


async def snapshot() -> list[object]:
    out: list[object] = [await AuditEntry.all().count()]
    for model in (User, IncomingBlock):
        out.append(await model.all().order_by("id").values())
    return out


async def test_forwarding_is_set_and_cleared_through_the_form(
    alice: Console, platform: Platform
) -> None:
    await groups.add_group(platform, TEST_ACTOR, "acme", "600", "Reception", "fixed")
    status, page = await alice.get(PAGE)
    assert status == 200
    assert [fact(page, f"fw-{case}") for case in ("always", "busy", "no_answer")] == ["none"] * 3
    assert fact(page, "dnd") == "off"

    _, page = await alice.post(
        PAGE + "/forwarding",
        {
            **UNSET,
            "busy_kind": "user",
            "busy_key": "202",
            "no_answer_kind": "group",
            "no_answer_key": "600",
            "no_answer_seconds": "12",
            "unreachable_kind": "external",
            "unreachable_key": "06 1234 5678",
        },
    )
    assert "Forwarding saved." in flashes(page)
    assert fact(page, "fw-always") == "none"
    assert fact(page, "fw-busy") == "user 202 (Back Office)"
    assert fact(page, "fw-no_answer") == "group 600 (Reception) after 12 s"
    assert fact(page, "fw-unreachable") == "external +31612345678"
    user = await User.get(extension="201", tenant__slug="acme")
    assert user.forward_busy is not None and user.forward_no_answer_seconds == 12
    entry = await AuditEntry.filter(action="user.forward").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice" and entry.object_key == "acme/201"
    # The form shows what is stored, so saving it again changes nothing and writes nothing.
    assert 'name="busy_key" list="dest-keys" autocomplete="off" value="202"' in page
    audited = await AuditEntry.all().count()
    _, page = await alice.post(
        PAGE + "/forwarding",
        {
            **UNSET,
            "busy_kind": "user",
            "busy_key": "202",
            "no_answer_kind": "group",
            "no_answer_key": "600",
            "no_answer_seconds": "12",
            "unreachable_kind": "external",
            "unreachable_key": "+31612345678",
        },
    )
    assert "Nothing changed." in flashes(page)
    assert await AuditEntry.all().count() == audited

    _, page = await alice.post(PAGE + "/forwarding", UNSET | {"no_answer_seconds": "12"})
    for case in ("always", "busy", "no_answer", "unreachable"):
        assert fact(page, f"fw-{case}") == "none", case


async def test_do_not_disturb_is_switched_with_one_click(alice: Console) -> None:
    _, page = await alice.post(PAGE + "/dnd", {"dnd": "on"})
    assert "Do-not-disturb is on." in flashes(page)
    assert fact(page, "dnd").startswith("on")
    assert '<input type="hidden" name="dnd" value="off">' in page
    assert (await User.get(extension="201", tenant__slug="acme")).dnd is True
    entry = await AuditEntry.filter(action="user.dnd").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice"
    _, page = await alice.post(PAGE + "/dnd", {"dnd": "off"})
    assert fact(page, "dnd") == "off"
    before = await snapshot()
    _, page = await alice.post(PAGE + "/dnd", {"dnd": "maybe"})
    assert any("'maybe' is not on or off" in f for f in flashes(page))
    assert await snapshot() == before


async def test_forwarding_refusals_name_the_field_and_write_nothing(
    alice: Console, platform: Platform
) -> None:
    before = await snapshot()
    for change, error_id, message in (
        ({"always_kind": "user", "always_key": "301"}, "fw-always-input-error", "not found"),
        ({"busy_kind": "user", "busy_key": "201"}, "fw-busy-input-error", "a loop"),
        (
            {"no_answer_kind": "external", "no_answer_key": "112"},
            "fw-no_answer-input-error",
            "emergency number",
        ),
        (
            {"unreachable_kind": "scheduled", "unreachable_key": "nosuch"},
            "fw-unreachable-input-error",
            "route 'nosuch in tenant acme' not found",
        ),
        ({"always_kind": "phone", "always_key": "1"}, "fw-always-input-error", "not a destination"),
        ({"no_answer_seconds": "2"}, "e-no_answer_seconds", "from 5 to 120"),
        ({"no_answer_seconds": "ten"}, "e-no_answer_seconds", "is not a whole number"),
    ):
        status, page = await alice.post(PAGE + "/forwarding", {**UNSET, **change})
        assert status == 200
        assert message in field_error(page, error_id), (change, field_error(page, error_id))
        assert any(f.startswith("The forwarding was not saved") for f in flashes(page))
        assert '<details class="edit" open>' in page
    assert await snapshot() == before


async def test_the_users_blocks_are_added_and_removed(alice: Console, platform: Platform) -> None:
    await schedules.add_schedule(platform, TEST_ACTOR, "acme", "office", ["mon-fri 08:00-17:00"])
    tenant_wide = await blocking.add_block(platform, TEST_ACTOR, "acme", prefix="0900")
    other_user = await blocking.add_block(platform, TEST_ACTOR, "acme", user="202", anonymous=True)
    _, page = await alice.get(PAGE)
    assert blocks(page) == {}
    assert '<option value="office:closed">while office is closed</option>' in page

    _, page = await alice.post(PAGE + "/blocks", {"match": "anonymous", "when": "office:closed"})
    assert "Block added." in flashes(page)
    _, page = await alice.post(PAGE + "/blocks", {"match": "number", "pattern": "06 1234 5678"})
    _, page = await alice.post(PAGE + "/blocks", {"match": "prefix", "pattern": "0900"})
    listed = blocks(page)
    assert sorted(listed.values()) == [
        "+31612345678",
        "anonymous callers, while office is closed",
        "numbers starting +31900",
    ]
    entry = await AuditEntry.filter(action="block.add").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice" and entry.after is not None
    assert entry.after["user"] == "201"

    [number_block] = [i for i, t in listed.items() if t == "+31612345678"]
    _, page = await alice.post(f"{PAGE}/blocks/{number_block}/remove")
    assert "Block removed." in flashes(page)
    assert number_block not in blocks(page)
    assert await AuditEntry.filter(action="block.remove").exists()

    before = await snapshot()
    # The tenant's own block and another user's are not this page's to remove.
    for block_id in (tenant_wide["id"], other_user["id"], 99999):
        _, page = await alice.post(f"{PAGE}/blocks/{block_id}/remove")
        assert any(f"block '{block_id}' not found" in f for f in flashes(page))
    for form, error_id, message in (
        ({"match": "number", "pattern": ""}, "e-pattern", "block exactly one of"),
        ({"match": "prefix", "pattern": "09x"}, "e-pattern", "prefix"),
        ({"match": "anonymous", "when": "office:closed"}, "e-pattern", "is already blocked so"),
        (
            {"match": "number", "pattern": "0612345678", "when": "nosuch:open"},
            "e-when",
            "not found",
        ),
        ({"match": "number", "pattern": "0612345678", "when": "office:late"}, "e-when", "STATE"),
        ({"match": "everyone"}, "e-match", "is not anonymous, number or prefix"),
    ):
        _, page = await alice.post(PAGE + "/blocks", form)
        assert message in field_error(page, error_id), (form, field_error(page, error_id))
        assert any(f.startswith("The block was not added") for f in flashes(page))
    assert await snapshot() == before


async def test_a_tenant_admin_reaches_their_own_users_only(
    tara: Console, platform: Platform
) -> None:
    theirs = await blocking.add_block(platform, TEST_ACTOR, "globex", user="301", anonymous=True)
    before = await snapshot()
    for path, form in (
        (
            "/console/users/globex/301/forwarding",
            {**UNSET, "always_kind": "external", "always_key": "0612345678"},
        ),
        ("/console/users/globex/301/dnd", {"dnd": "on"}),
        ("/console/users/globex/301/blocks", {"match": "anonymous"}),
        (f"/console/users/globex/301/blocks/{theirs['id']}/remove", {}),
    ):
        other_status, other = await tara.post(path, form)
        missing_status, missing = await tara.post(path.replace("globex", "nosuch"), form)
        assert other_status == missing_status == 404, path
        assert other.replace("globex", "T") == missing.replace("nosuch", "T")
    # Nor is another tenant's block removed from one of their own users' pages.
    _, page = await tara.post(f"{PAGE}/blocks/{theirs['id']}/remove")
    assert any("not found" in f for f in flashes(page))
    # Another tenant's user is no destination.
    _, page = await tara.post(
        PAGE + "/forwarding", {**UNSET, "always_kind": "user", "always_key": "301"}
    )
    assert "user '301 in tenant acme' not found" in field_error(page, "fw-always-input-error")
    assert await snapshot() == before

    _, page = await tara.post(PAGE + "/dnd", {"dnd": "on"})
    assert "Do-not-disturb is on." in flashes(page)
    entry = await AuditEntry.filter(action="user.dnd").order_by("-id").first()
    assert entry is not None and entry.actor == "web:tara" and entry.object_key == "acme/201"
