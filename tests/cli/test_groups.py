"""`provd group …`: groups with members in order and an overflow, numbers assigned to
them, and bad input one line naming the field with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.call_handling import ok, refused


def test_a_group_with_members_an_overflow_and_a_number(data_dir: Path) -> None:
    ok(data_dir, "user add --extension 202 --name 'Back Office'")
    added = json.loads(
        ok(
            data_dir,
            "group add 600 --name Sales --policy circular --ring 20 --wait 60"
            " --overflow user:201 --json",
        )
    )
    assert (added["extension"], added["policy"], added["ring_seconds"]) == ("600", "circular", 20)
    assert added["overflow"]["text"] == "user:201"
    ok(data_dir, "group member add 600 --user 202")
    ok(data_dir, "group member add 600 --external '06 1234 5678'")
    shown = ok(data_dir, "group member add 600 --user 201 --position 1")
    assert shown.splitlines() == [
        "group: 600 (Sales) in default",
        "policy: circular",
        "ring_seconds: 20",
        "total_wait_seconds: 60",
        "overflow: user 201 (Front Desk)",
        "numbers: none",
        "members:",
        "  1. user 201 (Front Desk)",
        "  2. user 202 (Back Office)",
        "  3. external +31612345678",
    ]
    ok(data_dir, "number add '020 123 4500'")
    assigned = ok(data_dir, "number assign 0201234500 --group 600")
    assert "+31201234500 is now in use by group 600 (Sales)" in assigned
    listed = ok(data_dir, "number list").splitlines()
    assert listed[1].split()[3:] == ["in", "use", "by", "group", "600", "(Sales)"]

    groups = ok(data_dir, "group list").splitlines()
    assert groups[0].split() == ["TENANT", "EXT", "NAME", "POLICY", "MEMBERS", "OVERFLOW"]
    assert groups[1].split() == [
        "default", "600", "Sales", "circular", "3", "user", "201", "(Front", "Desk)"
    ]  # fmt: skip
    changed = json.loads(
        ok(data_dir, "group set 600 --policy simultaneous --wait 0 --overflow none --json")
    )
    assert (changed["policy"], changed["total_wait_seconds"], changed["overflow"]) == (
        "simultaneous",
        0,
        None,
    )
    removed = json.loads(ok(data_dir, "group member remove 600 --position 2 --json"))
    assert [m["key"] for m in removed["members"]] == ["201", "+31612345678"]
    assert json.loads(ok(data_dir, "group show 600 --json"))["numbers"] == ["+31201234500"]

    assert "number +31201234500" in refused(data_dir, "group remove 600", "extension")
    ok(data_dir, "number release +31201234500")
    ok(data_dir, "group remove 600")
    assert json.loads(ok(data_dir, "group list --json")) == []


_REFUSED = [
    ("group add 201 --name X --policy fixed", "extension"),
    ("group add 6 --name X --policy fixed", "extension"),
    ("group add 601 --name X --policy random", "policy"),
    ("group add 601 --name X --policy fixed --ring 3", "ring_seconds"),
    ("group add 601 --name X --policy fixed --wait 5", "total_wait_seconds"),
    ("group add 601 --name X --policy fixed --overflow user:299", "overflow"),
    ("group add 601 --name X --policy fixed --overflow external:112", "overflow"),
    ("group add 601 --name X --policy fixed --tenant nope", "tenant"),
    ("group set 600 --overflow group:600", "overflow"),
    ("group set 600", "settings"),
    ("group set 699 --name X", "extension"),
    ("group member add 600 --user 201", "user"),
    ("group member add 600 --user 299", "user"),
    ("group member add 600 --external 0201234", "external"),
    ("group member add 600", "user"),
    ("group member add 600 --user 201 --external 0612345678", "external"),
    ("group member add 600 --external 0612345678 --position 3", "position"),
    ("group member remove 600 --user 299", "user"),
    ("group member remove 600 --position 2", "position"),
    ("group show 699", "extension"),
    ("group remove 699", "extension"),
    ("user add --extension 600 --name X", "extension"),
    ("number assign +31201234500 --group 699", "group"),
    ("number assign +31201234500 --group 600 --user 201", "group"),
]


def test_bad_input_is_one_line_naming_the_field_and_writes_nothing(data_dir: Path) -> None:
    ok(data_dir, "group add 600 --name Sales --policy fixed")
    ok(data_dir, "group member add 600 --user 201")
    ok(data_dir, "number add +31201234500")
    for line, field in _REFUSED:
        refused(data_dir, line, field)
