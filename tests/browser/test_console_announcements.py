"""Announcements and music on hold in a real Chromium against a real ``provd serve``: an
admin with a sound (uploaded with the CLI) adds an announcement from the Announcements
page, is shown a refused play count on its field with nothing stored, assigns a number
to it on the numbers page, is refused its removal while the number points at it, then
releases the number and removes it; on the Sounds page the admin makes the sound the
tenant's music on hold and goes back to the default."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from tests.browser.harness import Provd, screenshot, sign_in
from tests.services.menus.audio import tone_wav

NUMBER = "+31201234503"


def _go(page: Page, label: str, path: str) -> None:
    page.click(f"nav a[href='{path}']")
    page.wait_for_url(f"**{path}")
    assert page.locator("h1").inner_text().startswith(label)


def test_an_admin_sets_up_an_announcement_from_the_console(
    page: Page, provd_server: Provd, tmp_path: Path
) -> None:
    wav = tmp_path / "closed.wav"
    wav.write_bytes(tone_wav(0.5))
    provd_server.cli("sounds", "add", "default", "closed", str(wav))
    provd_server.cli("number", "add", "020 123 4500", "--count", "10")
    sign_in(page, provd_server)
    page.goto(provd_server.base_url + "/console/")
    page.on("dialog", lambda dialog: dialog.accept())

    _go(page, "Announcements", "/console/announcements")
    page.fill("#a-extension", "800")
    page.fill("#a-name", "Closed")
    page.select_option("#a-sound", "closed")
    page.fill("#a-plays", "9")
    page.click("#add-announcement button[type=submit]")
    page.wait_for_load_state()
    assert "from 1 to 5" in page.inner_text("#a-e-plays")
    assert page.input_value("#a-name") == "Closed"
    assert page.locator("tr[data-announcement]").count() == 0
    assert provd_server.cli("announcements", "list", "default") == []

    page.fill("#a-plays", "2")
    page.click("#add-announcement button[type=submit]")
    page.wait_for_url("**/console/announcements?*added=800*")
    assert "Announcement 800 added." in page.inner_text(".flash.ok")
    listed = page.locator("tr[data-announcement='800'] td").all_inner_texts()
    assert listed == ["800", "Closed", "closed", "2", "none"]
    screenshot(page, "console-announcements")

    _go(page, "Numbers", "/console/numbers")
    number = page.locator(f"tr[data-number='{NUMBER}']")
    number.locator("select[name=target]").select_option("announcement:800")
    number.locator("button[type=submit]").click()
    page.wait_for_url("**/console/numbers?assigned=*")
    assert page.locator(f"tr[data-number='{NUMBER}'] td.use").inner_text() == (
        "in use by announcement 800 (Closed)"
    )
    assert provd_server.cli("announcements", "show", "default", "800")["numbers"] == [NUMBER]

    _go(page, "Announcements", "/console/announcements")
    page.click("section[data-announcement='800'] form.announcement-remove button")
    page.wait_for_load_state()
    assert f"is in use by number {NUMBER}" in page.inner_text(".flash.error")
    assert page.locator("tr[data-announcement='800']").count() == 1

    _go(page, "Numbers", "/console/numbers")
    page.click(f"tr[data-number='{NUMBER}'] form.release-form button")
    page.wait_for_url("**/console/numbers?released=*")
    _go(page, "Announcements", "/console/announcements")
    page.click("section[data-announcement='800'] form.announcement-remove button")
    page.wait_for_url("**/console/announcements?*removed=800*")
    assert page.locator("tr[data-announcement]").count() == 0
    assert provd_server.cli("announcements", "list", "default") == []

    _go(page, "Sounds", "/console/sounds")
    assert "The default music" in page.inner_text("#moh-now")
    page.select_option("#moh-1", "closed")
    page.click("#moh-form button[type=submit]")
    page.wait_for_url("**/console/sounds?*moh=saved*")
    assert "Music on hold saved." in page.inner_text(".flash.ok")
    assert "hears closed (0.5 s)" in page.inner_text("#moh-now")
    assert provd_server.cli("moh", "show")["sounds"] == ["closed"]
    screenshot(page, "console-sounds-moh")
    page.click("#moh-clear button")
    page.wait_for_url("**/console/sounds?*moh=back*")
    assert "The default music" in page.inner_text("#moh-now")
    assert provd_server.cli("moh", "show")["sounds"] == []
