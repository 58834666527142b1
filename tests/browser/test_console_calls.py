"""The call-records issue's "done when" in a real Chromium against a real
``provd serve --pbx``: the admin blocks premium numbers and sets a limit of 3 calls an
hour from the console; a phone (sipp) then calls a 0900 number (refused, blocked),
three national numbers (answered by the sipp carrier) and a fourth (refused by the
limit); the Calls page shows each call once with how it ended and why, its totals,
and a CSV export with the same calls, and the Limits page shows the hour's count."""

from __future__ import annotations

import csv
import io
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.harness import ConsoleErrors, Provd, init_provd, screenshot, sign_in
from tests.browser.pbx import Gateway, pbx_pids, sipp_done, start_sipp
from tests.pbx.conftest import Account, call_row, ip, reg_row

PROXY = ip(190)
MEDIA = ip(191)
PHONE = (ip(192), 5060)
CARRIER = (ip(193), 5060)
NUMBER = "+31201234581"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Provd, Path, Account]]:
    tmp = tmp_path_factory.mktemp("console-calls")
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
    user = provd.cli("user", "add", "--extension", "201", "--name", "Front Desk")
    provd.cli("number", "add", "020 123 4580", "--count", "10")
    provd.cli("number", "assign", NUMBER, "--user", "201")
    provd.cli("carrier", "add", "main", "--host", f"{CARRIER[0]}:{CARRIER[1]}")
    account = Account("201", user["sip_domain"], user["sip_username"], user["sip_password"])
    provd.start(ready_mark="phones register at")
    try:
        yield provd, tmp, account
    finally:
        provd.stop()
        for pid in pbx_pids(provd.data_dir, PROXY):
            os.kill(pid, signal.SIGKILL)


def _records_shown(page: Page, provd: Provd, want: int) -> list[list[str]]:
    """The Calls page's rows, once the collector (every 5 s) has copied ``want``."""
    deadline = time.monotonic() + 30
    while True:
        page.goto(provd.base_url + "/console/calls")
        rows = page.locator("#calls tbody tr[data-id]")
        if rows.count() >= want or time.monotonic() > deadline:
            break
        time.sleep(1)
    return [[c.strip() for c in r.locator("td").all_inner_texts()] for r in rows.all()]


def test_records_blocks_and_the_brake_from_the_console(
    page: Page, served: tuple[Provd, Path, Account], console_errors: ConsoleErrors
) -> None:
    provd, work, phone = served
    # The refused limits form answers 400, which Chromium logs.
    console_errors.allow("status of 400")
    sign_in(page, provd)
    proxy = f"{PROXY}:5060"

    # The tenant's outbound policy: premium numbers blocked.
    page.goto(provd.base_url + "/console/outbound/default")
    page.check("input[name=block_premium]")
    page.click("#outbound-form button[type=submit]")
    page.wait_for_load_state()
    assert "premium" in page.inner_text("#outbound-description")
    # Its limits: 3 calls out an hour; a bad value first, refused by its field.
    page.goto(provd.base_url + "/console/limits/default")
    page.fill("#l-tenant-calls_hour", "three")
    page.click("#limits-form-tenant button[type=submit]")
    page.wait_for_load_state()
    assert page.inner_text("#e-tenant-calls_hour") != ""
    page.fill("#l-tenant-calls_hour", "3")
    page.click("#limits-form-tenant button[type=submit]")
    page.wait_for_load_state()
    assert "3" in page.inner_text("#usage-tenant-hour")

    sipp_done(
        start_sipp(work, "register.xml", PHONE, [reg_row(phone, PHONE, expires=600)], remote=proxy)
    )
    results = []
    gateway = Gateway(work, CARRIER, media=19100)
    try:
        for dialled, answered in (
            ("0900123456", False),  # blocked: premium
            ("0201234566", True),
            ("0201234567", True),
            ("0201234568", True),
            ("0201234569", False),  # the fourth call out in the hour
        ):
            scenario = "uac_call.xml" if answered else "call_rejected.xml"
            row = call_row(phone, dialled, phone.domain)
            call = start_sipp(work, scenario, PHONE, [row], remote=proxy, media=19120)
            results.append(sipp_done(call))
    finally:
        gateway.stop()
    assert "SIP/2.0 403 Forbidden: destination blocked: premium" in results[0]
    assert "SIP/2.0 403 Forbidden: call limit reached (hour)" in results[4]

    rows = _records_shown(page, provd, 5)
    screenshot(page, "console-calls")
    # Start, Type, Caller, Callee, Dialled, How it ended, Seconds, Cost; newest first. Calls
    # made within one second may come in either order: compare them by the number dialled.
    starts = [r[0] for r in rows]
    assert starts == sorted(starts, reverse=True), rows
    by_dialled = {r[4]: r for r in rows}
    assert sorted(by_dialled) == [
        "0201234566",
        "0201234567",
        "0201234568",
        "0201234569",
        "0900123456",
    ], rows
    assert by_dialled["0900123456"][1] == "premium", rows
    assert by_dialled["0900123456"][5].startswith("blocked"), rows
    assert "premium" in by_dialled["0900123456"][5], rows
    assert by_dialled["0201234569"][1] == "national_fixed", rows
    assert "call limit" in by_dialled["0201234569"][5], rows
    for number in ("0201234566", "0201234567", "0201234568"):
        assert by_dialled[number][1] == "national_fixed", rows
        assert by_dialled[number][5] == "answered", rows
    assert page.inner_text("#totals tr[data-per=overall] td:nth-child(3)") == "5"
    assert page.inner_text("#totals tr[data-per=overall] td:nth-child(4)") == "3"

    with page.expect_download() as download:
        page.click("#calls-download")
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(exported) == 5

    page.goto(provd.base_url + "/console/limits/default")
    hour = page.locator("#usage-tenant-hour td").all_inner_texts()
    assert hour[2] == "3" and hour[3] == "3", hour  # limit 3, calls 3 (the fourth refused)
