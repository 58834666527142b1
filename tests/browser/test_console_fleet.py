"""The fleet in a real Chromium against a real ``provd serve --pbx``: one phone
registered through Kamailio (sipp with the credentials its configuration carries),
one not. The admin finds the unregistered one, opens it, sees a configuration
preview without a secret, and is told plainly why a resync cannot reach it.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.harness import Provd, fetch_config, init_provd, screenshot, sign_in
from tests.browser.pbx import pbx_pids
from tests.pbx.conftest import Account, ip, reg_row
from tests.pbx.sippctl import SCENARIOS, write_csv

PROXY = ip(181)
MEDIA = ip(182)
PHONE_A = (ip(183), 5061)
MAC_A, MAC_B = "001565b00001", "001565b00002"
_TIMEOUT_S = 30.0


@dataclass
class Fleet:
    provd: Provd
    secrets: dict[str, str]
    """Per MAC, every secret its configuration carries (SIP and provisioning passwords)."""


def _register(work: Path, account: Account, where: tuple[str, int]) -> None:
    """One REGISTER with Digest, by sipp, bounded in time (the sync twin of run_sipp)."""
    rows = write_csv(work / "register.csv", [reg_row(account, where, expires=600)])
    done = subprocess.run(
        [
            "sipp",
            f"{PROXY}:5060",
            "-sf",
            str(SCENARIOS / "register.xml"),
            "-i",
            where[0],
            "-p",
            str(where[1]),
            "-inf",
            str(rows),
            "-m",
            "1",
            "-timeout",
            "8s",
            "-nostdin",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=20,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    tmp = tmp_path_factory.mktemp("console-fleet")
    provd = init_provd(
        tmp,
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
    secrets: dict[str, str] = {}
    accounts: dict[str, Account] = {}
    provisioning: dict[str, dict[str, str]] = {}
    for mac, ext, name in ((MAC_A, "201", "Front Desk"), (MAC_B, "202", "Back Office")):
        user = provd.cli("user", "add", "--extension", ext, "--name", name)
        added = provd.cli("device", "add", "--mac", mac, "--model", "yealink-t46g", "--user", ext)
        provisioning[mac] = added["provisioning"]
        secrets[mac] = user["sip_password"]
        secrets[mac + "/provisioning"] = added["provisioning"]["password"]
        accounts[mac] = Account(ext, user["sip_domain"], user["sip_username"], user["sip_password"])
    provd.start(ready_mark="phones register at")
    try:
        # Phone A boots: fetches its configuration, then registers with what it got.
        prov_a = provisioning[MAC_A]
        cfg = fetch_config(provd, MAC_A, prov_a["username"], prov_a["password"])
        assert cfg["account.1.password"] == secrets[MAC_A]
        _register(tmp, accounts[MAC_A], PHONE_A)
        yield Fleet(provd, secrets)
    finally:
        provd.stop()
        for pid in pbx_pids(provd.data_dir, PROXY):
            os.kill(pid, signal.SIGKILL)


def test_admin_finds_the_unregistered_phone_and_sees_why_it_cannot_be_resynced(
    page: Page, fleet: Fleet
) -> None:
    provd = fleet.provd
    sign_in(page, provd)
    assert page.url == provd.base_url + "/console/"
    assert page.inner_text("#count-devices") == "2"
    assert page.inner_text("#count-registered") == "1"
    assert page.inner_text("#count-unregistered") == "1"
    row_a = page.locator(f"tr[data-mac='{MAC_A}']")
    assert "registered" in row_a.locator(".badge").first.inner_text()
    assert f"WAN {PHONE_A[0]}:{PHONE_A[1]}" in row_a.inner_text()
    assert "201 Front Desk" in row_a.inner_text()
    screenshot(page, "console-fleet")

    page.click("#show-unregistered")
    page.wait_for_url("**/console/?status=unregistered")
    rows = page.locator("tbody tr[data-mac]")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-mac") == MAC_B
    assert "not registered" in rows.first.inner_text()

    # The filter form says the same with the search box: the MAC in another notation.
    page.fill("#q", "00-15-65-B0-00-02")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("tbody tr[data-mac]").count() == 1

    page.click(f"a[href='/console/devices/{MAC_B}']")
    page.wait_for_url(f"**/console/devices/{MAC_B}")
    assert "not registered" in page.inner_text("section[aria-labelledby=h-lines]")
    preview = "\n".join(page.locator("pre.config").all_text_contents())
    assert "account.1.user_name = 202" in preview
    assert "********" in preview
    for secret in (fleet.secrets[MAC_B], fleet.secrets[MAC_B + "/provisioning"]):
        assert secret not in preview
        assert secret not in page.content()
    screenshot(page, "console-device")

    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#do-resync")
    page.wait_for_load_state()
    flash = page.inner_text(".flash.error")
    assert "Resync not delivered" in flash
    assert "202@" in flash and "not registered" in flash
    assert "The phone is not registered" in flash
    # The attempt is on record, with what the PBX answered.
    page.goto(f"{provd.base_url}/console/audit?action=device.resync")
    assert MAC_B in page.inner_text("#audit")


def test_registered_phone_detail_shows_its_addresses(page: Page, fleet: Fleet) -> None:
    provd = fleet.provd
    sign_in(page, provd)
    page.goto(f"{provd.base_url}/console/devices/{MAC_A}")
    lines = page.inner_text("section[aria-labelledby=h-lines]")
    assert page.locator("section[aria-labelledby=h-lines] .badge.ok").inner_text() == "registered"
    assert f"WAN {PHONE_A[0]}:{PHONE_A[1]}" in lines
    assert "Yealink SIP-T46G 28.83.0.120" in lines
    assert "28.83.0.120" in page.inner_text("#fw-running")
    assert page.inner_text("#last-fetch") != "never"
    preview = "\n".join(page.locator("pre.config").all_text_contents())
    assert fleet.secrets[MAC_A] not in preview
