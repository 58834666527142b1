"""A tenant admin in a real Chromium: signs in to their tenant's fleet and only that,
edits a user, is refused the platform's firmware page, and sees only their pages in
the navigation."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.harness import ConsoleErrors, Provd, screenshot, sign_in

ACME = {"00156511aa01": ("201", "Front Desk"), "00156511aa02": ("202", "Back Office")}
GLOBEX = {"00156522bb01": ("301", "Globex Reception")}
PASSWORD = "Tenant-adm1n"


def _populate(provd: Provd) -> None:
    for tenant, phones in (("acme", ACME), ("globex", GLOBEX)):
        provd.cli("tenant", "add", tenant)
        for mac, (ext, name) in phones.items():
            provd.cli("user", "add", "--tenant", tenant, "--extension", ext, "--name", name)
            provd.cli(
                "device", "add", "--mac", mac, "--model", "yealink-t46g", "--user", ext,
                "--tenant", tenant,
            )  # fmt: skip
    provd.cli(
        "account", "add", "tara", "--role", "tenant-admin", "--tenant", "acme",
        "--name", "Tara Acme", "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip


def test_tenant_admin_sees_and_edits_only_their_tenant(
    page: Page, provd_server: Provd, console_errors: ConsoleErrors
) -> None:
    _populate(provd_server)
    sign_in(page, provd_server, "tara", PASSWORD)
    # Signed in, a tenant admin lands on their fleet.
    assert page.url == provd_server.base_url + "/console/"
    rows = page.locator("table.fleet tbody tr[data-mac]")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.mac)")) == sorted(ACME)
    assert page.inner_text("#count-devices") == "2"
    assert page.locator("#f-tenant").count() == 0
    assert page.locator("#update-selected").count() == 0
    assert "globex" not in page.content().lower()

    nav = page.locator("header nav a").all_inner_texts()
    assert nav == [
        "Fleet",
        "Users",
        "Numbers",
        "Groups",
        "Menus",
        "Announcements",
        "Queues",
        "Sounds",
        "Voicemail",
        "Schedules",
        "Service codes",
        "Trunks",
        "Rates",
        "Calls",
        "Tenant",
        "Key layouts",
        "Accounts & tokens",
        "Installer",
        "Devices CSV",
        "Claim sheet",
    ]
    assert "(tenant-admin)" in page.inner_text(".who")
    screenshot(page, "console-tenant-admin")

    # Edit a user of their tenant.
    page.click("nav >> text=Users")
    page.wait_for_load_state()
    assert "Globex" not in page.inner_text("#users")
    page.click("#users >> text=201")
    page.wait_for_load_state()
    page.fill("input[name=name]", "Reception Desk")
    page.click("form button.primary")
    page.wait_for_load_state()
    assert page.url.endswith("/console/users/acme/201?saved=1")
    assert page.input_value("input[name=name]") == "Reception Desk"
    users = provd_server.cli("user", "list", "--tenant", "acme")
    assert {u["extension"]: u["name"] for u in users}["201"] == "Reception Desk"

    # Every page in their navigation opens cleanly (the fixture fails on console errors)
    # and shows nothing of the other tenant.
    for href in page.locator("header nav a").evaluate_all("as => as.map(a => a.href)"):
        response = page.goto(href)
        assert response is not None and response.status == 200, href
        assert "globex" not in page.content().lower(), href
    page.goto(provd_server.base_url + "/console/tenants")
    assert page.url == provd_server.base_url + "/console/tenants/acme"
    page.click("#show-bootstrap button")
    page.wait_for_load_state()
    assert page.inner_text("#bootstrap-username") == "bootstrap-acme"

    # Another tenant's user looks missing; the platform's firmware page is refused.
    console_errors.allow("status of 404")
    console_errors.allow("status of 403")
    response = page.goto(provd_server.base_url + "/console/users/globex/301")
    assert response is not None and response.status == 404
    response = page.goto(provd_server.base_url + "/console/firmware")
    assert response is not None and response.status == 403
    assert "tenant-admin role may not open this page" in page.inner_text("body")
