"""The CSV page and the claim sheet in a real Chromium: a file with one bad row shows
the row and column and imports nothing, a good file shows the counts, the export
downloads the same columns, the sheet's QR codes decode to the claim URLs."""

from __future__ import annotations

import csv
import io

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.harness import ConsoleErrors, Provd, screenshot, sign_in

COLUMNS = "mac,model,tenant,extension,lines,vlan_lan,vlan_pc,expansion_modules,name"
INSTALLER_PASSWORD = "Install-3r-pass"


@pytest.fixture(scope="module")
def people(provd_server: Provd) -> Provd:
    provd_server.cli("tenant", "add", "acme")
    for tenant in ("default", "acme"):
        for ext, name in (("201", "Anna Jansen"), ("202", "Bram de Vries"), ("203", "Cor")):
            provd_server.cli("user", "add", "--tenant", tenant, "--extension", ext, "--name", name)
    provd_server.cli(
        "account",
        "add",
        "ian",
        "--role",
        "installer",
        "--tenant",
        "acme",
        "--password-stdin",
        stdin=INSTALLER_PASSWORD + "\n",
    )
    return provd_server


def upload(page: Page, name: str, text: str, *, dry_run: bool = False) -> None:
    page.set_input_files(
        "#csv-file", {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    )
    page.set_checked("input[name=dry_run]", dry_run)
    with page.expect_navigation():
        page.click("#csv-import")


def exported(provd: Provd, tenant: str) -> list[str]:
    return str(provd.cli("device", "export", "--tenant", tenant)["csv"]).splitlines()


def test_one_bad_row_imports_nothing_and_a_good_file_shows_counts(
    page: Page, people: Provd
) -> None:
    sign_in(page, people)
    page.goto(people.base_url + "/install/devices?tenant=default")
    expect(page.locator("h1")).to_contain_text("Devices as CSV")
    before = exported(people, "default")
    bad = (
        f"{COLUMNS}\n"
        "0015654aa937,yealink-t46g,default,201,2=202,,,,Reception\n"
        "0015654aa93,yealink-t46g,default,202,,,,,\n"
        "000413922d24,snom-d785,default,203,,,,1,\n"
    )
    upload(page, "bad.csv", bad)
    rows = page.locator("#csv-errors tbody tr")
    expect(rows).to_have_count(1)
    cells = rows.first.locator("td")
    expect(cells.nth(0)).to_have_text("3")
    expect(cells.nth(1)).to_have_text("mac")
    expect(cells.nth(2)).to_contain_text("12 hexadecimal digits")
    expect(page.locator(".flash.error")).to_contain_text(
        "bad.csv: 1 error(s); nothing was imported"
    )
    screenshot(page, "devices-csv-errors")
    assert exported(people, "default") == before

    good = bad.replace("0015654aa93,", "0015654aa938,")
    upload(page, "good.csv", good, dry_run=True)
    expect(page.locator("#csv-result-title")).to_have_text("Dry run: nothing was written")
    assert exported(people, "default") == before
    upload(page, "good.csv", good)
    expect(page.locator("#csv-counts")).to_contain_text("3 added")
    expect(page.locator("#csv-counts")).to_contain_text("0 updated")
    expect(page.locator("#csv-changes tbody tr")).to_have_count(3)
    screenshot(page, "devices-csv-imported")
    upload(page, "good.csv", good)
    expect(page.locator(".flash.ok")).to_have_text("good.csv: 0 added, 0 updated, 3 unchanged.")


def test_export_downloads_the_same_columns_and_reimports(page: Page, people: Provd) -> None:
    people.cli(
        "device",
        "import",
        "-",
        stdin=f"{COLUMNS}\n0015654aa940,yealink-t48g,default,203,,100:5,off,2,Lobby\n",
    )
    sign_in(page, people)
    page.goto(people.base_url + "/install/devices?tenant=default")
    with page.expect_download() as info:
        page.click("#csv-export")
    download = info.value
    assert download.suggested_filename == "devices-default.csv"
    text = download.path().read_bytes().decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert ",".join(rows[0]) == COLUMNS
    assert [
        "0015654aa940",
        "yealink-t48g",
        "default",
        "203",
        "",
        "100:5",
        "off",
        "2",
        "Lobby",
    ] in rows
    assert text.splitlines() == exported(people, "default")
    upload(page, "devices-default.csv", text)
    expect(page.locator(".flash.ok")).to_contain_text("0 added, 0 updated")


def _decode(png: bytes) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_the_sheet_has_a_card_per_user_with_a_qr_that_decodes(page: Page, people: Provd) -> None:
    sign_in(page, people)
    page.goto(people.base_url + "/install/sheet?tenant=acme&model=yealink-t46g")
    cards = page.locator(".claim-card")
    expect(cards).to_have_count(3)
    expect(page.locator("img.claim-qr")).to_have_count(3)
    for i in range(3):
        card = cards.nth(i)
        url = card.locator(".claim-url").inner_text()
        ext = card.locator(".claim-ext").inner_text()
        assert url == (f"{people.base_url}/install/?tenant=acme&extension={ext}&model=yealink-t46g")
        assert _decode(card.locator("img.claim-qr").screenshot()) == [url]
        expect(card.locator(".claim-code")).to_contain_text(f"acme {ext} yealink-t46g")
    loaded = page.evaluate(
        "[...document.querySelectorAll('img.claim-qr')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert loaded
    expect(page.locator("#print-sheet")).to_be_visible()
    screenshot(page, "claim-sheet")
    page.emulate_media(media="print")
    expect(page.locator(".sheet-controls")).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()
    screenshot(page, "claim-sheet-print")


def test_an_installer_on_a_phone_works_in_their_own_tenant_only(
    phone_page: Page, people: Provd, console_errors: ConsoleErrors
) -> None:
    page = phone_page
    sign_in(page, people, "ian", INSTALLER_PASSWORD)
    page.goto(people.base_url + "/install/devices")
    expect(page.locator("h1")).to_contain_text("acme")
    expect(page.locator("#csv-tenant-choice")).to_have_count(0)
    upload(
        page,
        "mixed.csv",
        f"{COLUMNS}\n0015654aa950,yealink-t46g,default,201,,,,,\n"
        "0015654aa951,yealink-t46g,,299,,,,,\n",
    )
    rows = page.locator("#csv-errors tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("tenant")
    expect(rows.nth(1).locator("td").nth(1)).to_have_text("extension")
    screenshot(page, "devices-csv-installer-phone")
    upload(page, "acme.csv", f"{COLUMNS}\n0015654aa950,yealink-t46g,,201,,,,,\n")
    expect(page.locator("#csv-counts")).to_contain_text("1 added")
    assert exported(people, "acme")[1:] == ["0015654aa950,yealink-t46g,acme,201,,,,0,"]
    page.click("#csv-sheet")
    page.wait_for_url("**/install/sheet?tenant=acme")
    expect(page.locator(".claim-card")).to_have_count(3)
    expect(page.locator(".claim-card.claimed")).to_contain_text("00:15:65:4a:a9:50")
    expect(page.locator("#sheet-tenant")).to_have_count(0)
    screenshot(page, "claim-sheet-installer-phone")
    # Another tenant's sheet or devices look exactly like a tenant that does not exist.
    console_errors.allow("404")
    for path in ("/install/sheet?tenant=default", "/install/devices?tenant=nowhere"):
        response = page.goto(people.base_url + path)
        assert response is not None and response.status == 404
        assert "Anna" not in page.content()
