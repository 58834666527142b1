"""Scheduled routes: a destination per state of a schedule of the same tenant, numbers
assigned to them, and removal refused while a number or a destination points at one."""

from __future__ import annotations

import pytest

from provd.db.models import AuditEntry, ScheduledRoute
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.services import groups, numbers, schedules
from provd.services.directory import forwarding, tenants, users
from provd.services.numbers import NumberUse, UseKind
from provd.services.platform import Platform
from provd.services.schedules import routes
from tests.conftest import TEST_ACTOR as A
from tests.conftest import starting_from
from tests.services.call_handling_state import written


async def _office(platform: Platform) -> None:
    await users.add_user(platform, A, "default", "201", "Front Desk")
    await groups.add_group(platform, A, "default", "600", "Sales", "circular")
    await schedules.add_schedule(platform, A, "default", "Office", ["mon-fri 08:00-17:00"])
    await schedules.add_schedule(platform, A, "default", "Weekend", ["sat-sun all day"])


platform_start = starting_from(_office)


@pytest.fixture
def office(platform: Platform) -> Platform:
    return platform


async def test_a_route_names_a_destination_per_state(office: Platform) -> None:
    view = await routes.add_route(
        office, A, "default", "Main hours", "Office", "group:600", "external:0612345678"
    )
    assert view == {
        "tenant": "default",
        "name": "Main hours",
        "schedule": "Office",
        "open": {"kind": "group", "key": "600", "name": "Sales", "text": "group:600"},
        "closed": {
            "kind": "external",
            "key": "+31612345678",
            "name": "",
            "text": "external:+31612345678",
        },
        "holiday": None,
        "numbers": [],
    }
    row = await ScheduledRoute.get(name="Main hours")
    assert row.holiday_destination is None
    assert row.open_destination == {
        "kind": "group",
        "group_id": (await groups.get_group(await tenants.get_tenant("default"), "600")).id,
    }
    audit_row = await AuditEntry.filter(action="route.add").get()
    assert (audit_row.object_type, audit_row.object_key) == ("route", "default/Main hours")

    updated = await routes.update_route(
        office,
        A,
        "default",
        "Main hours",
        schedule="Weekend",
        holiday_destination="user:201",
        closed_destination="none",
    )
    assert (updated["schedule"], updated["closed"], updated["holiday"]["text"]) == (
        "Weekend",
        None,
        "user:201",
    )
    # none as the holiday destination: holidays follow closed again.
    back = await routes.update_route(office, A, "default", "Main hours", holiday_destination="none")
    assert back["holiday"] is None
    assert [r["name"] for r in await routes.list_routes("default")] == ["Main hours"]


async def test_a_route_is_a_destination_and_a_numbers_use(office: Platform) -> None:
    await routes.add_route(office, A, "default", "Main hours", "Office", "group:600", "none")
    await routes.add_route(
        office, A, "default", "Fallback", "Office", "scheduled:Main hours", "none"
    )
    await numbers.add_block(office, A, "+31201234500", 10, "default")
    number = await numbers.assign(office, A, "+31201234500", route="Main hours")
    assert number.use == NumberUse(UseKind.ROUTE, "Main hours")
    assert number.describe_use() == "in use by route Main hours"
    group_number = await numbers.assign(office, A, "0201234501", group="600")
    assert group_number.describe_use() == "in use by group 600 (Sales)"
    assert (await routes.show_route("default", "Main hours"))["numbers"] == ["+31201234500"]
    assert (await groups.show_group("default", "600"))["numbers"] == ["+31201234501"]
    await forwarding.set_forwarding(office, A, "default", "201", unreachable="scheduled:Main hours")

    before = await written()
    with pytest.raises(InvalidInput) as refused:
        await routes.remove_route(office, A, "default", "Main hours")
    assert refused.value.field == "name"
    for use in (
        "user 201's forwarding (unreachable)",
        "route Fallback (open)",
        "number +31201234500",
    ):
        assert use in refused.value.message
    with pytest.raises(InvalidInput, match="number \\+31201234501"):
        await groups.remove_group(office, A, "default", "600")
    with pytest.raises(InvalidInput, match="group 600") as block:
        await numbers.remove_block(office, A, "+31201234500")
    assert "route Main hours" in block.value.message
    assert await written() == before


@pytest.mark.parametrize(
    ("name", "schedule", "open_", "closed", "holiday", "field"),
    [
        ("Main hours", "Office", "none", "none", None, "name"),  # taken
        (" ", "Office", "none", "none", None, "name"),
        ("Night", "Nightly", "none", "none", None, "schedule"),
        ("Night", "Office", "user:299", "none", None, "open"),
        ("Night", "Office", "none", "external:112", None, "closed"),
        ("Night", "Office", "none", "none", "scheduled:Nowhere", "holiday"),
        ("Night", "Office", "none", "none", "holiday:yes", "holiday"),
    ],
)
async def test_refusals_name_the_field_and_write_nothing(
    office: Platform,
    name: str,
    schedule: str,
    open_: str,
    closed: str,
    holiday: str | None,
    field: str,
) -> None:
    await routes.add_route(office, A, "default", "Main hours", "Office", "none", "none")
    before = await written()
    with pytest.raises((InvalidInput, NotFound)) as refused:
        await routes.add_route(office, A, "default", name, schedule, open_, closed, holiday)
    assert getattr(refused.value, "field", None) == field
    assert await written() == before


async def test_update_refusals_write_nothing(office: Platform) -> None:
    await routes.add_route(office, A, "default", "Main hours", "Office", "none", "none")
    before = await written()
    for kwargs, field, error in (
        ({"open_destination": "scheduled:Main hours"}, "open", InvalidInput),  # itself
        ({"schedule": "Nightly"}, "schedule", NotFound),
        ({}, "settings", InvalidInput),
    ):
        with pytest.raises(error) as refused:
            await routes.update_route(office, A, "default", "Main hours", **kwargs)
        assert getattr(refused.value, "field", None) == field
    with pytest.raises(NotFound) as missing:
        await routes.update_route(office, A, "default", "Nothing", closed_destination="none")
    assert missing.value.field == "name"
    assert await written() == before


async def test_another_tenants_routes_and_schedules_are_invisible(office: Platform) -> None:
    await tenants.add_tenant(office, A, "acme")
    await schedules.add_schedule(office, A, "acme", "Acme hours", [])
    await routes.add_route(office, A, "acme", "Acme main", "Acme hours", "none", "none")
    before = await written()
    with pytest.raises(NotFound) as schedule:
        await routes.add_route(office, A, "default", "Main", "Acme hours", "none", "none")
    assert schedule.value.field == "schedule"
    with pytest.raises(NotFound) as route:
        await routes.add_route(
            office, A, "default", "Main", "Office", "scheduled:Acme main", "none"
        )
    assert route.value.field == "open"
    with pytest.raises(Conflict):
        await routes.add_route(office, A, "acme", "Acme main", "Acme hours", "none", "none")
    assert await written() == before
    assert [r["tenant"] for r in await routes.list_routes("default")] == []
    await numbers.add_block(office, A, "+31201234500", 1, "default")
    with pytest.raises(NotFound) as assign:
        await numbers.assign(office, A, "+31201234500", route="Acme main")
    assert assign.value.field == "route"
