"""The console's schedules page: a tenant's schedules with rules, holidays, the state now
and its next change, and the night switch set with one click (optionally until a
time); schedules added, edited and removed with rules and holidays one per line, a
refusal shown on the line it names; number plans added, edited and removed. Every
change is audited, refusals write nothing, and a tenant admin works in their own
tenant only."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import quote

from provd.db.models import AuditEntry, Schedule, ScheduledRoute
from provd.services import groups, numbers, schedules
from provd.services.platform import Platform
from provd.services.schedules import routes
from tests.conftest import TEST_ACTOR
from tests.web.console.conftest import Console
from tests.web.console.test_numbers import field_error, flashes

RULES = "mon-fri 08:00-17:00\n\n  sat 10:00-12:00  \n"
HOLIDAYS = "Christmas=2026-12-25..2026-12-26\n2027-01-01"


def text(fragment: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def cards(page: str, kind: str) -> dict[str, str]:
    """Each schedule's or plan's card by name."""
    found = re.findall(
        rf'<section class="card {kind}" data-{kind}="([^"]+)"(.*?)</section>', page, re.S
    )
    return {html_lib.unescape(name): body for name, body in found}


def fact(card: str, name: str) -> str:
    match = re.search(rf'<dd class="{name}">(.*?)</dd>', card, re.S)
    assert match, name
    return text(match.group(1))


async def snapshot() -> list[object]:
    out: list[object] = [await AuditEntry.all().count()]
    for model in (Schedule, ScheduledRoute):
        out.append(await model.all().order_by("id").values())
    return out


async def _office(platform: Platform, tenant: str = "acme", name: str = "office") -> None:
    await schedules.add_schedule(
        platform, TEST_ACTOR, tenant, name, ["mon-fri 08:00-17:00"], ["2026-12-25"]
    )


async def test_the_page_lists_schedules_with_their_state_and_next_change(
    alice: Console, platform: Platform
) -> None:
    await _office(platform)
    await schedules.add_schedule(platform, TEST_ACTOR, "acme", "Always open", ["mon-sun all day"])
    await schedules.add_schedule(platform, TEST_ACTOR, "acme", "Never")
    await schedules.set_night_switch(
        platform, TEST_ACTOR, "acme", "Never", "off", until="2099-01-01 00:00"
    )
    await _office(platform, "globex", "globex hours")
    status, page = await alice.get("/console/schedules?tenant=acme")
    assert status == 200
    listed = cards(page, "schedule")
    assert list(listed) == ["Always open", "Never", "office"]
    office = listed["office"]
    assert fact(office, "rules") == "mon-fri 08:00-17:00"
    assert fact(office, "holidays") == "2026-12-25"
    assert fact(office, "switch") == "auto"
    # The state now, whatever the clock says, and when it next changes.
    assert re.fullmatch(
        r"(open opening hours|closed outside opening hours|holiday a holiday), until "
        r"\w{3} \d{4}-\d\d-\d\d \d\d:\d\d",
        fact(office, "now"),
    ), fact(office, "now")
    assert fact(listed["Always open"], "now") == "open opening hours, with no change ahead"
    never = listed["Never"]
    assert fact(never, "rules") == "none: always closed"
    assert fact(never, "switch") == "off until Thu 2099-01-01 00:00"
    assert fact(never, "now") == "open by the night switch, until Thu 2099-01-01 00:00"
    assert 'value="off" aria-pressed="true" class="primary">off<' in never
    # A name with a space or a slash is one path segment.
    assert f'action="/console/schedules/acme/{quote("Always open", safe="")}/night-switch"' in page
    assert "globex hours" not in page
    _, globex = await alice.get("/console/schedules?tenant=globex")
    assert list(cards(globex, "schedule")) == ["globex hours"]


async def test_add_edit_and_remove_a_schedule_through_the_forms(alice: Console) -> None:
    status, page = await alice.post(
        "/console/schedules/acme", {"name": "office", "rules": RULES, "holidays": HOLIDAYS}
    )
    assert status == 200 and "Schedule office added." in flashes(page)
    row = await Schedule.get(name="office", tenant__slug="acme")
    assert row.rules == ["mon-fri 08:00-17:00", "sat 10:00-12:00"]
    assert row.holidays == ["Christmas=2026-12-25..2026-12-26", "2027-01-01"]
    entry = await AuditEntry.filter(action="schedule.add").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice" and entry.object_key == "acme/office"
    # The edit form holds the rules one per line, as they are typed.
    assert ">mon-fri 08:00-17:00\nsat 10:00-12:00</textarea>" in cards(page, "schedule")["office"]

    _, page = await alice.post(
        "/console/schedules/acme/office",
        {"name": "Office hours/NL", "rules": "mon-fri 09:00-17:00", "holidays": ""},
    )
    assert "Schedule Office hours/NL saved." in flashes(page)
    row = await Schedule.get(tenant__slug="acme")
    assert (row.name, row.rules, row.holidays) == ("Office hours/NL", ["mon-fri 09:00-17:00"], [])

    audited = await AuditEntry.all().count()
    path = "/console/schedules/acme/" + quote("Office hours/NL", safe="")
    _, page = await alice.post(path, {"name": "Office hours/NL", "rules": "mon-fri 09:00-17:00"})
    assert "Nothing changed." in flashes(page)
    assert await AuditEntry.all().count() == audited

    _, page = await alice.post(path + "/remove")
    assert "Schedule Office hours/NL removed." in flashes(page)
    assert not await Schedule.exists()
    assert await AuditEntry.filter(action="schedule.remove").exists()


async def test_schedule_refusals_name_the_line_and_write_nothing(
    alice: Console, platform: Platform
) -> None:
    await _office(platform)
    before = await snapshot()
    for form, error_id, message in (
        (
            {"name": "b", "rules": "mon-fri 08:00-17:00\n\nfri 16:00-18:00"},
            "e-as-rules",
            "line 3: overlaps rules[0] on Friday",
        ),
        ({"name": "b", "rules": "mon-fri 17:00-08:00"}, "e-as-rules", "line 1:"),
        (
            {"name": "b", "rules": "weekdays 9 to 5"},
            "e-as-rules",
            "line 1: 'weekdays 9 to 5' is not",
        ),
        (
            {"name": "b", "holidays": "2026-12-25\nX=2026-12-26..2026-12-24"},
            "e-as-holidays",
            "line 2: ends (2026-12-24) before it starts (2026-12-26)",
        ),
        ({"name": "office"}, "e-as-name", "already exists"),
        ({"name": ""}, "e-as-name", "give a name"),
    ):
        status, page = await alice.post("/console/schedules/acme", form)
        assert status == 200
        assert message in field_error(page, error_id), (form, field_error(page, error_id))
        assert any(f.startswith("The schedule was not added") for f in flashes(page))
    _, page = await alice.post("/console/schedules/acme/office", {"rules": "sun 10:00-09:00"})
    assert "line 1:" in field_error(page, "e-s1-rules")
    assert '<details class="edit" open>' in page
    # The refused text stays in the box, as typed.
    assert ">sun 10:00-09:00</textarea>" in page
    assert await snapshot() == before


async def test_the_night_switch_is_set_with_one_click(alice: Console, platform: Platform) -> None:
    await _office(platform)
    _, page = await alice.post("/console/schedules/acme/office/night-switch", {"state": "on"})
    assert "Night switch of office set." in flashes(page)
    office = cards(page, "schedule")["office"]
    assert fact(office, "switch") == "on"
    assert fact(office, "now") == "closed by the night switch, with no change ahead"
    entry = await AuditEntry.filter(action="schedule.night_switch").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice"

    # datetime-local sends 2099-01-01T08:00, on the tenant's clock.
    _, page = await alice.post(
        "/console/schedules/acme/office/night-switch",
        {"state": "off", "until": "2099-01-01T08:00"},
    )
    assert fact(cards(page, "schedule")["office"], "switch") == "off until Thu 2099-01-01 08:00"

    before = await snapshot()
    for form, error_id, message in (
        ({"state": "on", "until": "2001-01-01T08:00"}, "e-s1-until", "must lie in the future"),
        ({"state": "auto", "until": "2099-01-01T08:00"}, "e-s1-until", "auto has no end"),
        ({"state": "on", "until": "tomorrow"}, "e-s1-until", "is not a time"),
        ({"state": "dim"}, "e-s1-state", "is not a night switch setting"),
    ):
        _, page = await alice.post("/console/schedules/acme/office/night-switch", form)
        assert message in field_error(page, error_id), form
    assert await snapshot() == before

    _, page = await alice.post("/console/schedules/acme/office/night-switch", {"state": "auto"})
    assert fact(cards(page, "schedule")["office"], "switch") == "auto"


async def test_number_plans_are_added_edited_and_removed(
    alice: Console, platform: Platform
) -> None:
    await _office(platform)
    await groups.add_group(platform, TEST_ACTOR, "acme", "600", "Reception", "fixed")
    form = {
        "name": "main",
        "schedule": "office",
        "open_kind": "group",
        "open_key": "600",
        "closed_kind": "external",
        "closed_key": "0612345678",
        "holiday_kind": "none",
        "holiday_key": "",
    }
    _, page = await alice.post("/console/routes/acme", form)
    assert "Number plan main added." in flashes(page)
    plan = cards(page, "plan")["main"]
    assert fact(plan, "schedule") == "office"
    assert fact(plan, "open") == "group 600 (Reception)"
    assert fact(plan, "closed") == "external +31612345678"
    assert fact(plan, "holiday") == "as when closed"
    entry = await AuditEntry.filter(action="route.add").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice" and entry.object_key == "acme/main"

    _, page = await alice.post(
        "/console/routes/acme/main",
        {**form, "holiday_kind": "user", "holiday_key": "201", "closed_key": "+31612345678"},
    )
    assert "Number plan main saved." in flashes(page)
    plan = cards(page, "plan")["main"]
    assert fact(plan, "holiday") == "user 201 (Front Desk)"
    # Only what changed was given: the closed number, typed in another notation, was not.
    entry = await AuditEntry.filter(action="route.set").order_by("-id").first()
    assert entry is not None and entry.before is not None and entry.after is not None
    assert entry.before["closed"] == entry.after["closed"]

    await numbers.assign(platform, TEST_ACTOR, "+31201234500", tenant_slug="acme", route="main")
    _, page = await alice.get("/console/schedules?tenant=acme")
    assert fact(cards(page, "plan")["main"], "numbers") == "+31201234500"
    before = await snapshot()
    _, page = await alice.post("/console/routes/acme/main/remove")
    assert any("is in use by number +31201234500" in f for f in flashes(page))
    # Nor is a schedule a plan follows removed.
    _, page = await alice.post("/console/schedules/acme/office/remove")
    assert any("is in use by route main" in f for f in flashes(page))
    assert await snapshot() == before

    await numbers.release(platform, TEST_ACTOR, "+31201234500", "acme")
    _, page = await alice.post("/console/routes/acme/main/remove")
    assert "Number plan main removed." in flashes(page)
    assert not await ScheduledRoute.exists()


async def test_number_plan_refusals_name_the_field(alice: Console, platform: Platform) -> None:
    await _office(platform)
    await routes.add_route(platform, TEST_ACTOR, "acme", "main", "office", "user:201", "none")
    before = await snapshot()
    good = {"name": "night", "schedule": "office", "open_kind": "user", "open_key": "201"}
    for change, error_id, message in (
        ({"name": "main"}, "e-ap-name", "already exists"),
        ({"schedule": "nosuch"}, "e-ap-schedule", "schedule 'nosuch in tenant acme' not found"),
        ({"open_key": "301"}, "ap-open-error", "user '301 in tenant acme' not found"),
        ({"closed_kind": "external", "closed_key": "12"}, "ap-closed-error", "not"),
        ({"holiday_kind": "scheduled", "holiday_key": "nosuch"}, "ap-holiday-error", "not found"),
    ):
        _, page = await alice.post("/console/routes/acme", {**good, **change})
        assert message in field_error(page, error_id), (change, field_error(page, error_id))
        assert any(f.startswith("The number plan was not added") for f in flashes(page))
    _, page = await alice.post(
        "/console/routes/acme/main", {"open_kind": "scheduled", "open_key": "main"}
    )
    assert "a loop" in field_error(page, "p1-open-error")
    assert await snapshot() == before


async def test_a_tenant_admin_works_in_their_own_tenant_only(
    tara: Console, platform: Platform
) -> None:
    await _office(platform)
    await _office(platform, "globex", "office")
    await routes.add_route(platform, TEST_ACTOR, "globex", "main", "office", "user:301", "none")
    status, page = await tara.get("/console/schedules?tenant=globex")
    assert status == 200 and list(cards(page, "schedule")) == ["office"]
    assert "globex" not in page and 'id="f-tenant"' not in page and "user 301" not in page
    before = await snapshot()
    for path, form in (
        ("/console/schedules/globex", {"name": "x"}),
        ("/console/schedules/globex/office", {"rules": "mon 09:00-10:00"}),
        ("/console/schedules/globex/office/remove", {}),
        ("/console/schedules/globex/office/night-switch", {"state": "on"}),
        ("/console/routes/globex", {"name": "x", "schedule": "office"}),
        ("/console/routes/globex/main", {"open_kind": "none"}),
        ("/console/routes/globex/main/remove", {}),
    ):
        other_status, other = await tara.post(path, form)
        missing_status, missing = await tara.post(path.replace("globex", "nosuch"), form)
        assert other_status == missing_status == 404, path
        assert other.replace("globex", "T") == missing.replace("nosuch", "T")
    # Another tenant's user is no destination of theirs.
    _, page = await tara.post(
        "/console/routes/acme",
        {"name": "x", "schedule": "office", "open_kind": "user", "open_key": "301"},
    )
    assert "not found" in field_error(page, "ap-open-error")
    assert await snapshot() == before

    _, page = await tara.post("/console/schedules/acme/office/night-switch", {"state": "on"})
    assert "Night switch of office set." in flashes(page)
    entry = await AuditEntry.filter(action="schedule.night_switch").order_by("-id").first()
    assert entry is not None and entry.actor == "web:tara" and entry.object_key == "acme/office"
    globex = await Schedule.get(tenant__slug="globex")
    assert globex.override_state is None
