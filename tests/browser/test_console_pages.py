"""The console's users, tenants, audit log and access pages in a real Chromium:
errors shown next to their field with nothing saved, changes reaching what phones
receive, secrets shown once and redacted in the log, tokens that stop working when
revoked."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

from playwright.sync_api import Page

from tests.browser.harness import Provd, screenshot, sign_in

MAC = "0015654aa9c1"


def _api_status(provd: Provd, token: str) -> int:
    context = ssl.create_default_context(cafile=str(provd.data_dir / "ca.pem"))
    request = urllib.request.Request(
        provd.base_url + "/api/v1/tenants", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, context=context, timeout=20) as response:
            json.load(response)
            return int(response.status)
    except urllib.error.HTTPError as e:
        return e.code


def _config(provd: Provd, mac: str) -> str:
    """``provd device config MAC MAC.cfg``: what the phone receives (secrets masked)."""
    argv = [sys.executable, "-m", "provd", "--data-dir", str(provd.data_dir), "device", "config"]
    done = subprocess.run(
        [*argv, mac, f"{mac}.cfg"], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_user_add_shows_the_error_by_its_field_then_the_password_once(
    page: Page, provd_server: Provd
) -> None:
    sign_in(page, provd_server)
    page.goto(provd_server.base_url + "/console/users")
    page.fill("#u-extension", "2x")
    page.fill("#u-name", "Reception")
    page.click("#add-user button[type=submit]")
    page.wait_for_load_state()
    assert "not an extension" in page.inner_text("#e-extension")
    assert page.input_value("#u-name") == "Reception"
    assert all(u["name"] != "Reception" for u in provd_server.cli("user", "list"))

    page.fill("#u-extension", "205")
    page.click("#add-user button[type=submit]")
    page.wait_for_load_state()
    password = page.inner_text("#sip-password")
    assert len(password) >= 16
    [user] = [u for u in provd_server.cli("user", "list") if u["extension"] == "205"]
    assert user["name"] == "Reception"
    assert "205" in page.inner_text("#users")
    screenshot(page, "console-users")

    page.goto(provd_server.base_url + "/console/users?q=recep")
    assert page.locator("#sip-password").count() == 0
    assert password not in page.content()
    assert page.locator("#users tbody tr").count() == 1

    # The same extension again is refused by the extension field, nothing added.
    page.fill("#u-extension", "205")
    page.fill("#u-name", "Twin")
    page.click("#add-user button[type=submit]")
    page.wait_for_load_state()
    assert "already exists" in page.inner_text("#e-extension")
    assert all(u["name"] != "Twin" for u in provd_server.cli("user", "list"))


def test_tenant_defaults_reach_the_rendered_config(page: Page, provd_server: Provd) -> None:
    provd_server.cli("device", "add", "--mac", MAC, "--model", "yealink-t46g")
    sign_in(page, provd_server)
    page.goto(provd_server.base_url + "/console/tenants")
    screenshot(page, "console-tenants")
    page.click("a[href='/console/tenants/default']")
    page.wait_for_url("**/console/tenants/default")

    page.fill("#t-vlan-lan", "5000")
    page.fill("#t-pickup", "**9")
    page.click("#tenant-defaults button[type=submit]")
    page.wait_for_load_state()
    assert page.inner_text("#e-vlan_lan") != ""
    assert "Nothing was saved" in page.inner_text(".flash.error")
    before = provd_server.cli("tenant", "show", "default")
    assert before["vlan_lan"] == "off"

    page.fill("#t-vlan-lan", "100:5")
    page.fill("#t-pickup", "*8")
    page.click("#tenant-defaults button[type=submit]")
    page.wait_for_url("**/console/tenants/default?saved=1")
    assert "saved" in page.inner_text(".flash.ok")
    config = _config(provd_server, MAC)
    assert "static.network.vlan.internet_port_enable = 1" in config
    assert "static.network.vlan.internet_port_vid = 100" in config
    assert "static.network.vlan.internet_port_priority = 5" in config

    page.goto(f"{provd_server.base_url}/console/devices/{MAC}")
    network = page.inner_text("#network")
    assert "VLAN 100 priority 5" in network and "tenant default" in network
    preview = "\n".join(page.locator("pre.config").all_text_contents())
    assert "static.network.vlan.internet_port_vid = 100" in preview


def test_audit_log_shows_the_change_and_a_redacted_secret(page: Page, provd_server: Provd) -> None:
    provd_server.cli("account", "add", "helper", "--password-stdin", stdin="Helper-pass1\n")
    sign_in(page, provd_server)
    page.goto(provd_server.base_url + "/console/access")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("tr[data-username=helper] form[action$='/password'] button")
    page.wait_for_load_state()
    new_password = page.inner_text("#secret-value")
    assert len(new_password) >= 16

    page.goto(provd_server.base_url + "/console/audit")
    first = page.locator("#audit tbody tr[data-action]").first
    assert first.get_attribute("data-action") == "account.password"
    assert "web:admin" in first.inner_text()
    assert first.locator(".badge.redacted").count() == 1
    assert new_password not in page.content()

    page.goto(provd_server.base_url + "/console/tenants/default")
    page.fill("#t-pickup", "*7")
    page.click("#tenant-defaults button[type=submit]")
    page.wait_for_url("**/console/tenants/default?saved=1")
    page.goto(provd_server.base_url + "/console/audit?object_type=tenant&action=tenant.set")
    change = page.locator("#audit tbody tr[data-action]").first
    assert "web:admin" in change.inner_text()
    [pickup] = [
        row.inner_text().split("\t")
        for row in change.locator("table.diff > tbody > tr, table.diff > tr").all()
        if "pickup_code" in row.inner_text()
    ]
    assert [cell.strip() for cell in pickup] == ["pickup_code", "*8", "*7"]
    screenshot(page, "console-audit")

    page.goto(provd_server.base_url + "/console/audit?since=yesterday")
    assert "not a date" in page.inner_text("form[role=search]")


def test_token_is_shown_once_works_and_stops_when_revoked(page: Page, provd_server: Provd) -> None:
    sign_in(page, provd_server)
    page.goto(provd_server.base_url + "/console/access")
    page.fill("#t-name", "ci-script")
    page.fill("#t-days", "0")
    page.click("#create-token button[type=submit]")
    page.wait_for_load_state()
    assert page.inner_text("#t-e-days") != ""
    assert "ci-script" not in page.inner_text("#tokens")

    page.fill("#t-name", "ci-script")
    page.fill("#t-days", "30")
    page.click("#create-token button[type=submit]")
    page.wait_for_load_state()
    token = page.inner_text("#secret-value")
    assert token.startswith("provd_")
    assert _api_status(provd_server, token) == 200
    screenshot(page, "console-access")

    page.goto(provd_server.base_url + "/console/access")
    assert token not in page.content()
    row = page.locator("#tokens tbody tr", has_text="ci-script")
    assert row.count() == 1
    page.on("dialog", lambda dialog: dialog.accept())
    row.locator("button", has_text="Revoke").click()
    page.wait_for_load_state()
    assert "revoked" in page.inner_text(".flash.ok")
    assert page.locator("#tokens tbody tr", has_text="ci-script").count() == 0
    assert _api_status(provd_server, token) == 401


def test_accounts_cannot_remove_yourself_and_installers_need_a_tenant(
    page: Page, provd_server: Provd
) -> None:
    sign_in(page, provd_server)
    page.goto(provd_server.base_url + "/console/access")
    own = page.locator("tr[data-username=admin]")
    assert own.locator("button", has_text="Remove").count() == 0

    page.fill("#a-username", "fitter")
    page.select_option("#a-role", "installer")
    page.click("#add-account button[type=submit]")
    page.wait_for_load_state()
    assert "must belong to a tenant" in page.inner_text("#a-e-tenant")
    assert page.locator("tr[data-username=fitter]").count() == 0

    page.select_option("#a-tenant", "default")
    page.click("#add-account button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("tr[data-username=fitter]").count() == 1
    assert len(page.inner_text("#secret-value")) >= 16

    # A forged removal of your own account (no button, but a POST) is refused.
    response = page.request.post(
        provd_server.base_url + "/console/access/accounts/admin/remove",
        form={"csrf_token": page.get_attribute("meta[name=csrf-token]", "content") or ""},
    )
    assert response.ok and "cannot remove your own account" in response.text()
    assert any(a["username"] == "admin" for a in provd_server.cli("account", "list"))
