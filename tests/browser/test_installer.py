"""The installer page in a phone-sized headless Chromium.

- a fake camera plays a video of three labels (Yealink, Snom, Yealink; each with a
  serial Code 128 and an EAN-13 too): two are claimed, the Snom one is refused for
  the wrong vendor, and both claimed phones then go waiting → fetched → sealed →
  registered as a phone would make them (curl --digest with the tenant's bootstrap
  credential, then with the device's own; a sipp REGISTER with the SIP account from
  that configuration), against a real ``provd serve --pbx``;
- the photo fallback (a file input) claims a phone without any camera;
- the page preselects from its query and shows no console error.

Refused claims answer 400/409, which Chromium logs as failed resource loads:
those, and only those, are expected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright, expect

from tests.browser.harness import (
    ConsoleErrors,
    Provd,
    fetch_config,
    init_provd,
    launch,
    new_context,
    screenshot,
    sign_in,
)
from tests.browser.labels import label_image, png_bytes, write_y4m
from tests.pbx.conftest import Account, ip, reg_row
from tests.pbx.sippctl import run_sipp

PROXY, MEDIA = ip(181), ip(190)
PHONES = {"001565c0ffee": ip(182), "805ec0d57d72": ip(183)}
SNOM_MAC = "000413a1b2c3"
LABELS = (
    ("00:15:65:C0:FF:EE", "301203G080005848", "425098650011", "Yealink SIP-T46G"),
    (SNOM_MAC, "1234567890ABCDEF12", "425098650028", "snom D785"),
    ("80:5E:C0:D5:7D:72", "301203G080009999", "425098650035", "Yealink SIP-T46G"),
)
INSTALLER, INSTALLER_PW = "ivan", "Install-3r-pass"
# Chromium logs "Failed to load resource: … status of 400 (Bad Request)" for the refused
# claim the test provokes; only that status is expected (a 404 would still fail the test).
REFUSAL = "status of 400 (Bad Request)"
_TIMEOUT_MS = 30_000


def _add_people(server: Provd) -> None:
    server.cli("user", "add", "--extension", "201", "--name", "Front Desk")
    server.cli("user", "add", "--extension", "202", "--name", "Back Office")
    server.cli(
        "account",
        "add",
        INSTALLER,
        "--role",
        "installer",
        "--tenant",
        "default",
        "--password-stdin",
        stdin=INSTALLER_PW + "\n",
    )


@pytest.fixture(scope="module")
def pbx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provd]:
    """``provd serve --pbx`` on its own loopback addresses, with users 201 and 202."""
    server = init_provd(
        tmp_path_factory.mktemp("installer-pbx"),
        "--pbx",
        "--sip-address",
        PROXY,
        "--media-address",
        MEDIA,
        "--rpc-address",
        PROXY,
        "--rtpengine-ng-address",
        PROXY,
    )
    _add_people(server)
    server.start(ready_mark="phones register at")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def camera_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pictures = [label_image(mac, sn, ean, title=title) for mac, sn, ean, title in LABELS]
    return write_y4m(
        tmp_path_factory.mktemp("camera") / "labels.y4m", pictures, fps=5, seconds_each=4
    )


@pytest.fixture
def camera_browser(playwright: Playwright, camera_video: Path) -> Iterator[Browser]:
    browser = launch(
        playwright,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera_video}",
        "--autoplay-policy=no-user-gesture-required",
    )
    yield browser
    browser.close()


def _installer_page(
    browser: Browser, server: Provd, errors: ConsoleErrors, query: str = ""
) -> Page:
    context = new_context(browser, phone=True, permissions=["camera"])
    page = errors.watch(context.new_page())
    page.set_default_timeout(_TIMEOUT_MS)
    sign_in(page, server, INSTALLER, INSTALLER_PW)
    assert page.url.endswith("/install/"), page.url
    if query:
        page.goto(server.base_url + "/install/" + query)
    return page


def _entry(page: Page, mac: str) -> Locator:
    return page.locator(f'#claims li[data-mac="{mac}"]')


def _pick_user(page: Page, extension: str) -> None:
    page.locator(f'#user-list input[name=extension][value="{extension}"]').check()


# --- the phone's side: provisioning fetches and a SIP registration ----------------------


@dataclass
class _Phone:
    mac: str
    address: str


def _register(work: Path, phone: _Phone, cfg: dict[str, str]) -> int:
    account = Account(
        extension=cfg["account.1.user_name"],
        domain=cfg["account.1.sip_server.1.address"],
        username=cfg["account.1.auth_name"],
        password=cfg["account.1.password"],
    )
    where = (phone.address, 5062)
    job = run_sipp(
        "register.xml", work, remote=f"{PROXY}:5060", local=where, rows=[reg_row(account, where)]
    )
    # Playwright's sync API owns this thread's event loop: sipp runs on a loop of its own.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, job).result().rc


def _expect_state(page: Page, mac: str, state: str) -> None:
    expect(_entry(page, mac)).to_have_attribute("data-state", state, timeout=_TIMEOUT_MS)


# --- the tests ------------------------------------------------------------------------------


def test_three_labels_by_camera_then_two_phones_come_alive(
    camera_browser: Browser, pbx_server: Provd, tmp_path: Path
) -> None:
    errors = ConsoleErrors()
    errors.allow(REFUSAL)
    page = _installer_page(camera_browser, pbx_server, errors)
    _pick_user(page, "201")
    expect(page.locator("#model")).to_have_value("yealink-t46g")
    screenshot(page, "installer-ready")
    page.click("#camera-start")
    expect(page.locator("#viewfinder")).to_be_visible()

    first, second = PHONES
    _expect_state(page, first, "waiting")
    # The next phone goes to someone else: the installer picks 202 between scans.
    _pick_user(page, "202")
    refused = _entry(page, SNOM_MAC)
    expect(refused).to_have_attribute("data-state", "refused", timeout=_TIMEOUT_MS)
    expect(refused).to_contain_text(
        "00:04:13… is a Snom MAC, but you chose Yealink T46G: "
        "pick the right model or scan the right label"
    )
    _expect_state(page, second, "waiting")
    expect(_entry(page, first)).to_contain_text("201 Front Desk")
    expect(_entry(page, second)).to_contain_text("202 Back Office")
    expect(_entry(page, first)).to_contain_text("DHCP option 66")
    screenshot(page, "installer-scanned-three")
    # The video loops: labels seen again are not claimed twice.
    page.wait_for_timeout(13_000)
    assert page.locator("#claims li").count() == 3
    page.click("#camera-stop")

    tenant = pbx_server.cli("tenant", "show", "default", "--reveal")
    bootstrap = (tenant["bootstrap_username"], tenant["bootstrap_password"])
    phones = [_Phone(mac, address) for mac, address in PHONES.items()]
    configs = {}
    for phone in phones:
        configs[phone.mac] = fetch_config(
            pbx_server, phone.mac, *bootstrap, interface=phone.address
        )
        _expect_state(page, phone.mac, "fetched")
    expect(_entry(page, first)).to_contain_text("Yealink T46G · firmware 28.83.0.120")
    screenshot(page, "installer-fetched")
    for phone in phones:
        cfg = configs[phone.mac]
        own = (
            cfg["static.auto_provision.server.username"],
            cfg["static.auto_provision.server.password"],
        )
        configs[phone.mac] = fetch_config(pbx_server, phone.mac, *own, interface=phone.address)
        _expect_state(page, phone.mac, "sealed")
    expect(_entry(page, first)).to_contain_text("check the SIP proxy / firewall / VLAN")
    screenshot(page, "installer-sealed")
    for phone in phones:
        assert _register(tmp_path, phone, configs[phone.mac]) == 0
        _expect_state(page, phone.mac, "registered")
        expect(_entry(page, phone.mac).locator(".state")).to_have_text("✔ Registered")
    expect(_entry(page, first)).to_contain_text("Yealink T46G · firmware 28.83.0.120")
    expect(page.locator("#announce")).to_contain_text("Registered")
    screenshot(page, "installer-registered")
    # Nothing secret reached the page.
    html = page.content()
    for cfg in configs.values():
        assert cfg["account.1.password"] not in html
        assert cfg["static.auto_provision.server.password"] not in html
    page.context.close()
    assert errors.take() == [], "the page logged errors"


def test_photo_fallback_claims_without_a_camera(
    browser: Browser, pbx_server: Provd, tmp_path: Path
) -> None:
    errors = ConsoleErrors()
    page = _installer_page(browser, pbx_server, errors, "?extension=202&model=yealink-t54w")
    expect(page.locator('#user-list input[value="202"]')).to_be_checked()
    expect(page.locator("#model")).to_have_value("yealink-t54w")
    expect(page.locator("#selection")).to_have_text(
        "Scanning Yealink T54W phones for 202 Back Office."
    )
    photo = tmp_path / "label.png"
    photo.write_bytes(
        png_bytes(label_image("24:9A:D8:88:D0:F4", "301203G080001234", "425098650042"))
    )
    page.set_input_files("#photo", str(photo))
    entry = _entry(page, "249ad888d0f4")
    expect(entry).to_have_attribute("data-state", "waiting")
    expect(entry).to_contain_text("202 Back Office · Yealink T54W")
    expect(page.locator("#scan-feedback")).to_contain_text("Claimed 249ad888d0f4")
    screenshot(page, "installer-photo")
    devices = {d["mac"]: d for d in pbx_server.cli("device", "list")}
    assert devices["249ad888d0f4"]["model"] == "yealink-t54w"
    page.context.close()
    assert errors.take() == [], "the page logged errors"


def test_user_search_and_typed_mac(browser: Browser, pbx_server: Provd) -> None:
    errors = ConsoleErrors()
    page = _installer_page(browser, pbx_server, errors)
    page.fill("#user-search", "back")
    expect(page.locator("#user-list label.choice:not(.spare)")).to_have_count(1)
    expect(page.locator("#user-list")).to_contain_text("202 Back Office")
    page.fill("#user-search", "nobody-here")
    expect(page.locator("#user-none")).to_be_visible()
    page.fill("#user-search", "")
    expect(page.locator("#user-list label.choice:not(.spare)")).to_have_count(2)
    page.locator("#user-list label.spare input").check()
    page.click("text=Type the MAC instead")
    page.fill("#mac", "80-5E-0C-00-00-01")
    page.click("#mac-claim")
    expect(_entry(page, "805e0c000001")).to_contain_text("Spare")
    page.context.close()
    assert errors.take() == [], "the page logged errors"
