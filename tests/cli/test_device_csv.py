"""`provd device import|export` and `provd sheet`: exit codes, every error by row and
column, nothing written on a bad file, export → import as a no-op."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from provd.cli import cli
from tests.cli.runner import run
from tests.conftest import PreparedDataDir

HEADER = "mac,model,tenant,extension,lines,vlan_lan,vlan_pc,expansion_modules,name"


def _prepare(d: Path, info: dict[str, Any]) -> None:
    assert run(d, "tenant", "add", "acme").exit_code == 0
    for ext, name in (("201", "Anna"), ("202", "Bram")):
        assert run(d, "user", "add", "--extension", ext, "--name", name).exit_code == 0
        assert run(d, "user", "add", "--tenant", "acme", "--extension", ext, "--name", name)


@pytest.fixture
def data_dir(tmp_path: Path, prepared_data_dir: PreparedDataDir) -> Path:
    return prepared_data_dir(tmp_path / "data", _prepare)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def write(tmp_path: Path, text: str, name: str = "devices.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return str(path)


def export(data_dir: Path, *args: str) -> str:
    return ok(run(data_dir, "device", "export", *args)).output


def test_a_bad_file_exits_1_with_every_error_and_writes_nothing(
    data_dir: Path, tmp_path: Path
) -> None:
    before = export(data_dir)
    audit_before = ok(run(data_dir, "device", "list", "--json")).output
    file = write(
        tmp_path,
        f"{HEADER}\n"
        "0015654aa937,yealink-t46g,default,201,2=202,,,,Good\n"
        "0015654aa9,yealink-t46g,default,,,,,,\n"
        "0015654aa938,yealink-t46g,default,299,,100:9,,,\n",
    )
    result = CliRunner().invoke(
        cli, ["--data-dir", str(data_dir), "device", "import", file], catch_exceptions=False
    )
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines == [
        "row 3, column mac: '0015654aa9' is not a MAC address: it must be 12 hexadecimal digits",
        "row 4, column vlan_lan: VLAN priority 9 is out of range 0-7",
        "row 4, column extension: user 299 not found in tenant default",
        "error: 3 error(s) in the file; nothing was imported",
    ]
    assert export(data_dir) == before
    assert ok(run(data_dir, "device", "list", "--json")).output == audit_before

    as_json = run(data_dir, "device", "import", file, "--json")
    assert as_json.exit_code == 1
    body = json.loads(as_json.stdout)
    assert body["error"] == {"field": "mac", "row": 3, "message": lines[0].split(": ", 1)[1]}
    assert [(e["row"], e["column"]) for e in body["errors"]] == [
        (3, "mac"),
        (4, "vlan_lan"),
        (4, "extension"),
    ]


def test_import_dry_run_export_and_reimport(data_dir: Path, tmp_path: Path) -> None:
    text = (
        "MAC;Model;Extension;Lines;VLAN_PC\r\n"
        '00:15:65:4a:a9:37;yealink-t46g;201;"2=202";off\r\n'
        "00-04-13-92-2D-24;snom-d785;202;;\r\n"
    )
    file = write(tmp_path, "\ufeff" + text)
    dry = ok(run(data_dir, "device", "import", file, "--dry-run"))
    assert dry.output.strip() == "dry run, nothing written: 2 added, 0 updated, 0 unchanged"
    assert export(data_dir).splitlines() == [HEADER]
    done = ok(run(data_dir, "device", "import", file))
    assert done.output.strip() == "2 added, 0 updated, 0 unchanged"
    # No generated password is printed for devices added in bulk.
    device = json.loads(ok(run(data_dir, "device", "credentials", "0015654aa937", "--json")).output)
    assert device["password"] not in done.output

    out = tmp_path / "export.csv"
    wrote = ok(run(data_dir, "device", "export", "-o", str(out)))
    assert wrote.output.strip() == f"Wrote 2 device(s) to {out}"
    assert out.read_bytes().decode().splitlines() == export(data_dir).splitlines()
    assert out.read_bytes().endswith(b"\r\n")
    assert out.read_bytes().splitlines() == [
        HEADER.encode(),
        b"000413922d24,snom-d785,default,202,,,,0,",
        b"0015654aa937,yealink-t46g,default,201,2=202,,off,0,",
    ]
    again = ok(run(data_dir, "device", "import", str(out), "--json"))
    assert json.loads(again.output) | {"changes": []} == {
        "added": 0,
        "updated": 0,
        "unchanged": 2,
        "dry_run": False,
        "changes": [],
    }
    stdin = CliRunner().invoke(
        cli,
        ["--data-dir", str(data_dir), "device", "import", "-"],
        input=out.read_bytes(),
        catch_exceptions=False,
    )
    assert stdin.exit_code == 0 and stdin.output.strip() == "0 added, 0 updated, 2 unchanged"


def test_tenant_option_confines_import_and_export(data_dir: Path, tmp_path: Path) -> None:
    file = write(tmp_path, "mac,model,tenant,extension\n0015654aa937,yealink-t46g,,201\n")
    ok(run(data_dir, "device", "import", file, "--tenant", "acme"))
    assert (
        export(data_dir, "--tenant", "acme")
        .splitlines()[1]
        .startswith("0015654aa937,yealink-t46g,acme,201")
    )
    assert export(data_dir, "--tenant", "default").splitlines() == [HEADER]
    other = write(tmp_path, "mac,model,tenant\n0015654aa938,yealink-t46g,default\n", "o.csv")
    refused = run(data_dir, "device", "import", other, "--tenant", "acme")
    assert refused.exit_code == 1
    assert "row 2, column tenant: this import is for tenant acme only" in refused.stderr
    missing = run(data_dir, "device", "import", file, "--tenant", "nowhere")
    assert missing.exit_code == 1 and "tenant 'nowhere' not found" in missing.stderr
    unreadable = run(data_dir, "device", "import", str(tmp_path / "absent.csv"))
    assert unreadable.exit_code in (1, 2) and "absent.csv" in unreadable.output


def test_sheet_writes_a_standalone_page_with_a_card_per_user(
    data_dir: Path, tmp_path: Path
) -> None:
    add = ["--mac", "0015654aa937", "--model", "yealink-t46g", "--user", "201"]
    ok(run(data_dir, "device", "add", *add))
    out = tmp_path / "sheet.html"
    done = ok(run(data_dir, "sheet", "default", "-o", str(out), "--model", "snom-d785", "--json"))
    assert json.loads(done.output) == {"tenant": "default", "cards": 2, "file": str(out)}
    html = out.read_text()
    assert "<style>" in html and "@page" in html
    assert "<link" not in html and "<script" not in html
    assert len(re.findall(r'<img class="claim-qr" src="data:image/svg\+xml', html)) == 2
    assert "00:15:65:4a:a9:37" in html
    assert "install/?tenant=default&amp;extension=201&amp;model=yealink-t46g" in html
    assert "install/?tenant=default&amp;extension=202&amp;model=snom-d785" in html
    missing = run(data_dir, "sheet", "nowhere")
    assert missing.exit_code == 1 and "tenant 'nowhere' not found" in missing.output
