"""Every command that takes a path takes it relative to where it is typed, and nothing it
keeps or hands to another process depends on that directory afterwards."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from provd.cli import cli
from provd.security.tls import ensure_certificates
from provd.web import server as web_server
from tests.conftest import InitDataDir
from tests.firmware.images import image_bytes

MAC = "0015654aa937"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, init_data_dir: InitDataDir) -> Path:
    """Commands are typed in ``site/work`` against ``../data``."""
    work = tmp_path / "site" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    init_data_dir(tmp_path / "site" / "data")
    # init, too, takes ../data from the directory it is typed in: it finds the copy of the
    # session's one real init (tests/conftest.py) just made there.
    again = provd("init", "--public-host", "provd.test", "--json")
    assert again.exit_code == 1
    assert json.loads(again.stdout)["error"]["message"] == (
        f"{tmp_path / 'site' / 'data'} is already initialised"
    )
    provd_ok("user", "add", "--extension", "201", "--name", "Front Desk")
    provd_ok("device", "add", "--mac", MAC, "--model", "yealink-t46g", "--user", "201")
    return tmp_path / "site"


def provd(*args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", "../data", *args], catch_exceptions=False)


def provd_ok(*args: str) -> Any:
    result = provd(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_same_relative_data_dir_from_elsewhere_is_another_one(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert [d["mac"] for d in provd_ok("device", "list")] == [MAC]
    # From another directory "../data" names another, uninitialised directory.
    (site / "work" / "deeper").mkdir()
    monkeypatch.chdir(site / "work" / "deeper")
    refused = provd("device", "list")
    assert refused.exit_code == 1
    assert f"{site / 'work' / 'data'} is not initialised" in refused.output


def test_firmware_add_reads_a_relative_file(site: Path) -> None:
    rom = image_bytes("28.83.0.130")
    Path("T46-28.83.0.130.rom").write_bytes(rom)
    add = ["T46-28.83.0.130.rom", "--model", "yealink-t46g", "--version", "28.83.0.130"]
    added = provd_ok("firmware", "add", *add)
    assert added["created"] and added["filename"] == "T46-28.83.0.130.rom"
    assert (site / "data" / "firmware" / added["sha256"]).read_bytes() == rom


def test_device_export_import_and_sheet_write_and_read_relative_files(site: Path) -> None:
    Path("out").mkdir()
    wrote = provd("device", "export", "-o", "out/devices.csv")
    assert wrote.exit_code == 0, wrote.output
    exported = (site / "work" / "out" / "devices.csv").read_text()
    assert MAC in exported
    again = provd_ok("device", "import", "out/devices.csv")
    assert (again["added"], again["unchanged"]) == (0, 1)
    sheet = provd_ok("sheet", "default", "-o", "sheet.html")
    assert (site / "work" / "sheet.html").read_text().count('class="claim-qr"') == 1
    assert Path(sheet["file"]).resolve() == site / "work" / "sheet.html"


def test_serve_makes_certificate_and_export_paths_absolute(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve`` hands its paths to the server, the PBX and the settings it reports; each
    must name the file the admin meant, whatever directory a later step runs in."""
    made = ensure_certificates(site / "certs", ["provd.test"], [])
    Path("tls").mkdir()
    Path("tls/chain.pem").write_bytes(Path(made.cert).read_bytes())
    Path("tls/key.pem").write_bytes(Path(made.key).read_bytes())
    seen: dict[str, Any] = {}

    async def fake_server(data_dir: Path, settings: Any, **kwargs: Any) -> None:
        seen.update(data_dir=data_dir, settings=settings, **kwargs)

    monkeypatch.setattr(web_server, "serve", fake_server)
    args = ["--tls-cert", "tls/chain.pem", "--tls-key", "tls/key.pem"]
    args += ["--pbx-external", "--pbx-export-dir", "kamailio", "--sip-address", "127.0.0.1"]
    result = provd("serve", *args)
    assert result.exit_code == 0, result.output
    work = site / "work"
    assert seen["data_dir"] == site / "data"
    assert seen["settings"].tls_cert == str(work / "tls" / "chain.pem")
    assert seen["settings"].tls_key == str(work / "tls" / "key.pem")
    assert seen["pbx_export_dir"] == work / "kamailio"
    assert seen["pbx"].settings.data_dir == site / "data"
    # Nothing was created relative to the directory the command ran in.
    assert sorted(os.listdir(work)) == ["tls"]
