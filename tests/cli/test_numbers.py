"""`provd number …`: blocks added whole, each number's use reported, bad input one line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli.runner import run


def _count(data_dir: Path, table: str) -> int:
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_add_list_assign_release_remove(data_dir: Path) -> None:
    added = run(data_dir, "number", "add", "020 123 4500", "--count", "10", "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.output) == {
        "tenant": "default",
        "first": "+31201234500",
        "last": "+31201234509",
        "count": 10,
    }
    assigned = run(data_dir, "number", "assign", "0201234503", "--user", "201")
    assert assigned.exit_code == 0, assigned.output
    assert "+31201234503 is now in use by user 201 (Front Desk)" in assigned.output

    listed = run(data_dir, "number", "list")
    lines = listed.output.splitlines()
    assert lines[0].split() == ["NUMBER", "NATIONAL", "TENANT", "USE"]
    assert len(lines) == 11
    assert lines[4].split() == [
        "+31201234503", "0201234503", "default", "in", "use", "by", "user", "201", "(Front", "Desk)"
    ]  # fmt: skip
    assert lines[1].split() == ["+31201234500", "0201234500", "default", "unused"]

    unused = json.loads(run(data_dir, "number", "list", "--unused", "--json").output)
    assert len(unused) == 9 and all(n["use"] is None for n in unused)
    as_json = json.loads(run(data_dir, "number", "list", "--tenant", "default", "--json").output)
    assert as_json[3]["use"] == {"kind": "user", "key": "201", "name": "Front Desk"}

    refused = run(data_dir, "number", "remove", "+31201234500")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: first: numbers of the block are in use")
    assert run(data_dir, "number", "release", "+31 20 123 45 03").exit_code == 0
    removed = run(data_dir, "number", "remove", "+31201234500")
    assert removed.exit_code == 0, removed.output
    assert _count(data_dir, "phone_number") == 0


def test_bad_input_is_one_line_naming_the_field_and_writes_nothing(data_dir: Path) -> None:
    assert run(data_dir, "number", "add", "+31201234500", "--count", "100").exit_code == 0
    audit_before = _count(data_dir, "audit_entry")
    cases = [
        (["number", "add", "+31201234505", "--count", "10"], "first: "),
        (["number", "add", "+31201234600", "--count", "50"], "count: "),
        (["number", "add", "call me", "--count", "1"], "first: "),
        (["number", "add", "+31201234550", "--count", "10"], "first: "),
        (["number", "add", "+31201234600", "--tenant", "nobody"], "tenant: "),
        (["number", "assign", "+31201234501", "--user", "999"], "user: "),
        (["number", "assign", "+31209999999", "--user", "201"], "number: "),
        (["number", "release", "+31201234501"], "number: "),
        (["number", "remove", "+31201234501"], "first: "),
    ]
    for args, field in cases:
        result = run(data_dir, *args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith(f"error: {field}"), (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1
        as_json = run(data_dir, *args, "--json")
        assert json.loads(as_json.stdout)["error"]["field"] == field.rstrip(": ")
    assert _count(data_dir, "phone_number") == 100
    assert _count(data_dir, "audit_entry") == audit_before


def test_another_tenants_numbers_are_not_listed_for_a_tenant(data_dir: Path) -> None:
    assert run(data_dir, "tenant", "add", "acme").exit_code == 0
    assert run(data_dir, "number", "add", "+31201234500", "--tenant", "acme").exit_code == 0
    assert run(data_dir, "number", "add", "+31201234501").exit_code == 0
    ours = json.loads(run(data_dir, "number", "list", "--tenant", "default", "--json").output)
    assert [n["number"] for n in ours] == ["+31201234501"]
    theirs = run(
        data_dir, "number", "assign", "+31201234500", "--user", "201", "--tenant", "default"
    )
    assert theirs.exit_code == 1 and theirs.stderr.startswith("error: number: ")
