"""Firmware and rollouts in a real Chromium against a real ``provd serve --pbx``:
simulated T46Gs register on Kamailio and download firmware from provd. The admin
marks an image tested, pins it, presses "update to recommended firmware" for the
model, confirms the reboot warning and watches the bar move live to done, pausing
and resuming on the way; a failing canary halts the next rollout, reason shown.

The phones run on an asyncio loop in a thread of their own: Playwright's sync API
owns the test thread. Tests run in file order on one server.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.harness import (
    ConsoleErrors,
    Provd,
    init_provd,
    new_context,
    screenshot,
    sign_in,
)
from tests.pbx.conftest import NET as PBX_NET
from tests.sim.phone import (
    Behaviour,
    Provisioning,
    SimPhone,
    SipLine,
    firmware_bytes,
)

MODEL = "yealink-t46g"
OLD, NEW = "28.83.0.120", "28.83.0.130"
PHONES = 6
_TIMEOUT_S = 60.0
T = TypeVar("T")
ROLLOUT_URL = re.compile(r".*/console/rollouts/\d+$")


def _own_net() -> str:
    rng = random.Random(os.getpid() ^ time.time_ns())
    while True:
        net = f"127.{rng.randint(16, 250)}.{rng.randint(1, 254)}"
        if net != PBX_NET:
            return net


NET = _own_net()


def ip(host: int) -> str:
    return f"{NET}.{host}"


class PhoneLoop:
    """An asyncio loop in a background thread for the simulated phones."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = _TIMEOUT_S) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class Served:
    provd: Provd
    phones: list[SimPhone]
    acme_phone: SimPhone
    loop: PhoneLoop


def _phone(
    provd: Provd, k: int, ext: str, tenant: str, behaviour: Behaviour = Behaviour.NORMAL
) -> SimPhone:
    mac = f"001565c{k:05x}"
    user = provd.cli("user", "add", "--extension", ext, "--name", f"Desk {k}", "--tenant", tenant)
    device = provd.cli(
        "device", "add", "--mac", mac, "--model", MODEL, "--user", ext, "--tenant", tenant
    )
    prov = device["provisioning"]
    return SimPhone(
        mac,
        SipLine(ext, user["sip_domain"], user["sip_username"], user["sip_password"]),
        Provisioning(prov["url"], prov["username"], prov["password"], provd.data_dir / "ca.pem"),
        local=(ip(20 + k), 5100),
        proxy=(ip(1), 5060),
        version=OLD,
        behaviour=behaviour,
        # Long enough that the page sees each phone's steps, short enough for a quick test.
        reboot_s=1.0,
    )


async def _start(phones: list[SimPhone]) -> None:
    await asyncio.gather(*(p.start() for p in phones))


async def _stop(phones: list[SimPhone]) -> None:
    await asyncio.gather(*(p.stop() for p in phones), return_exceptions=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("console-rollouts")
    provd = init_provd(
        tmp,
        "--pbx",
        "--sip-address",
        ip(1),
        "--media-address",
        ip(10),
        "--rpc-address",
        ip(1),
        "--rtpengine-ng-address",
        ip(1),
    )
    provd.cli("tenant", "add", "acme", "--sip-domain", "acme.test")
    phones = [_phone(provd, k, str(300 + k), "default") for k in range(1, PHONES + 1)]
    # Switched on, but its update never happens: it comes back on the old version.
    acme_phone = _phone(provd, PHONES + 1, "401", "acme", Behaviour.NEVER_FETCH)
    for version in (OLD, NEW):
        image = tmp / f"T46-{version}.rom"
        image.write_bytes(firmware_bytes(version))
        provd.cli(
            "firmware",
            "add",
            str(image),
            "--model",
            MODEL,
            "--version",
            version,
            "--notes",
            f"Yealink T46G {version}: fixes and features",
        )
    provd.start(ready_mark="phones register at")
    loop = PhoneLoop()
    everyone = [*phones, acme_phone]
    try:
        loop.run(_start(everyone))
        yield Served(provd, phones, acme_phone, loop)
    finally:
        loop.run(_stop(everyone))
        loop.close()
        provd.stop()


def _bar(page: Page) -> tuple[float, float]:
    value, maximum = page.eval_on_selector("#rollout-bar", "e => [e.value, e.max]")
    return float(value), float(maximum)


def _counts(page: Page) -> dict[str, int]:
    cells = page.locator(".rollout-counts td").all()
    return {str(c.get_attribute("data-state")): int(c.inner_text()) for c in cells}


def test_firmware_page_marks_tested_and_pins(page: Page, served: Served) -> None:
    sign_in(page, served.provd)
    page.goto(served.provd.base_url + "/console/firmware")
    row = page.locator(f'.firmware-catalogue tr[data-version="{NEW}"]')
    expect(row.locator(".badge")).to_have_text("untested")
    assert "28.83.0.130" in row.inner_text() and "64.0 KiB" in row.inner_text()
    row.locator("button", has_text="Mark tested").click()
    page.wait_for_load_state()
    assert f"Firmware {NEW} is marked tested" in page.inner_text(".flash.ok")
    expect(row.locator(".badge")).to_have_text("tested")

    # Only tested images are offered for a pin.
    offered = page.locator("#pin-image option").all_inner_texts()
    assert offered == [f"{NEW} · {MODEL}"]
    page.select_option("#pin-level", "platform")
    page.select_option("#pin-model", MODEL)
    page.click(".pin-form button[type=submit]")
    page.wait_for_load_state()
    assert f"Pinned: {MODEL} {NEW} at platform" in page.inner_text(".flash.ok")
    model_row = page.locator(f'.firmware-models tr[data-model="{MODEL}"]')
    assert NEW in model_row.inner_text() and f"{PHONES + 1}" in model_row.inner_text()
    # A pinned image cannot be marked untested: refused, said on the page.
    row.locator("button", has_text="Mark untested").click()
    page.wait_for_load_state()
    assert "is pinned" in page.inner_text(".flash.error")
    screenshot(page, "console-firmware")

    # A device pin, for the device's own model; then cleared, after a confirmation.
    page.select_option("#pin-level", "device")
    page.fill("#pin-device", served.acme_phone.mac)
    page.click(".pin-form button[type=submit]")
    page.wait_for_load_state()
    assert f"at device {served.acme_phone.mac}" in page.inner_text(".flash.ok")
    device_pin = page.locator(".firmware-pins tr", has_text=served.acme_phone.mac)
    page.once("dialog", lambda dialog: dialog.accept())
    device_pin.locator("button", has_text="Clear").click()
    page.wait_for_load_state()
    assert "Pin removed" in page.inner_text(".flash.ok")
    pins = served.provd.cli("firmware", "list")
    assert [p["level"] for i in pins for p in i["pins"]] == ["platform"]


def test_update_a_model_to_recommended_firmware_and_watch_it_live(
    page: Page, served: Served
) -> None:
    sign_in(page, served.provd)
    page.goto(served.provd.base_url + "/console/firmware")
    form = page.locator(f'.firmware-models tr[data-model="{MODEL}"] form')
    form.locator("select[name=tenant]").select_option("default")
    form.locator("button", has_text="Update to recommended firmware").click()
    page.wait_for_load_state()
    assert f"model={MODEL}" in page.url and "tenant=default" in page.url

    # What will happen, before anything does.
    heading = page.inner_text("#preview-title")
    assert f"{PHONES} devices selected: {PHONES} to update" in heading
    target = page.locator(f'.preview-models tr[data-model="{MODEL}"]')
    assert f"{NEW} pinned: {PHONES} devices" in target.inner_text()
    assert "The phones reboot." in page.inner_text(".reboot-warning")
    screenshot(page, "console-rollout-new")
    page.fill("#start-canary", "1")
    page.fill("#start-batch", "2")
    page.fill("#start-concurrency", "1")
    page.fill("#start-timeout", "30")
    # The reboot must be confirmed: without the tick the browser does not send the form.
    page.click(".rollout-start button[type=submit]")
    assert "/console/rollouts/new" in page.url
    page.check("#confirm-reboot")
    page.click(".rollout-start button[type=submit]")
    page.wait_for_url(ROLLOUT_URL)
    rollout_id = page.url.rsplit("/", 1)[1]

    expect(page.locator("#rollout-live")).to_be_visible()
    # Mark this document: a reload would lose the mark.
    page.evaluate("window.__sameDocument = true")
    seen: list[float] = []
    deadline = time.monotonic() + _TIMEOUT_S
    while len(seen) < 3:
        value, maximum = _bar(page)
        assert maximum == PHONES
        if not seen or value != seen[-1]:
            seen.append(value)
        assert time.monotonic() < deadline, f"the bar did not move: {seen}"
        page.wait_for_timeout(100)
    assert seen == sorted(seen) and seen[-1] >= 2, seen
    assert page.evaluate("window.__sameDocument") is True
    assert _counts(page)["done"] >= 2
    screenshot(page, "console-rollout-in-progress")

    # Pause: no phone is started until resumed.
    page.click(".control-pause button")
    page.wait_for_load_state()
    expect(page.locator("#rollout-state")).to_have_text("paused")
    expect(page.locator(".control-resume")).to_be_visible()
    # The phone that was updating may finish; after that nothing moves.
    expect(page.locator("#rollout-in-flight")).to_have_text("0", timeout=_TIMEOUT_S * 1000)
    paused_at = _bar(page)[0]
    notified = sum(p.notify_count for p in served.phones)
    page.wait_for_timeout(2500)
    assert sum(p.notify_count for p in served.phones) == notified
    assert _bar(page)[0] == paused_at

    page.click(".control-resume button")
    page.wait_for_load_state()
    expect(page.locator("#rollout-state")).to_have_text("running")
    expect(page.locator("#rollout-state")).to_have_text("done", timeout=_TIMEOUT_S * 1000)
    assert _bar(page) == (PHONES, PHONES)
    expect(page.locator("#rollout-live")).to_be_hidden()
    counts = _counts(page)
    assert counts["done"] == PHONES and sum(counts.values()) == PHONES
    states = page.locator(".rollout-devices tr[data-mac]").evaluate_all(
        "rows => rows.map(r => r.dataset.state)"
    )
    assert states == ["done"] * PHONES
    expect(page.locator(".control-pause")).to_be_hidden()
    screenshot(page, "console-rollout-done")

    assert [p.version for p in served.phones] == [NEW] * PHONES
    assert [p.notify_count for p in served.phones] == [1] * PHONES
    status = served.provd.cli("rollout", "status", rollout_id)
    assert status["state"] == "done" and status["counts"]["done"] == PHONES
    assert served.acme_phone.notify_count == 0

    page.goto(served.provd.base_url + "/console/rollouts")
    row = page.locator(f'.rollout-list tr[data-rollout="{rollout_id}"]')
    assert "done" in row.inner_text() and NEW in row.inner_text()


def test_a_failing_canary_halts_and_the_page_says_why(page: Page, served: Served) -> None:
    sign_in(page, served.provd)
    page.goto(f"{served.provd.base_url}/console/rollouts/new?model={MODEL}&tenant=acme")
    assert "1 device selected: 1 to update" in page.inner_text("#preview-title")
    page.fill("#start-canary", "1")
    page.fill("#start-timeout", "4")
    page.check("#confirm-reboot")
    page.click(".rollout-start button[type=submit]")
    page.wait_for_url(ROLLOUT_URL)
    expect(page.locator("#rollout-state")).to_have_text("halted", timeout=_TIMEOUT_S * 1000)
    reason = page.locator("#rollout-reason")
    expect(reason).to_be_visible()
    assert "canary" in reason.inner_text()
    row = page.locator(f'tr[data-mac="{served.acme_phone.mac}"]')
    expect(row).to_have_attribute("data-state", "timed_out")
    assert f"not back on {NEW}" in row.inner_text()
    # A halted rollout is over: no control is offered.
    for control in ("pause", "resume", "cancel"):
        expect(page.locator(f".control-{control}")).to_be_hidden()


def test_new_rollout_from_a_fleet_selection_lists_the_macs(page: Page, served: Served) -> None:
    sign_in(page, served.provd)
    # From the rollouts list: choose what to update first.
    page.goto(f"{served.provd.base_url}/console/rollouts")
    page.click("text=New rollout")
    page.wait_for_load_state()
    assert page.locator(".rollout-preview").count() == 0
    page.select_option("#new-model", MODEL)
    page.click(".rollout-selection button[type=submit]")
    page.wait_for_load_state()
    assert f"{PHONES + 1} devices selected" in page.inner_text("#preview-title")

    macs = [p.mac for p in served.phones[:2]]
    query = "&".join(f"mac={m}" for m in macs)
    page.goto(f"{served.provd.base_url}/console/rollouts/new?{query}")
    assert "2 devices chosen in the fleet view" in page.inner_text(".rollout-selection")
    # They already run the pinned version: nothing to do, nothing offered to start.
    assert "2 devices selected: 0 to update" in page.inner_text("#preview-title")
    assert page.locator(".rollout-start").count() == 0
    assert "Nothing to update" in page.inner_text(".flash.ok")


def test_a_rollout_page_shows_its_state_without_javascript(
    browser: Browser, console_errors: ConsoleErrors, served: Served
) -> None:
    context = new_context(browser, java_script_enabled=False)
    page = console_errors.watch(context.new_page())
    try:
        sign_in(page, served.provd)
        page.goto(served.provd.base_url + "/console/rollouts/1")
        assert page.inner_text("#rollout-state") == "done"
        assert _bar(page) == (PHONES, PHONES)
        assert _counts(page)["done"] == PHONES
        assert page.locator(".rollout-devices tr[data-state=done]").count() == PHONES
    finally:
        context.close()
    assert console_errors.take() == []
