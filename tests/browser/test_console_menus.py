"""IVR menus and their sounds in a real Chromium against a real ``provd serve``: an admin
uploads an MP3 made by ffmpeg and sees it listed with its duration and a player that
loads the stored WAV, makes a menu whose key 1 transfers to a user with a default,
assigns a number to it on the numbers page, is refused the sound's removal while the
menu plays it and the menu's while the number points at it, then releases the number
and removes the menu and the sound. Each form's bad input (a file that
is not audio, a key's destination that does not exist) is shown on its field with
nothing stored."""

from __future__ import annotations

import subprocess
from pathlib import Path

from playwright.sync_api import Page

from tests.browser.harness import Provd, screenshot, sign_in

NUMBER = "+31201234503"


def _tone(tmp: Path) -> Path:
    """A second of 440 Hz as MP3, as a recording is often handed over."""
    path = tmp / "welcome.mp3"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
         "-i", "sine=frequency=440:duration=1", "-ac", "2", "-ar", "44100", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def _go(page: Page, label: str, path: str) -> None:
    page.click(f"nav a[href='{path}']")
    page.wait_for_url(f"**{path}")
    assert page.locator("h1").inner_text().startswith(label)


def _menu_form(page: Page) -> None:
    page.fill("#a-extension", "700")
    page.fill("#a-name", "Main")
    page.select_option("#a-greeting", "welcome")
    page.select_option("#a-default-kind", "user")
    page.fill("#a-default-key", "202")
    page.select_option("#a-key-1-action", "transfer")
    page.select_option("#a-key-1-kind", "user")


def test_an_admin_sets_up_a_menu_and_its_greeting_from_the_console(
    page: Page, provd_server: Provd, tmp_path: Path
) -> None:
    for extension, name in (("201", "Reception"), ("202", "Operator")):
        provd_server.cli("user", "add", "--extension", extension, "--name", name)
    provd_server.cli("number", "add", "020 123 4500", "--count", "10")
    sign_in(page, provd_server)
    page.goto(provd_server.base_url + "/console/")
    page.on("dialog", lambda dialog: dialog.accept())

    _go(page, "Sounds", "/console/sounds")
    page.fill("#s-name", "noise")
    not_audio = tmp_path / "notes.txt"
    not_audio.write_text("no recording here\n")
    page.set_input_files("#s-file", str(not_audio))
    page.click("#add-sound button[type=submit]")
    page.wait_for_load_state()
    assert "is not audio that can be read" in page.inner_text("#e-file")
    assert page.input_value("#s-name") == "noise"
    assert page.locator("tr[data-sound]").count() == 0
    assert provd_server.cli("sounds", "list", "default") == []

    page.fill("#s-name", "welcome")
    page.set_input_files("#s-file", str(_tone(tmp_path)))
    page.click("#add-sound button[type=submit]")
    page.wait_for_url("**/console/sounds?*added=welcome*")
    assert "Sound welcome added." in page.inner_text(".flash.ok")
    row = page.locator("tr[data-sound='welcome']")
    # ffmpeg's MP3 frames may pad the end by some milliseconds.
    assert row.locator("td.duration").inner_text() in ("1.0 s", "1.1 s")
    player = row.locator("audio")
    player.evaluate("a => { a.preload = 'auto'; a.load(); }")
    page.wait_for_function("a => a.readyState >= 1", arg=player.element_handle())
    assert 0.9 < float(player.evaluate("a => a.duration")) < 1.2
    screenshot(page, "console-sounds")

    _go(page, "Menus", "/console/menus")
    _menu_form(page)
    page.fill("#a-key-1-key", "299")
    page.click("#add-menu button[type=submit]")
    page.wait_for_load_state()
    assert "user '299 in tenant default' not found" in page.inner_text("#a-key-1-error")
    assert page.input_value("#a-name") == "Main"
    assert page.locator("tr[data-menu]").count() == 0
    assert provd_server.cli("menus", "list", "default") == []

    page.fill("#a-key-1-key", "201")
    page.click("#add-menu button[type=submit]")
    page.wait_for_url("**/console/menus?*added=700*")
    assert "Menu 700 added." in page.inner_text(".flash.ok")
    listed = page.locator("tr[data-menu='700'] td").all_inner_texts()
    assert listed == ["700", "Main", "welcome", "1", "user 202 (Operator)", "none"]
    card = page.locator("section[data-menu='700']")
    assert card.locator("dd.keys").inner_text() == "1 to user 201 (Reception)"
    screenshot(page, "console-menus")

    _go(page, "Numbers", "/console/numbers")
    number = page.locator(f"tr[data-number='{NUMBER}']")
    number.locator("select[name=target]").select_option("menu:700")
    number.locator("button[type=submit]").click()
    page.wait_for_url("**/console/numbers?assigned=*")
    assert page.locator(f"tr[data-number='{NUMBER}'] td.use").inner_text() == (
        "in use by menu 700 (Main)"
    )
    view = provd_server.cli("menus", "show", "default", "700")
    assert view["numbers"] == [NUMBER]
    assert view["keys"]["1"]["text"] == "user:201" and view["default"]["text"] == "user:202"

    _go(page, "Sounds", "/console/sounds")
    page.click("tr[data-sound='welcome'] form.sound-remove button")
    page.wait_for_load_state()
    assert "is in use by menu 700's greeting" in page.inner_text(".flash.error")
    assert page.locator("tr[data-sound='welcome']").count() == 1

    # The menu is kept while its number points at it, and goes once the number is
    # released; then its sound can go.
    _go(page, "Menus", "/console/menus")
    page.click("section[data-menu='700'] form.menu-remove button")
    page.wait_for_load_state()
    refusal = page.inner_text(".flash.error")
    assert refusal.startswith("Menu 700 was kept") and NUMBER in refusal, refusal
    assert page.locator("tr[data-menu='700']").count() == 1
    page.goto(provd_server.base_url + "/console/numbers")
    page.click(f"tr[data-number='{NUMBER}'] form.release-form button")
    page.wait_for_url("**/console/numbers?released=*")
    _go(page, "Menus", "/console/menus")
    page.click("section[data-menu='700'] form.menu-remove button")
    page.wait_for_url("**/console/menus?*removed=700*")
    assert page.locator("tr[data-menu]").count() == 0
    _go(page, "Sounds", "/console/sounds")
    page.click("tr[data-sound='welcome'] form.sound-remove button")
    page.wait_for_url("**/console/sounds?*removed=welcome*")
    assert page.locator("tr[data-sound]").count() == 0
    assert provd_server.cli("menus", "list", "default") == []
    assert provd_server.cli("sounds", "list", "default") == []
