"""The key layout editor in a real Chromium: a BLF key on the second page of a T46G's
second EXP40 reaches the configuration the phone fetches; refused keys say why on
the key and save nothing; a key the tenant locked shows locked in a user's layout;
Snom own keys and D7 modules are drawn; the editor works without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.harness import (
    ConsoleErrors,
    Provd,
    fetch_config,
    new_context,
    screenshot,
    sign_in,
)

MAC = "001565b00001"
SNOM_MAC = "000413b00002"


@pytest.fixture(scope="module")
def fleet(provd_server: Provd) -> dict[str, Any]:
    """Users 201-203 of the default tenant; a T46G with two EXP40 for 201, a Snom D785
    with one D7 for 203. Returns the T46G's provisioning credentials."""
    for ext, name in (("201", "Front Desk"), ("202", "Bram Jansen"), ("203", "Carla")):
        provd_server.cli("user", "add", "--extension", ext, "--name", name)
    added = provd_server.cli(
        "device", "add", "--mac", MAC, "--model", "yealink-t46g", "--user", "201"
    )
    provd_server.cli("device", "set", MAC, "--expansion-modules", "2")
    provd_server.cli("device", "add", "--mac", SNOM_MAC, "--model", "snom-d785", "--user", "203")
    provd_server.cli("device", "set", SNOM_MAC, "--expansion-modules", "1")
    return dict(added["provisioning"])


def device_keys(provd: Provd, mac: str) -> dict[str, dict[str, Any]]:
    return {k["key"]: k for k in provd.cli("keys", "show", "--device", mac)["effective"]}


def test_blf_key_on_the_second_page_of_the_second_module_reaches_the_phone(
    page: Page, provd_server: Provd, fleet: dict[str, Any]
) -> None:
    sign_in(page, provd_server)
    page.goto(provd_server.base_url + "/console/layouts")
    page.fill("#device-mac", "00:15:65:b0:00:01")
    page.click("form:has(#device-mac) button[type=submit]")
    page.wait_for_url(f"**/console/layouts/device/{MAC}")

    # The picture: 27 own keys, two EXP40 strips of two 20-key pages each.
    assert page.locator(".phone a.key").count() == 27
    assert page.locator(".module").count() == 2
    module = page.locator('.module[data-module="2"]')
    assert module.locator(".module-page").count() == 2
    # Only the first page is shown until its tab is chosen.
    expect(module.locator('[data-page="2:2"]')).to_be_hidden()
    module.locator('[data-page-tab="2:2"]').click()
    expect(module.locator('[data-page="2:2"]')).to_be_visible()
    expect(module.locator('[data-page="2:1"]')).to_be_hidden()

    # Key 3 of page 2 is key 23 of the module, counted across its pages.
    key = page.locator('a.key[data-key="exp:2:23"]')
    assert key.locator(".key-num").inner_text() == "23"
    url_before = page.url.split("?")[0]
    key.click()
    # The form opens in place: no navigation.
    expect(page.locator(".key-form")).to_be_visible()
    assert page.url.split("?")[0] == url_before
    assert page.input_value("#key-location") == "exp:2:23"
    page.select_option("#key-function", "blf")
    expect(page.locator("#key-target-user")).to_be_visible()
    expect(page.locator("#key-target")).to_be_hidden()
    page.select_option("#key-target-user", "202")
    page.fill("#key-label", "Bram")
    page.click("button[name=action][value=save]")
    page.wait_for_load_state()

    assert "Key exp:2:23 saved." in page.inner_text(".flash.ok")
    saved = page.locator('a.key[data-key="exp:2:23"]')
    expect(saved).to_have_class(re.compile(r"\bis-own\b"))
    assert "Bram" in saved.inner_text() and "set here" in saved.inner_text()
    # After the save the module shows the page the key is on.
    expect(page.locator('[data-page="2:2"]')).to_be_visible()

    # The page description, on the tab and the page.
    page.fill("#describe-2-2", "Sales")
    page.click("#page-2-2 .page-form button[type=submit]")
    page.wait_for_load_state()
    assert "Page 2 · Sales" in page.inner_text('[data-page-tab="2:2"]')
    page.click('[data-page-tab="2:2"]')
    page.click('a.key[data-key="exp:2:23"]')
    assert page.input_value("#key-target-user") == "202"
    screenshot(page, "console-layouts-editor")

    cfg = fetch_config(provd_server, MAC, fleet["username"], fleet["password"])
    assert cfg["expansion_module.2.key.23.type"] == "16"  # BLF
    assert cfg["expansion_module.2.key.23.value"] == "202"
    assert cfg["expansion_module.2.key.23.label"] == "Bram"
    assert cfg["expansion_module.2.key.23.line"] == "1"
    # Nothing else on the module moved.
    assert cfg["expansion_module.2.key.3.type"] == "0"
    assert cfg["expansion_module.1.key.23.type"] == "0"
    assert device_keys(provd_server, MAC)["exp:2:23"]["from"] == "device"


def test_refused_keys_show_the_reason_on_the_key_and_save_nothing(
    page: Page, provd_server: Provd, fleet: dict[str, Any]
) -> None:
    sign_in(page, provd_server)
    page.goto(f"{provd_server.base_url}/console/layouts/device/{MAC}")
    page.click('a.key[data-key="line:5"]')
    page.select_option("#key-function", "speed_dial")
    expect(page.locator("#key-target")).to_be_visible()
    page.fill("#key-target", "call me")
    page.click("button[name=action][value=save]")
    page.wait_for_load_state()

    key = page.locator('a.key[data-key="line:5"]')
    expect(key).to_have_class(re.compile(r"\bis-error\b"))
    assert "needs a number to dial" in key.locator(".key-error").inner_text()
    # The form stays open with what was typed.
    assert page.input_value("#key-location") == "line:5"
    assert page.input_value("#key-target") == "call me"
    assert "needs a number to dial" in page.inner_text(".key-form-error")
    screenshot(page, "console-layouts-error")

    # A key beyond the model's modules: refused in the form, naming the key.
    page.fill("#key-location", "exp:3:1")
    page.select_option("#key-function", "dnd")
    page.click("button[name=action][value=save]")
    page.wait_for_load_state()
    assert "only 2 expansion modules can be used here" in page.inner_text(".key-form-error")

    keys = device_keys(provd_server, MAC)
    assert "line:5" not in keys and "exp:3:1" not in keys


def test_a_key_locked_by_the_tenant_shows_locked_in_the_users_layout(
    page: Page, provd_server: Provd, fleet: dict[str, Any]
) -> None:
    sign_in(page, provd_server)
    page.goto(f"{provd_server.base_url}/console/layouts/tenant/default?model=yealink-t46g")
    page.click('a.key[data-key="line:2"]')
    page.select_option("#key-function", "voicemail")
    expect(page.locator("#key-target")).to_be_hidden()
    page.fill("#key-label", "Voicemail")
    page.check("#key-locked")
    page.click("button[name=action][value=save]")
    page.wait_for_load_state()
    tenant_key = page.locator('a.key[data-key="line:2"]')
    expect(tenant_key).to_have_class(re.compile(r"\bis-own is-locked\b"))

    page.goto(f"{provd_server.base_url}/console/layouts/user/default/201?model=yealink-t46g")
    key = page.locator('a.key[data-key="line:2"]')
    expect(key).to_have_class(re.compile(r"\bis-inherited is-locked\b"))
    assert "tenant default" in key.inner_text()
    expect(key.locator("svg.lock-icon")).to_be_visible()
    key.click()
    expect(page.locator(".editor-locked")).to_be_visible()
    assert "tenant default" in page.inner_text(".editor-locked")
    expect(page.locator("button[name=action][value=save]")).to_be_disabled()
    # The user level has no lock of its own to give.
    assert page.locator("#key-locked").count() == 0
    screenshot(page, "console-layouts-locked")
    assert device_keys(provd_server, MAC)["line:2"]["from"] == "tenant"


def test_snom_own_keys_and_d7_module_are_drawn(
    page: Page, provd_server: Provd, fleet: dict[str, Any]
) -> None:
    sign_in(page, provd_server)
    page.goto(f"{provd_server.base_url}/console/layouts/device/{SNOM_MAC}")
    assert page.locator(".phone a.key").count() == 24
    [module] = page.locator(".module").all()
    assert module.locator("a.key").count() == 18
    # A one-page module has no tabs.
    assert module.locator(".page-tab").count() == 0
    # With nothing set, the device's line shows on key 1 by the phone's default.
    assert "phone default" in page.inner_text('a.key[data-key="line:1"]')


@pytest.fixture
def no_js_page(browser: Browser, console_errors: ConsoleErrors) -> Iterator[Page]:
    context = new_context(browser, java_script_enabled=False)
    page = console_errors.watch(context.new_page())
    yield page
    context.close()
    assert console_errors.take() == []


def test_without_javascript_keys_are_links_and_forms(
    no_js_page: Page, provd_server: Provd, fleet: dict[str, Any]
) -> None:
    page = no_js_page
    sign_in(page, provd_server)
    page.goto(f"{provd_server.base_url}/console/layouts/user/default/201?model=yealink-t46g")
    # Every page of every module is shown.
    assert page.locator(".module-page").count() == 4
    page.click('a.key[data-key="exp:1:21"]')
    page.wait_for_load_state()
    assert "key=exp:1:21" in page.url
    page.select_option("#key-function", "blf")
    # An extension that is no user of the tenant, typed rather than picked.
    page.fill("#key-target", "999")
    page.click("button[name=action][value=save]")
    page.wait_for_load_state()
    key = page.locator('a.key[data-key="exp:1:21"]')
    assert "extension 999 is not a user of this tenant" in key.inner_text()

    page.select_option("#key-target-user", "203")
    page.fill("#key-target", "")
    page.click("button[name=action][value=save]")
    page.wait_for_load_state()
    assert "Key exp:1:21 saved." in page.inner_text(".flash.ok")
    assert "BLF 203 Carla" in page.inner_text('a.key[data-key="exp:1:21"]')
    assert device_keys(provd_server, MAC)["exp:1:21"]["from"] == "user"


def test_the_editor_fits_a_phone_screen(
    phone_page: Page, provd_server: Provd, fleet: dict[str, Any]
) -> None:
    page = phone_page
    sign_in(page, provd_server)
    page.goto(f"{provd_server.base_url}/console/layouts/device/{MAC}")
    page.click('a.key[data-key="line:1"]')
    # On a narrow screen the form comes below the picture, scrolled into view.
    expect(page.locator(".key-form")).to_be_in_viewport()
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    screenshot(page, "console-layouts-phone")
