"""The issue's "done when" in a real Chromium against a real ``provd serve``: a tenant's
main number configured entirely from the console to ring reception for 15 s, then the
sales group in circular order, after hours an outside number, a holiday overriding the
week. Users, a number block, a carrier, two groups with their members, a schedule with
a holiday, a number plan and the number's assignment are all made through the pages
(one refusal shown by its field on the way, the night switch flipped and set back);
then the CLI shows the data as configured and provd's own routing decision, loaded from
the server's database, agrees."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page

from provd.db.connection import database, db_url_for
from provd.domain.routing import AorTarget, CarrierTarget, Failure, Route
from provd.domain.routing_table import CallRequest
from provd.services.routing import load_table
from tests.browser.harness import Provd, screenshot, sign_in

MAIN = "+31201234500"
CARRIER = "192.0.2.1"
MONDAY_10H = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam
MONDAY_20H = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
CHRISTMAS_10H = datetime(2026, 12, 25, 9, 0, tzinfo=UTC)  # a Friday
NO_ANSWER = Failure(408, timeout=True)


def _go(page: Page, label: str, path: str) -> None:
    page.click(f"nav a[href='{path}']")
    page.wait_for_url(f"**{path}")
    assert page.locator("h1").inner_text().startswith(label)


def _submit(page: Page, form: str, url: str) -> None:
    page.click(f"{form} button[type=submit]")
    page.wait_for_url(url)


def _add_user(page: Page, extension: str, name: str) -> None:
    page.fill("#u-extension", extension)
    page.fill("#u-name", name)
    page.click("#add-user button[type=submit]")
    page.wait_for_load_state()
    assert f"User {extension} {name} added." in page.inner_text(".flash.ok")


def _destination(page: Page, id_prefix: str, kind: str, key: str) -> None:
    page.select_option(f"#{id_prefix}-kind", kind)
    page.fill(f"#{id_prefix}-key", key)


def _add_member(page: Page, group: str, user: str) -> None:
    card = page.locator(f"section[data-group='{group}']")
    card.locator("form.member-add select[name=user]").select_option(user)
    card.locator("form.member-add button[type=submit]").click()
    page.wait_for_url("**/console/groups?*member_added=*")


def _rings(plan: object) -> list[str]:
    assert isinstance(plan, Route), plan
    out = []
    for branch in plan.branches:
        if isinstance(branch.target, AorTarget):
            out.append(branch.target.extension)
        elif isinstance(branch.target, CarrierTarget):
            out.append(branch.target.uri.removeprefix("sip:").split("@")[0])
    return out


async def _resolve(host: str) -> list[str]:
    return [CARRIER]


async def _decisions(data_dir: Path) -> dict[str, list[str]]:
    """What provd's routing decides for a call from the carrier to the main number, read
    from the server's database as serve reads it."""
    async with database(db_url_for(data_dir)):
        table = await load_table(_resolve)

    def plan(at: datetime, *failed: Failure) -> list[str]:
        return _rings(table.plan(CallRequest("peer", CARRIER, MAIN, failed=failed), at))

    return {
        "monday 10:00": plan(MONDAY_10H),
        "monday 10:00, reception did not answer": plan(MONDAY_10H, NO_ANSWER),
        "monday 10:00, nor the first of sales": plan(MONDAY_10H, NO_ANSWER, NO_ANSWER),
        "monday 20:00": plan(MONDAY_20H),
        "christmas 10:00": plan(CHRISTMAS_10H),
    }


def test_the_main_number_configured_entirely_from_the_console(
    page: Page, provd_server: Provd
) -> None:
    sign_in(page, provd_server)
    page.goto(provd_server.base_url + "/console/")

    _go(page, "Users", "/console/users")
    for extension, name in (("201", "Reception"), ("202", "Sales A"), ("203", "Sales B")):
        _add_user(page, extension, name)

    _go(page, "Numbers", "/console/numbers")
    page.select_option("#b-tenant", "default")
    page.fill("#b-first", "020 123 4500")
    page.select_option("#b-count", "10")
    _submit(page, "#add-block", "**/console/numbers?added=*")

    _go(page, "Carriers", "/console/carriers")
    page.fill("#c-name", "upstream")
    page.fill("#c-host", f"{CARRIER}:5060")
    _submit(page, "#add-carrier", "**/console/carriers?added=*")

    # Sales first: reception's overflow names it.
    _go(page, "Groups", "/console/groups")
    page.fill("#a-extension", "610")
    page.fill("#a-name", "Sales")
    page.select_option("#a-policy", "circular")
    page.fill("#a-ring", "10")
    _submit(page, "#add-group", "**/console/groups?*added=610*")
    _add_member(page, "610", "202")
    _add_member(page, "610", "203")

    page.fill("#a-extension", "600")
    page.fill("#a-name", "Reception")
    page.select_option("#a-policy", "fixed")
    page.fill("#a-ring", "15")
    page.fill("#a-wait", "10")
    _destination(page, "a-overflow", "group", "610")
    page.click("#add-group button[type=submit]")
    page.wait_for_load_state()
    # Refused by its field, with what was typed kept and nothing written.
    assert "shorter than one member's ring time" in page.inner_text("#e-total_wait_seconds")
    assert page.input_value("#a-name") == "Reception"
    assert page.input_value("#a-overflow-key") == "610"
    assert page.locator("section[data-group='600']").count() == 0
    page.fill("#a-wait", "0")
    _submit(page, "#add-group", "**/console/groups?*added=600*")
    _add_member(page, "600", "201")
    reception = page.locator("section[data-group='600']")
    assert reception.locator("dd.overflow").inner_text() == "group 610 (Sales)"
    assert reception.locator("dd.ring").inner_text() == "15 s per member"
    sales = page.locator("section[data-group='610']")
    assert sales.locator("dd.policy").inner_text() == "circular"
    assert sales.locator("ol.members li").all_inner_texts() == [
        "user 202 Sales A remove",
        "user 203 Sales B remove",
    ]
    screenshot(page, "console-groups")

    _go(page, "Schedules", "/console/schedules")
    page.fill("#as-name", "office")
    page.fill("#as-rules", "mon-fri 08:00-17:00")
    page.fill("#as-holidays", "Christmas=2026-12-25..2026-12-26")
    _submit(page, "#add-schedule", "**/console/schedules?*added=office*")
    office = page.locator("section[data-schedule='office']")
    assert office.locator("dd.rules").inner_text() == "mon-fri 08:00-17:00"
    assert office.locator("dd.holidays").inner_text() == "Christmas=2026-12-25..2026-12-26"
    # One click closes it whatever the hour; one more hands it back to the schedule.
    office.locator("form.night-switch button[value=on]").click()
    page.wait_for_url("**/console/schedules?*switched=office*")
    office = page.locator("section[data-schedule='office']")
    assert office.locator("dd.now").inner_text().startswith("closed by the night switch")
    assert provd_server.cli("schedule", "show", "office")["night_switch"] == "on"
    office.locator("form.night-switch button[value=auto]").click()
    page.wait_for_url("**/console/schedules?*switched=office*")
    assert page.locator("section[data-schedule='office'] dd.switch").inner_text() == "auto"

    page.fill("#ap-name", "main")
    page.select_option("#ap-schedule", "office")
    _destination(page, "ap-open", "group", "600")
    _destination(page, "ap-closed", "external", "0612345678")
    _submit(page, "#add-plan", "**/console/schedules?*plan_added=main*")
    plan = page.locator("section[data-plan='main']")
    assert plan.locator("dd.open").inner_text() == "group 600 (Reception)"
    assert plan.locator("dd.closed").inner_text() == "external +31612345678"
    assert plan.locator("dd.holiday").inner_text() == "as when closed"
    screenshot(page, "console-schedules")

    _go(page, "Numbers", "/console/numbers")
    row = page.locator(f"tr[data-number='{MAIN}']")
    row.locator("select[name=target]").select_option("route:main")
    row.locator("button[type=submit]").click()
    page.wait_for_url("**/console/numbers?assigned=*")
    assert page.locator(f"tr[data-number='{MAIN}'] td.use").inner_text() == (
        "in use by number plan main"
    )

    # The data, as the CLI reads it.
    reception_view = provd_server.cli("group", "show", "600")
    assert (reception_view["policy"], reception_view["ring_seconds"]) == ("fixed", 15)
    assert reception_view["overflow"]["text"] == "group:610"
    assert [m["key"] for m in reception_view["members"]] == ["201"]
    sales_view = provd_server.cli("group", "show", "610")
    assert sales_view["policy"] == "circular"
    assert [m["key"] for m in sales_view["members"]] == ["202", "203"]
    schedule = provd_server.cli("schedule", "show", "office")
    assert schedule["rules"] == ["mon-fri 08:00-17:00"]
    assert schedule["holidays"] == ["Christmas=2026-12-25..2026-12-26"]
    assert schedule["night_switch"] == "auto"
    route = provd_server.cli("route", "show", "main")
    assert route["schedule"] == "office" and route["numbers"] == [MAIN]
    assert (route["open"]["text"], route["closed"]["text"]) == (
        "group:600",
        "external:+31612345678",
    )
    assert route["holiday"] is None

    # And provd's routing decision, as serve loads it from the same database.
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's loop
        decided = pool.submit(asyncio.run, _decisions(provd_server.data_dir)).result()
    assert decided == {
        "monday 10:00": ["201"],
        "monday 10:00, reception did not answer": ["202"],
        "monday 10:00, nor the first of sales": ["203"],
        "monday 20:00": ["+31612345678"],
        "christmas 10:00": ["+31612345678"],
    }
