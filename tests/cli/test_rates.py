"""`provd rates list|import|export`: a table replaced whole or not at all, every error
by row and column, and an export that imports back unchanged."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli.runner import run

GOOD = "match,price_per_minute,setup_fee,increment\n+3197,0.30,,60/1\nmobile,0.10,0.05,\n"


def _count(data_dir: Path, sql: str) -> int:
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        return int(db.execute(sql).fetchone()[0])


def test_list_shows_the_shipped_table_until_one_is_imported(data_dir: Path) -> None:
    listed = run(data_dir, "rates", "list")
    assert listed.exit_code == 0, listed.output
    assert "example table shipped with provd" in listed.output
    assert "international" in listed.output
    view = json.loads(run(data_dir, "rates", "list", "--json").output)
    assert view["source"] == "shipped" and view["tenant"] is None

    imported = run(data_dir, "rates", "import", "-", stdin=GOOD)
    assert imported.exit_code == 0, imported.output
    # Compared with the shipped table it replaces.
    assert "1 added, 1 changed, 7 removed" in imported.output
    lines = run(data_dir, "rates", "list").output.splitlines()
    assert lines[0] == "Platform rates"
    assert lines[1].split() == ["MATCH", "PER", "MINUTE", "SETUP", "FEE", "INCREMENT", "CURRENCY"]
    assert lines[2].split() == ["+3197", "0.3000", "0.0000", "60/1", "EUR"]
    assert lines[3].split() == ["mobile", "0.1000", "0.0500", "1/1", "EUR"]


def test_tenant_overrides_round_trip_through_a_file(data_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "acme.csv"
    source.write_text("match;price_per_minute\r\nmobile;0,05\r\n0900;1\r\n", encoding="utf-8")
    imported = run(data_dir, "rates", "import", str(source), "--tenant", "default", "--json")
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.output)["added"] == ["+31900", "mobile"]
    exported = tmp_path / "out.csv"
    done = run(data_dir, "rates", "export", "--tenant", "default", "-o", str(exported))
    assert done.exit_code == 0 and "Wrote 2 rate(s)" in done.output
    text = exported.read_bytes().decode()
    assert text == (
        "match,price_per_minute,setup_fee,increment\r\n"
        '"\'+31900",1.0000,0.0000,\r\n'
        "mobile,0.0500,0.0000,\r\n"
    )
    again = run(data_dir, "rates", "import", str(exported), "--tenant", "default")
    assert again.exit_code == 0 and "0 added, 0 changed, 0 removed, 2 unchanged" in again.output
    # The runner's .output turns CRLF into LF; the bytes are what a script gets.
    assert run(data_dir, "rates", "export", "--tenant", "default").stdout_bytes.decode() == text
    listed = run(data_dir, "rates", "list", "--tenant", "default").output
    assert listed.startswith("Overrides of tenant default")


def test_a_bad_file_prints_every_error_and_writes_nothing(data_dir: Path) -> None:
    audit_before = _count(data_dir, "SELECT count(*) FROM audit_entry")
    bad = (
        "match,price_per_minute,setup_fee,increment\n"
        "mobile,0.10,,\n"
        "landline,0.10,,\n"
        "+0,0.10,,\n"
        "premium,-1,,\n"
        "MOBILE,0.2,,\n"
    )
    refused = run(data_dir, "rates", "import", "-", stdin=bad)
    assert refused.exit_code == 1
    assert "row 3, column match:" in refused.output
    assert "row 4, column match:" in refused.output
    assert "row 5, column price_per_minute: '-1' is negative" in refused.output
    assert "row 6, column match: mobile is also on row 2" in refused.output
    assert "4 error(s) in the file; nothing was imported" in refused.output
    assert _count(data_dir, "SELECT count(*) FROM rate") == 0
    assert _count(data_dir, "SELECT count(*) FROM audit_entry") == audit_before

    as_json = run(data_dir, "rates", "import", "-", "--json", stdin=bad)
    assert as_json.exit_code == 1
    body = json.loads(as_json.output[: as_json.output.rindex("}") + 1])
    assert [(e["row"], e["column"]) for e in body["errors"]][:2] == [(3, "match"), (4, "match")]


def test_an_unknown_tenant_or_file_is_an_error_naming_it(data_dir: Path, tmp_path: Path) -> None:
    unknown = run(data_dir, "rates", "import", "-", "--tenant", "nobody", stdin=GOOD)
    assert unknown.exit_code == 1 and "tenant 'nobody' not found" in unknown.output
    missing = run(data_dir, "rates", "import", str(tmp_path / "none.csv"))
    assert missing.exit_code == 1 and "file: cannot read" in missing.output
    assert run(data_dir, "rates", "list", "--tenant", "nobody").exit_code == 1
    assert _count(data_dir, "SELECT count(*) FROM rate") == 0


def test_a_dry_run_writes_nothing(data_dir: Path) -> None:
    dry = run(data_dir, "rates", "import", "-", "--dry-run", stdin=GOOD)
    assert dry.exit_code == 0 and dry.output.startswith("dry run, nothing written")
    assert _count(data_dir, "SELECT count(*) FROM rate") == 0
    assert _count(data_dir, "SELECT count(*) FROM audit_entry WHERE action='rates.import'") == 0
