"""Schedules: rules and holidays checked as a whole and stored formatted, the state and
next change in the tenant's zone, the night switch, and removal refused while in use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from provd.db.models import AuditEntry, Schedule
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.services import blocking, schedules
from provd.services.directory import tenants
from provd.services.platform import Platform
from provd.services.schedules import routes
from tests.conftest import TEST_ACTOR as A
from tests.services.call_handling_state import written

# A Monday, 10:30 in Amsterdam (UTC+1 in March before the change).
MONDAY_MORNING = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
WEEK = ["Mon-Fri 08:00-17:00", "sat 10:00 - 12:00"]


async def test_a_schedule_is_stored_formatted_with_its_state(platform: Platform) -> None:
    view = await schedules.add_schedule(
        platform, A, "default", "Office", WEEK, ["Christmas=2026-12-25..2026-12-26"]
    )
    assert view["rules"] == ["mon-fri 08:00-17:00", "sat 10:00-12:00"]
    assert view["holidays"] == ["Christmas=2026-12-25..2026-12-26"]
    assert (await Schedule.get(name="Office")).rules == view["rules"]
    shown = await schedules.show_schedule("default", "Office", now=MONDAY_MORNING)
    assert shown == {
        "tenant": "default",
        "name": "Office",
        "timezone": "Europe/Amsterdam",
        "rules": ["mon-fri 08:00-17:00", "sat 10:00-12:00"],
        "holidays": ["Christmas=2026-12-25..2026-12-26"],
        "night_switch": "auto",
        "until": None,
        "state": "open",
        "cause": "rule",
        "next_change": "2026-03-02T16:00:00+00:00",  # 17:00 in Amsterdam
    }
    row = await AuditEntry.filter(action="schedule.add").get()
    assert (row.object_type, row.object_key) == ("schedule", "default/Office")
    assert (row.after or {})["rules"] == view["rules"]


async def test_the_tenants_time_zone_decides(platform: Platform) -> None:
    await tenants.update_tenant(platform, A, "default", timezone="Europe/London")
    await schedules.add_schedule(platform, A, "default", "Office", WEEK)
    shown = await schedules.show_schedule("default", "Office", now=MONDAY_MORNING)
    assert (shown["timezone"], shown["next_change"]) == (
        "Europe/London",
        "2026-03-02T17:00:00+00:00",
    )


@pytest.mark.parametrize(
    ("rules", "holidays", "field"),
    [
        (["mon-fri 17:00-08:00"], [], "rules[0]"),  # inverted
        (["mon-fri 08:00-17:00", "fri 16:00-18:00"], [], "rules[1]"),  # overlapping
        (["someday 08:00-17:00"], [], "rules[0]"),
        (["mon 08:00-25:00"], [], "rules[0]"),
        ([], ["2026-12-27..2026-12-25"], "holidays[0]"),  # ends before it starts
        ([], ["2026-12-25", "25 December"], "holidays[1]"),
        ("mon-fri 08:00-17:00", [], "rules"),  # a text is not a list
    ],
)
async def test_bad_rules_and_holidays_name_their_index_and_write_nothing(
    platform: Platform, rules: Any, holidays: list[str], field: str
) -> None:
    before = await written()
    with pytest.raises(InvalidInput) as refused:
        await schedules.add_schedule(platform, A, "default", "Office", rules, holidays)
    assert refused.value.field == field
    assert await written() == before


async def test_names_are_unique_per_tenant(platform: Platform) -> None:
    await schedules.add_schedule(platform, A, "default", "Office", WEEK)
    before = await written()
    with pytest.raises(Conflict) as again:
        await schedules.add_schedule(platform, A, "default", "Office", [])
    assert again.value.field == "name"
    for bad in ("", " Office", "x" * 65, "Office\n"):
        with pytest.raises(InvalidInput) as refused:
            await schedules.add_schedule(platform, A, "default", bad, [])
        assert refused.value.field == "name"
    assert await written() == before
    await tenants.add_tenant(platform, A, "acme")
    await schedules.add_schedule(platform, A, "acme", "Office", [])
    assert [s["tenant"] for s in await schedules.list_schedules("default")] == ["default"]
    with pytest.raises(NotFound):
        await schedules.show_schedule("default", "x" * 300)


async def test_update_replaces_rules_or_holidays_and_may_rename(platform: Platform) -> None:
    await schedules.add_schedule(platform, A, "default", "Office", WEEK, ["2026-12-25"])
    await schedules.add_schedule(platform, A, "default", "Shop", [])
    before = await written()
    with pytest.raises(InvalidInput) as overlap:
        await schedules.update_schedule(
            platform, A, "default", "Office", rule_texts=["mon 08:00-12:00", "mon 11:00-13:00"]
        )
    assert overlap.value.field == "rules[1]"
    with pytest.raises(Conflict) as taken:
        await schedules.update_schedule(platform, A, "default", "Office", new_name="Shop")
    assert taken.value.field == "name"
    with pytest.raises(InvalidInput) as nothing:
        await schedules.update_schedule(platform, A, "default", "Office")
    assert nothing.value.field == "settings"
    assert await written() == before

    view = await schedules.update_schedule(
        platform, A, "default", "Office", new_name="Front office", holiday_texts=[]
    )
    assert (view["name"], view["rules"], view["holidays"]) == (
        "Front office",
        ["mon-fri 08:00-17:00", "sat 10:00-12:00"],
        [],
    )
    row = await AuditEntry.filter(action="schedule.set").get()
    assert (row.before or {})["holidays"] == ["2026-12-25"] and (row.after or {})["holidays"] == []


async def test_the_night_switch_overrides_until_its_end(platform: Platform) -> None:
    await schedules.add_schedule(platform, A, "default", "Office", WEEK)
    on = await schedules.set_night_switch(
        platform, A, "default", "Office", "on", until="2026-03-02 13:00", now=MONDAY_MORNING
    )
    assert (on["night_switch"], on["state"], on["cause"]) == ("on", "closed", "override")
    assert on["until"] == on["next_change"] == "2026-03-02T12:00:00+00:00"
    stored = await Schedule.get(name="Office")
    assert stored.override_state == "closed"
    # After its end it acts no more, and reads as auto.
    later = await schedules.show_schedule(
        "default", "Office", now=datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    )
    assert (later["night_switch"], later["until"], later["state"]) == ("auto", None, "open")

    off = await schedules.set_night_switch(platform, A, "default", "Office", "OFF")
    assert (off["night_switch"], off["until"], off["state"]) == ("off", None, "open")
    auto = await schedules.set_night_switch(platform, A, "default", "Office", "auto")
    assert auto["night_switch"] == "auto" and auto["cause"] != "override"
    assert (await Schedule.get(name="Office")).override_state is None
    rows = await AuditEntry.filter(action="schedule.night_switch").order_by("id")
    assert [(r.after or {})["night_switch"] for r in rows] == ["on", "off", "auto"]


@pytest.mark.parametrize(
    ("setting", "until", "field"),
    [
        ("maybe", None, "state"),
        ("on", "2026-03-02 10:00", "until"),  # already past at 10:30
        ("on", "tomorrow", "until"),
        ("auto", "2026-03-03 08:00", "until"),
    ],
)
async def test_night_switch_refusals_write_nothing(
    platform: Platform, setting: str, until: str | None, field: str
) -> None:
    await schedules.add_schedule(platform, A, "default", "Office", WEEK)
    before = await written()
    with pytest.raises(InvalidInput) as refused:
        await schedules.set_night_switch(
            platform, A, "default", "Office", setting, until=until, now=MONDAY_MORNING
        )
    assert refused.value.field == field
    assert await written() == before


async def test_a_schedule_in_use_is_not_removed(platform: Platform) -> None:
    await schedules.add_schedule(platform, A, "default", "Office", WEEK)
    await routes.add_route(platform, A, "default", "Main", "Office", "none", "none")
    block = await blocking.add_block(platform, A, "default", anonymous=True, when="Office:closed")
    before = await written()
    with pytest.raises(InvalidInput) as refused:
        await schedules.remove_schedule(platform, A, "default", "Office")
    assert refused.value.field == "name"
    assert "route Main" in refused.value.message
    assert f"incoming block {block['id']}" in refused.value.message
    assert await written() == before
    await routes.remove_route(platform, A, "default", "Main")
    await blocking.remove_block(platform, A, block["id"])
    await schedules.remove_schedule(platform, A, "default", "Office")
    assert not await Schedule.exists()
    row = await AuditEntry.filter(action="schedule.remove").get()
    assert (row.before or {})["name"] == "Office"
