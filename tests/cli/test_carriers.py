"""`provd carrier …`: validated, listed in the order tried, the password never printed."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from provd.security.secretbox import SecretBox
from tests.cli.runner import run


def _count(data_dir: Path, table: str) -> int:
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_add_list_remove(data_dir: Path) -> None:
    added = run(
        data_dir, "carrier", "add", "upstream", "--host", "localhost:5080",
        "--transport", "tcp", "--username", "acct", "--password", "Top-s3cret",
        "--inbound-from", "127.0.0.0/8", "--inbound-from", "::1", "--priority", "20", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    view = json.loads(added.output)
    assert (view["host"], view["port"], view["transport"]) == ("localhost", 5080, "tcp")
    assert view["inbound_from"] == ["127.0.0.0/8", "::1/128"] and view["registers"] is True
    assert run(data_dir, "carrier", "add", "backup", "--host", "127.0.0.1").exit_code == 0

    listed = run(data_dir, "carrier", "list")
    assert "Top-s3cret" not in listed.output
    lines = listed.output.splitlines()
    assert lines[0].split()[:2] == ["NAME", "PRIORITY"]
    assert [line.split()[0] for line in lines[1:]] == ["backup", "upstream"]
    assert "as acct" in lines[2]
    as_json = run(data_dir, "carrier", "list", "--json").output
    assert "Top-s3cret" not in as_json and len(json.loads(as_json)) == 2
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        stored = db.execute("SELECT password_enc FROM carrier WHERE name='upstream'").fetchone()
        logged = db.execute("SELECT after FROM audit_entry WHERE action='carrier.add'").fetchall()
    assert b"Top-s3cret" not in stored[0] and "Top-s3cret" not in str(logged)

    assert run(data_dir, "carrier", "remove", "upstream").exit_code == 0
    assert _count(data_dir, "carrier") == 1


def test_bad_input_is_one_line_naming_the_field_and_writes_nothing(data_dir: Path) -> None:
    audit_before = _count(data_dir, "audit_entry")
    cases = [
        (["carrier", "add", "x", "--host", "not a host"], "host: "),
        (["carrier", "add", "x", "--host", "127.0.0.1:0"], "host: "),
        (["carrier", "add", "x", "--host", "127.0.0.1", "--inbound-from", "10.0.0.1/8"],
         "inbound_from: "),
        (["carrier", "add", "x", "--host", "127.0.0.1", "--inbound-from", "nowhere"],
         "inbound_from: "),
        (["carrier", "add", "x", "--host", "127.0.0.1", "--username", "u"], "password: "),
        (["carrier", "add", "x", "--host", "127.0.0.1", "--priority", "-5"], "priority: "),
        (["carrier", "add", "x_y", "--host", "127.0.0.1"], "name: "),
        (["carrier", "remove", "nothing"], "name: "),
    ]  # fmt: skip
    for args, field in cases:
        result = run(data_dir, *args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith(f"error: {field}"), (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1
    assert _count(data_dir, "carrier") == 0
    assert _count(data_dir, "audit_entry") == audit_before


def test_list_shows_each_carriers_state_from_its_last_probe(data_dir: Path) -> None:
    for name in ("upstream", "backup"):
        assert run(data_dir, "carrier", "add", name, "--host", "127.0.0.1").exit_code == 0
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        created = db.execute("SELECT created_at FROM carrier WHERE name='upstream'").fetchone()[0]
        db.execute(
            "UPDATE carrier SET probe_up=0, probe_reason='Request Timeout', probed_at=?"
            " WHERE name='upstream'",
            (created,),
        )
    lines = run(data_dir, "carrier", "list").output.splitlines()
    assert lines[0].split()[-4:] == ["STATE", "LAST", "OPTIONS", "ANSWER"]
    backup, upstream = lines[1], lines[2]
    assert backup.split()[0] == "backup"
    assert re.search(r" unknown +not probed yet$", backup), backup
    assert upstream.split()[0] == "upstream"
    assert re.search(r" down +no answer: Request Timeout at 20\d\d-", upstream), upstream
    [listed] = [
        v for v in json.loads(run(data_dir, "carrier", "list", "--json").output)
        if v["name"] == "upstream"
    ]  # fmt: skip
    assert (listed["state"], listed["probe_status"], listed["probe_reason"]) == (
        "down",
        None,
        "Request Timeout",
    )
    assert listed["probed_at"] is not None


def _sealed_password(data_dir: Path, name: str) -> bytes | None:
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        row = db.execute("SELECT password_enc FROM carrier WHERE name=?", (name,)).fetchone()
    return None if row is None else row[0]


def test_password_from_stdin_is_the_first_line_and_never_on_the_command_line(
    data_dir: Path,
) -> None:
    args = ["carrier", "add", "upstream", "--host", "127.0.0.1", "--username", "acct"]
    added = run(data_dir, *args, "--password-stdin", "--json", stdin="Top-s3cret\r\nignored\n")
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["registers"] is True
    assert "Top-s3cret" not in added.output
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        logged = db.execute("SELECT after FROM audit_entry WHERE action='carrier.add'").fetchall()
    assert "Top-s3cret" not in str(logged)
    sealed = _sealed_password(data_dir, "upstream")
    assert sealed is not None and b"Top-s3cret" not in sealed

    # What was stored is the line without its line break: the carrier's registration
    # password, as the PBX will send it.
    assert SecretBox.load_or_create(data_dir).open(sealed) == "Top-s3cret"


def test_password_stdin_refusals_name_the_field_and_write_nothing(data_dir: Path) -> None:
    audit_before = _count(data_dir, "audit_entry")
    add = ["carrier", "add", "x", "--host", "127.0.0.1", "--username", "u"]
    cases = [
        ([*add, "--password-stdin"], "", "password: "),
        ([*add, "--password-stdin"], "\n", "password: "),
        ([*add, "--password", "P-1", "--password-stdin"], "P-2\n", "password: "),
        (["carrier", "add", "x", "--host", "127.0.0.1", "--password-stdin"], "P-1\n", "username: "),
    ]
    for args, stdin, field in cases:
        result = run(data_dir, *args, stdin=stdin)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith(f"error: {field}"), (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1
    assert _count(data_dir, "carrier") == 0
    assert _count(data_dir, "audit_entry") == audit_before
