"""The trunk issue's "done when" in a real Chromium against a real ``provd serve --pbx``:
the admin makes a trunk with the console's wizard (one refusal shown by its field on the
way), reads the primary account's password from the page that shows it once, and a
sipp "customer PBX" configured with it registers, calls out (the sipp carrier gets the
number in E.164 with the trunk's number in P-Asserted-Identity) and is called in the
trunk's format; the Trunks page then shows the account registered."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.harness import Provd, init_provd, screenshot, sign_in
from tests.browser.pbx import Gateway, pbx_pids, sipp_done, start_sipp
from tests.pbx.conftest import ip

PROXY = ip(186)
MEDIA = ip(187)
PBX = (ip(188), 5090)
PBX_UAC = (ip(188), 5092)
CARRIER = (ip(189), 5060)
CARRIER_UAC = (ip(189), 5062)
MAIN = "+31201234560"
DID = "+31201234561"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Provd, Path, str]]:
    tmp = tmp_path_factory.mktemp("console-trunks")
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
    user = provd.cli("user", "add", "--extension", "201", "--name", "Reception")
    provd.cli("number", "add", "020 123 4560", "--count", "10")
    provd.cli("carrier", "add", "main", "--host", f"{CARRIER[0]}:{CARRIER[1]}")
    provd.start(ready_mark="phones register at")
    try:
        yield provd, tmp, str(user["sip_domain"])
    finally:
        provd.stop()
        for pid in pbx_pids(provd.data_dir, PROXY):
            os.kill(pid, signal.SIGKILL)


def test_the_wizard_makes_a_trunk_a_pbx_uses_in_and_out(
    page: Page, served: tuple[Provd, Path, str]
) -> None:
    provd, work, domain = served
    sign_in(page, provd)
    page.goto(provd.base_url + "/console/trunks")
    assert page.locator("h1").inner_text().startswith("Trunks")

    # Step 1-4 of the wizard, with an address range too wide: refused by its field.
    page.fill("#a-name", "hq")
    page.fill("#a-channels", "2")
    page.select_option("#a-format", "national")
    page.fill("#a-allow", "10.0.0.0/8")
    page.check(f"input[name='inbound:{MAIN}']")
    page.check(f"input[name='caller_id:{MAIN}']")
    page.check(f"input[name='inbound:{DID}']")
    page.select_option("#a-failover-kind", "user")
    page.fill("#a-failover-key", "201")
    page.click("#add-trunk button[type=submit]")
    page.wait_for_load_state()
    assert "too wide" in page.inner_text("#e-allow_ip")
    assert page.locator("section.trunk").count() == 0  # nothing written

    page.fill("#a-allow", PBX[0])
    page.click("#add-trunk button[type=submit]")
    page.wait_for_load_state()
    # Step 5: the accounts, with their passwords this once.
    row = page.locator("#trunk-accounts tr[data-account=primary]")
    assert row.locator(".username").inner_text() == "hq-primary"
    password = row.locator(".password").inner_text().strip()
    assert len(password) >= 16
    screenshot(page, "console-trunk-accounts")

    auth = f"[authentication username=hq-primary password={password}]"
    proxy = f"{PROXY}:5060"
    # A PBX retries its registration, and must: the console's answer may come from a
    # worker other than the leader, which brings Kamailio the account within a second.
    deadline = time.monotonic() + 5.0
    while True:
        registered = start_sipp(
            work,
            "register.xml",
            PBX,
            [["hq-primary", domain, auth, "3600", f"{PBX[0]}:{PBX[1]}"]],
            remote=proxy,
        )
        if time.monotonic() >= deadline:
            sipp_done(registered)  # the last try: a failure fails the test, with its trace
            break
        registered.communicate(timeout=60)
        if registered.returncode == 0:
            break
        time.sleep(0.5)

    # Out: the PBX dials a national number as its main number.
    gateway = Gateway(work, CARRIER, media=19000)
    caller = start_sipp(
        work,
        "pbx_call.xml",
        PBX_UAC,
        [
            [
                "0201234560",
                domain,
                auth,
                "0201234567",
                domain,
                f"P-Asserted-Identity: <sip:0201234560@{domain}>",
                "X-Test: 1",
            ]
        ],
        remote=proxy,
        media=19020,
    )
    try:
        sipp_done(caller)
    finally:
        out = gateway.stop()
    assert "INVITE sip:+31201234567@" in out, out
    assert f"P-Asserted-Identity: <sip:{MAIN}@{domain}>" in out, out

    # In: the carrier calls the trunk's number; the PBX gets it in national format.
    pbx_side = start_sipp(work, "uas_call.xml", PBX, [], media=19040)
    time.sleep(0.3)
    carrier = start_sipp(
        work,
        "carrier_call.xml",
        CARRIER_UAC,
        [[DID, "+31612345678", "Jan", "X-Test: 1"]],
        remote=proxy,
        media=19060,
    )
    sipp_done(carrier)
    incoming = sipp_done(pbx_side)
    assert "INVITE sip:0201234561@" in incoming, incoming

    # The page shows the primary registered and no channel in use any more.
    page.goto(provd.base_url + "/console/trunks")
    card = page.locator("section[data-trunk=hq]")
    assert card.locator("li[data-account=primary] .registration").inner_text() == "registered"
    assert card.locator(".channels").inner_text() == "0 of 2"
    assert "201" in card.locator(".failover").inner_text()
    screenshot(page, "console-trunks")
