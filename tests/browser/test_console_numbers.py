"""The console's numbers page in a real Chromium: a block added through the page, a
number found by its national notation, a refused assignment shown by its field with
nothing written, then the number assigned to a user, in the report and on the user's
page as the caller ID; released again."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.harness import Provd, screenshot, sign_in

NUMBER = "+31201234507"


def _use(provd: Provd, e164: str) -> object:
    [row] = [n for n in provd.cli("number", "list") if n["number"] == e164]
    return row["use"]


def test_assign_a_number_to_a_user_and_see_it_in_the_report(
    page: Page, provd_server: Provd
) -> None:
    provd_server.cli("user", "add", "--extension", "301", "--name", "Reception")
    sign_in(page, provd_server)
    page.goto(provd_server.base_url + "/console/users")
    page.click("nav a[href='/console/numbers']")
    page.wait_for_url("**/console/numbers")

    page.select_option("#b-tenant", "default")
    page.fill("#b-first", "020 123 4500")
    page.select_option("#b-count", "10")
    page.click("#add-block button[type=submit]")
    page.wait_for_url("**/console/numbers?added=*")
    assert "Block from +31201234500 added." in page.inner_text(".flash.ok")
    assert page.locator("section[data-block='+31201234500'] tbody tr").count() == 10

    page.fill("#q", "020 123 45 07")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state()
    rows = page.locator("tr[data-number]")
    assert rows.count() == 1 and rows.first.get_attribute("data-number") == NUMBER

    row = page.locator(f"tr[data-number='{NUMBER}']")
    row.locator("input[name=user]").fill("399")
    row.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "not found" in page.inner_text("#e-user-31201234507")
    assert _use(provd_server, NUMBER) is None

    row = page.locator(f"tr[data-number='{NUMBER}']")
    row.locator("input[name=user]").fill("301")
    row.locator("button[type=submit]").click()
    page.wait_for_url("**/console/numbers?assigned=*")
    assert f"Number {NUMBER} assigned." in page.inner_text(".flash.ok")
    use = page.locator(f"tr[data-number='{NUMBER}'] td.use").inner_text()
    assert use == "in use by user 301 (Reception)"
    assert page.locator("tr[data-number='+31201234506'] td.use").inner_text() == "unused"
    assert _use(provd_server, NUMBER) == {"kind": "user", "key": "301", "name": "Reception"}
    screenshot(page, "console-numbers")

    page.click(f"tr[data-number='{NUMBER}'] td.use a")
    page.wait_for_url("**/console/users/default/301")
    assert page.inner_text("#presented").startswith(NUMBER)
    assert "the user's own number" in page.inner_text("#presented")

    page.goto(provd_server.base_url + "/console/numbers")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click(f"tr[data-number='{NUMBER}'] form.release-form button")
    page.wait_for_url("**/console/numbers?released=*")
    assert page.locator(f"tr[data-number='{NUMBER}'] td.use").inner_text() == "unused"
    assert _use(provd_server, NUMBER) is None
