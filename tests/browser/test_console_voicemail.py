"""Voicemail in a real Chromium against a real ``provd serve``: a message filed in the
mailbox of user 201 is listed on the console's Voicemail page with its caller and a
player that loads the stored WAV; the admin marks it heard, is refused a bad copy address
on its field, sets a good one, and removes the message after confirming; a PIN is
refused on its field, set and cleared, and a greeting picked among the tenant's sounds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from playwright.sync_api import Page

from tests.browser.harness import Provd, screenshot, sign_in
from tests.services.menus.audio import tone_wav

_FILE = """
import sys
from pathlib import Path

from provd.cli.main import CliState, run_with_db
from provd.db.models import Tenant
from provd.services import voicemail
from tests.services.voicemail.spool import spool_message


async def work(p):
    media = p.data_dir / "pbx" / "media"
    domain = (await Tenant.get(slug="default")).sip_domain
    spool_message(media, domain, "201")
    return await voicemail.ingest(media, p.data_dir)


run_with_db(CliState(Path(sys.argv[1]), None), True, work)
"""


def _file_a_message(provd: Provd) -> None:
    """A message spooled as the media application writes one and filed by the service
    serve's collector runs (no media application here)."""
    root = Path(__file__).resolve().parents[2]
    subprocess.run(
        [sys.executable, "-c", _FILE, str(provd.data_dir)], cwd=root, check=True, timeout=60
    )


def test_an_admin_hears_and_removes_a_message_and_sets_the_copy_address(
    page: Page, provd_server: Provd
) -> None:
    provd_server.cli("user", "add", "--extension", "201", "--name", "Reception")
    _file_a_message(provd_server)
    sign_in(page, provd_server)
    page.goto(provd_server.base_url + "/console/")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("nav a[href='/console/voicemail']")
    page.wait_for_url("**/console/voicemail")

    box = page.locator("section[data-mailbox='201']")
    row = box.locator("tr[data-message]")
    assert row.count() == 1
    assert row.locator("td.caller").inner_text() == "Jan Jansen +31612345678"
    assert row.locator("td.state").inner_text() == "new"
    player = row.locator("audio")
    player.evaluate("a => { a.preload = 'auto'; a.load(); }")
    page.wait_for_function("a => a.readyState >= 1", arg=player.element_handle())
    assert 0.1 < float(player.evaluate("a => a.duration")) < 0.3
    screenshot(page, "console-voicemail")

    row.locator("form.message-heard button").click()
    page.wait_for_url("**/console/voicemail?*heard=*")
    assert page.locator("tr[data-message] td.state").inner_text() == "heard"
    [listed] = provd_server.cli("voicemail", "list", "default")
    assert listed["heard"] is True

    page.fill("#m201-email", "not an address")
    box.locator("form.email-form button").click()
    page.wait_for_load_state()
    assert "is not an e-mail address" in page.inner_text("#m201-e-email")
    page.fill("#m201-email", "desk@example.com")
    page.locator("section[data-mailbox='201'] form.email-form button").click()
    page.wait_for_url("**/console/voicemail?*emailed=201*")
    assert page.input_value("#m201-email") == "desk@example.com"

    page.locator("tr[data-message] form.message-remove button").click()
    page.wait_for_url("**/console/voicemail?*removed=*")
    assert page.locator("tr[data-message]").count() == 0
    assert provd_server.cli("voicemail", "list", "default") == []


def test_an_admin_sets_a_pin_is_refused_a_weak_one_and_picks_a_greeting(
    page: Page, provd_server: Provd, tmp_path: Path
) -> None:
    provd_server.cli("user", "add", "--extension", "202", "--name", "Sales")
    wav = tmp_path / "hello.wav"
    wav.write_bytes(tone_wav(0.5))
    provd_server.cli("sounds", "add", "default", "hello", str(wav))
    sign_in(page, provd_server)
    page.goto(provd_server.base_url + "/console/voicemail")
    box = page.locator("section[data-mailbox='202']")
    assert "none: *1233 is refused" in box.locator(".pin-state").inner_text()

    page.fill("#m202-pin", "1111")
    box.locator("form.pin-form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "one digit repeated" in page.inner_text("#m202-e-pin")
    assert page.input_value("#m202-pin") == ""  # what was typed is not sent back
    assert provd_server.cli("voicemail", "show", "default", "202")["pin_set"] is False

    page.fill("#m202-pin", "4711")
    page.locator("section[data-mailbox='202'] form.pin-form button[type=submit]").first.click()
    page.wait_for_url("**/console/voicemail?*pin=202*")
    assert page.locator("section[data-mailbox='202'] .pin-state").inner_text() == "(set)"
    assert provd_server.cli("voicemail", "show", "default", "202")["pin_set"] is True

    page.select_option("#m202-greeting", "hello")
    page.locator("section[data-mailbox='202'] form.greeting-form button").click()
    page.wait_for_url("**/console/voicemail?*greeted=202*")
    assert page.input_value("#m202-greeting") == "hello"
    assert provd_server.cli("voicemail", "show", "default", "202")["greeting"] == "hello"

    page.locator("section[data-mailbox='202'] button.pin-clear").click()
    page.wait_for_url("**/console/voicemail?*pin_cleared=202*")
    assert provd_server.cli("voicemail", "show", "default", "202")["pin_set"] is False
