"""`provd block …`: anonymous callers, numbers and prefixes blocked for a tenant or a
user, optionally by schedule; bad input one line naming the field with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.call_handling import ok, refused


def test_add_list_and_remove_blocks(data_dir: Path) -> None:
    ok(data_dir, "schedule add Office --rule 'mon-fri 08:00-17:00'")
    anonymous = json.loads(ok(data_dir, "block add --anonymous --when Office:closed --json"))
    assert anonymous["when"] == {"schedule": "Office", "state": "closed"}
    number = ok(data_dir, "block add --user 201 --number '06 1234 5678'")
    assert number.strip().endswith("for user 201: +31612345678")
    prefix = json.loads(ok(data_dir, "block add --prefix 0900 --json"))
    assert (prefix["match"], prefix["pattern"]) == ("prefix", "+31900")

    listed = ok(data_dir, "block list").splitlines()
    assert listed[0].split() == ["ID", "TENANT", "USER", "BLOCKS"]
    assert [line.split()[2:] for line in listed[1:]] == [
        ["all", "anonymous", "callers,", "while", "Office", "is", "closed"],
        ["all", "numbers", "starting", "+31900"],
        ["201", "+31612345678"],
    ]
    assert "incoming block" in refused(data_dir, "schedule remove Office", "name")
    removed = ok(data_dir, f"block remove {anonymous['id']}")
    assert removed.strip() == (
        f"Removed block {anonymous['id']}: anonymous callers, while Office is closed"
    )
    assert len(json.loads(ok(data_dir, "block list --tenant default --json"))) == 2


_REFUSED = [
    ("block add", "number"),
    ("block add --anonymous --number 0612345678", "number"),
    ("block add --number 0612345678 --prefix 0900", "prefix"),
    ("block add --number call-me", "number"),
    ("block add --prefix +3", "prefix"),
    ("block add --anonymous --user 299", "user"),
    ("block add --anonymous --when Office", "when"),
    ("block add --anonymous --when Nothing:closed", "when"),
    ("block add --anonymous --tenant nope", "tenant"),
    ("block add --number 0612345678", "number"),  # already blocked so
    ("block remove 999", "id"),
    ("block remove first", "id"),
]


def test_bad_input_is_one_line_naming_the_field_and_writes_nothing(data_dir: Path) -> None:
    ok(data_dir, "schedule add Office --rule 'mon-fri 08:00-17:00'")
    ok(data_dir, "block add --number 0612345678")
    for line, field in _REFUSED:
        refused(data_dir, line, field)
