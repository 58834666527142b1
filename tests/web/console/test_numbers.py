"""The console's numbers page: the report by block, a number found in any notation,
assign and release with refusals by field, blocks added and removed by platform
admins; a tenant admin sees and assigns their own tenant's numbers only, and another
tenant's number, even posted by hand, answers as a missing one with nothing written."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import quote

import pytest

from provd.db.models import AuditEntry, PhoneNumber, Tenant
from provd.services import groups, schedules
from provd.services.directory import tenants
from provd.services.platform import Platform
from provd.services.schedules import routes
from tests.conftest import TEST_ACTOR
from tests.web.console.conftest import ACME_BLOCK, GLOBEX_BLOCK, Console, snapshot

_ROW = re.compile(
    r'<tr data-number="(\+\d+)">\s*<td class="mono">[^<]*</td>\s*'
    r'<td class="mono">(\d+)</td>\s*<td class="use">(.*?)</td>',
    re.S,
)


def report(page: str) -> dict[str, str]:
    """Each number listed with its use, as text."""
    return {
        e164: " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", use)).split())
        for e164, _national, use in _ROW.findall(page)
    }


def flashes(page: str) -> list[str]:
    return [
        html_lib.unescape(t) for t in re.findall(r'<p class="flash [^"]+"[^>]*>(.*?)</p>', page)
    ]


def field_error(page: str, field_id: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field_id}">(.*?)</p>', page, re.S)
    assert match, field_id
    return html_lib.unescape(match.group(1))


async def assigned_to(e164: str) -> str | None:
    row = await PhoneNumber.get(e164=e164).prefetch_related("assigned_user")
    return row.assigned_user.extension if row.assigned_user else None


async def test_the_report_groups_every_number_by_block_with_its_use(alice: Console) -> None:
    status, _ = await alice.post(f"/console/numbers/{ACME_BLOCK[:-1]}3/assign", {"user": "201"})
    assert status == 200
    status, page = await alice.get("/console/numbers")
    assert status == 200
    listed = report(page)
    assert len(listed) == 20
    assert listed["+31201234503"] == "in use by user 201 (Front Desk)"
    assert listed["+31201234504"] == "unused"
    assert list(listed) == sorted(listed)
    # One section per block, its numbers inside it.
    sections = re.findall(
        r'<section class="card"[^>]*data-block="([^"]+)"(.*?)</section>', page, re.S
    )
    assert [first for first, _ in sections] == [ACME_BLOCK, GLOBEX_BLOCK]
    assert set(report(sections[0][1])) == {f"+3120123450{i}" for i in range(10)}
    assert "block of 10, tenant acme, 9 unused" in sections[0][1]
    assert '<a href="/console/users/acme/201">201</a>' in page
    assert ">0201234503<" in page

    _, only_unused = await alice.get("/console/numbers?unused=1")
    assert "+31201234503" not in report(only_unused) and len(report(only_unused)) == 19
    _, globex = await alice.get("/console/numbers?tenant=globex")
    assert set(report(globex)) == {f"+3120123451{i}" for i in range(10)}
    _, unknown = await alice.get("/console/numbers?tenant=nosuch")
    assert "tenant &#39;nosuch&#39; not found" in unknown


@pytest.mark.parametrize(
    "typed", ["020 123 4507", "0031201234507", "+31 20 1234507", "(020) 123-45-07", "+31201234507"]
)
async def test_search_finds_a_number_typed_in_any_notation(alice: Console, typed: str) -> None:
    status, page = await alice.get(f"/console/numbers?q={typed.replace('+', '%2B')}")
    assert status == 200
    assert report(page) == {"+31201234507": "unused"}


async def test_search_refusal_names_the_field_and_a_miss_says_so(alice: Console) -> None:
    _, page = await alice.get("/console/numbers?q=call+me")
    assert "not a telephone number" in field_error(page, "e-q")
    assert report(page) == {}
    _, page = await alice.get("/console/numbers?q=0201239999")
    assert report(page) == {} and "No number of yours matches 0201239999" in page


async def test_assign_and_release_through_the_forms_are_audited(alice: Console) -> None:
    status, page = await alice.post("/console/numbers/+31201234505/assign", {"user": "202"})
    assert status == 200 and "Number +31201234505 assigned." in flashes(page)
    assert report(page)["+31201234505"] == "in use by user 202 (Back Office)"
    assert await assigned_to("+31201234505") == "202"
    entry = await AuditEntry.filter(action="number.assign").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice" and entry.object_key == "+31201234505"

    status, page = await alice.post("/console/numbers/+31201234505/release")
    assert "Number +31201234505 released: it is unused now." in flashes(page)
    assert await assigned_to("+31201234505") is None
    entry = await AuditEntry.filter(action="number.release").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice"


async def test_refused_assignments_name_the_field_and_write_nothing(alice: Console) -> None:
    await alice.post("/console/numbers/+31201234501/assign", {"user": "201"})
    before = await snapshot()
    # A user of another tenant is not a user of the number's tenant.
    status, page = await alice.post("/console/numbers/+31201234502/assign", {"user": "301"})
    assert status == 200
    assert "user '301 in tenant acme' not found" in field_error(page, "e-user-31201234502")
    assert any("+31201234502 was not assigned" in f for f in flashes(page))
    status, page = await alice.post("/console/numbers/+31201234502/assign", {"user": ""})
    assert field_error(page, "e-user-31201234502") != ""
    # A number in use is released first.
    status, page = await alice.post("/console/numbers/+31201234501/assign", {"user": "202"})
    assert any("release it first" in f for f in flashes(page))
    status, page = await alice.post("/console/numbers/+31201234502/release")
    assert any("is not in use" in f for f in flashes(page))
    assert await snapshot() == before


async def test_a_form_without_the_csrf_token_is_refused(alice: Console) -> None:
    before = await snapshot()
    async with alice.session.post(
        "/console/numbers/+31201234502/assign", data={"user": "201"}
    ) as r:
        assert r.status == 403
    assert await snapshot() == before


async def test_a_tenant_admin_sees_and_finds_only_their_numbers(tara: Console) -> None:
    status, page = await tara.get("/console/numbers")
    assert status == 200
    assert set(report(page)) == {f"+3120123450{i}" for i in range(10)}
    assert "globex" not in page and 'id="f-tenant"' not in page
    # The users offered for a number are their own tenant's.
    assert '<datalist id="users-acme"><option value="201">Front Desk</option>' in page
    assert "Globex Reception" not in page
    # Blocks are the platform's: no form to add or remove one.
    assert 'id="add-block"' not in page and "/remove" not in page
    _, page = await tara.get("/console/numbers?tenant=globex")
    assert set(report(page)) == {f"+3120123450{i}" for i in range(10)}
    _, page = await tara.get("/console/numbers?q=020+123+4513")
    assert report(page) == {} and "No number of yours matches" in page


async def test_a_tenant_admin_cannot_touch_another_tenants_number(tara: Console) -> None:
    before = await snapshot()
    for action in ("assign", "release"):
        other_status, other = await tara.post(
            f"/console/numbers/+31201234513/{action}", {"user": "201"}
        )
        missing_status, missing = await tara.post(
            f"/console/numbers/+31201239913/{action}", {"user": "201"}
        )
        # Another tenant's number answers exactly as one nobody owns.
        assert other_status == missing_status == 404
        assert other.replace("+31201234513", "N") == missing.replace("+31201239913", "N")
    # Nor can a user of theirs be handed globex's number by naming it in another notation.
    status, _ = await tara.post("/console/numbers/0201234513/assign", {"user": "201"})
    assert status == 404
    for path in ("/console/numbers/blocks", f"/console/numbers/blocks/{ACME_BLOCK}/remove"):
        status, page = await tara.post(path, {"tenant": "acme", "first": "+31201234600"})
        assert status == 403 and "tenant-admin role may not open this page" in page
    assert await snapshot() == before


async def test_a_tenant_admin_assigns_their_own_number(tara: Console) -> None:
    status, page = await tara.post("/console/numbers/+31201234509/assign", {"user": "202"})
    assert status == 200 and report(page)["+31201234509"] == "in use by user 202 (Back Office)"
    entry = await AuditEntry.filter(action="number.assign").order_by("-id").first()
    assert entry is not None and entry.actor == "web:tara"
    status, page = await tara.post("/console/numbers/+31201234509/release")
    assert report(page)["+31201234509"] == "unused"


async def test_admin_adds_a_block_in_any_notation_and_removes_it(alice: Console) -> None:
    status, page = await alice.post(
        "/console/numbers/blocks", {"tenant": "globex", "first": "020 123 4600", "count": "100"}
    )
    assert status == 200 and "Block from +31201234600 added." in flashes(page)
    assert (
        await PhoneNumber.filter(block_first="+31201234600", tenant__slug="globex").count() == 100
    )
    assert await AuditEntry.filter(action="number.add", object_key="+31201234600").exists()

    status, page = await alice.post("/console/numbers/blocks/+31201234600/remove")
    assert status == 200 and "Block from +31201234600 removed." in flashes(page)
    assert not await PhoneNumber.filter(block_first="+31201234600").exists()
    assert await AuditEntry.filter(action="number.remove", object_key="+31201234600").exists()


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"tenant": "acme", "first": "+31201234605", "count": "10"}, "first", "ending in 0"),
        ({"tenant": "acme", "first": "+31201234600", "count": "50"}, "count", "block size"),
        ({"tenant": "acme", "first": "call me", "count": "1"}, "first", "not a telephone"),
        ({"tenant": "acme", "first": "", "count": "1"}, "first", "is empty"),
        ({"tenant": "acme", "first": "+31201234515", "count": "1"}, "first", "overlaps"),
        ({"tenant": "nosuch", "first": "+31201234600", "count": "1"}, "tenant", "not found"),
    ],
)
async def test_a_refused_block_names_the_field_and_writes_nothing(
    alice: Console, form: dict[str, str], field: str, message: str
) -> None:
    before = await snapshot()
    status, page = await alice.post("/console/numbers/blocks", form)
    assert status == 200
    assert message in field_error(page, f"e-{field}")
    assert any(f.startswith("The block was not added") for f in flashes(page))
    # What was typed stays in the form.
    assert f'value="{html_lib.escape(form["first"])}"' in page
    assert await snapshot() == before


async def test_a_block_in_use_is_kept(alice: Console) -> None:
    await alice.post("/console/numbers/+31201234501/assign", {"user": "201"})
    before = await snapshot()
    status, page = await alice.post(f"/console/numbers/blocks/{ACME_BLOCK}/remove")
    assert status == 200
    assert any("in use by user 201" in f and "was kept" in f for f in flashes(page))
    status, page = await alice.post("/console/numbers/blocks/+31209999900/remove")
    assert any("not found" in f for f in flashes(page))
    assert await snapshot() == before


async def test_what_people_type_is_escaped(alice: Console) -> None:
    _, page = await alice.get("/console/numbers?q=%3Cscript%3E")
    assert "<script>" not in page and "&lt;script&gt;" in page


async def test_numbers_are_read_and_shown_in_their_tenants_country(
    alice: Console, platform: Platform
) -> None:
    await tenants.add_tenant(platform, TEST_ACTOR, "brussels")
    await Tenant.filter(slug="brussels").update(country="BE")
    _, page = await alice.post(
        "/console/numbers/blocks", {"tenant": "brussels", "first": "02 511 45 00", "count": "10"}
    )
    assert "Block from +3225114500 added." in flashes(page), flashes(page)
    _, page = await alice.get("/console/numbers?tenant=brussels")
    assert ">025114503<" in page  # national, as dialled in Belgium
    for typed in ("02 511 45 03", "0032 2 511 45 03", "+32 2 511 45 03"):
        _, page = await alice.get(f"/console/numbers?tenant=brussels&q={quote(typed)}")
        assert report(page) == {"+3225114503": "unused"}, typed
        # Across all tenants, each tenant's country is tried.
        _, page = await alice.get(f"/console/numbers?q={quote(typed)}")
        assert report(page) == {"+3225114503": "unused"}, typed
    _, page = await alice.get(f"/console/numbers?q={quote('020 123 4503')}")
    assert report(page) == {"+31201234503": "unused"}


async def test_a_number_is_assigned_to_a_group_or_a_number_plan(
    tara: Console, platform: Platform
) -> None:
    await groups.add_group(platform, TEST_ACTOR, "acme", "600", "Reception", "fixed")
    await schedules.add_schedule(platform, TEST_ACTOR, "acme", "office", ["mon-fri 08:00-17:00"])
    await routes.add_route(platform, TEST_ACTOR, "acme", "main line", "office", "group:600", "none")
    await groups.add_group(platform, TEST_ACTOR, "globex", "700", "Globex Desk", "fixed")
    _, page = await tara.get("/console/numbers")
    # The groups and plans offered are the tenant's own.
    assert '<option value="group:600">group 600 Reception</option>' in page
    assert '<option value="route:main line">number plan main line</option>' in page
    assert "Globex Desk" not in page

    _, page = await tara.post("/console/numbers/+31201234500/assign", {"target": "route:main line"})
    assert report(page)["+31201234500"] == "in use by number plan main line"
    _, page = await tara.post(
        "/console/numbers/+31201234501/assign", {"user": "", "target": "group:600"}
    )
    assert report(page)["+31201234501"] == "in use by group 600 (Reception)"
    assert '<a href="/console/groups?tenant=acme#group-600">600</a>' in page
    row = await PhoneNumber.get(e164="+31201234501").prefetch_related("assigned_group")
    assert row.assigned_group is not None and row.assigned_group.extension == "600"
    entry = await AuditEntry.filter(action="number.assign").order_by("-id").first()
    assert entry is not None and entry.actor == "web:tara" and entry.after is not None
    assert entry.after["use"] == {"kind": "group", "key": "600", "name": "Reception"}

    before = await snapshot()
    for form, message in (
        ({"target": "group:700"}, "group '700 in tenant acme' not found"),
        ({"target": "route:nosuch"}, "route 'nosuch in tenant acme' not found"),
        (
            {"target": "user:201"},
            "'user' is not a group, a number plan, a menu, an announcement or a queue",
        ),
        ({"user": "201", "target": "group:600"}, "not both"),
    ):
        _, page = await tara.post("/console/numbers/+31201234502/assign", form)
        assert message in field_error(page, "e-user-31201234502"), form
    assert await snapshot() == before
