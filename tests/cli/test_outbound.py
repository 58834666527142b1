"""`provd outbound …`: a tenant's, a user's and a trunk's policy shown and set; bad
input one line naming the field with nothing written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli.call_handling import ok
from tests.cli.runner import run


def _stored(data_dir: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        return [
            *db.execute("SELECT count(*) FROM audit_entry").fetchall(),
            *db.execute("SELECT outbound_policy FROM tenant ORDER BY id").fetchall(),
            *db.execute("SELECT outbound_policy FROM user ORDER BY id").fetchall(),
        ]


def test_show_and_set_each_level(data_dir: Path) -> None:
    shown = ok(data_dir, "outbound show")
    assert shown.splitlines()[0] == (
        "Outbound policy of tenant default: no restrictions (fraud-prone destinations blocked)"
    )
    out = ok(
        data_dir,
        "outbound set --block premium,international --allow-preset benelux"
        " --allow-prefix +44 --allow-prefix 0049",
    )
    assert out.splitlines() == [
        "Outbound policy of tenant default: blocks international, premium; only benelux, +44, +49",
        "  blocked:         international, premium",
        "  allowed presets: benelux",
        "  allowed prefixes: +44, +49",
    ]
    user = json.loads(ok(data_dir, "outbound set --user 201 --block mobile --json"))
    assert (user["user"], user["block"], user["allow_presets"]) == ("201", ["mobile"], [])
    assert json.loads(ok(data_dir, "outbound show --user 201 --json")) == user
    assert "tenant default's policy applies as well" in ok(data_dir, "outbound show --user 201")
    # Parts not given are kept; 'none' clears one.
    cleared = json.loads(ok(data_dir, "outbound set --allow-preset none --json"))
    assert (cleared["block"], cleared["allow_presets"], cleared["allow_prefixes"]) == (
        ["international", "premium"],
        [],
        ["+44", "+49"],
    )


def test_bad_input_is_one_line_naming_the_field_and_writes_nothing(data_dir: Path) -> None:
    ok(data_dir, "outbound set --block premium")
    for args, field in [
        (["--block", "premum"], "block"),
        (["--block", ""], "block"),
        (["--allow-preset", "asia"], "allow_preset"),
        (["--allow-prefix", "+44", "--allow-prefix", "call-me"], "allow_prefix"),
        (["--user", "299", "--block", "mobile"], "user"),
        (["--trunk", "nope", "--block", "mobile"], "trunk"),
        (["--user", "201", "--trunk", "hq", "--block", "mobile"], "trunk"),
        (["--tenant", "nope", "--block", "mobile"], "tenant"),
    ]:
        before = _stored(data_dir)
        result = run(data_dir, "outbound", "set", *args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith(f"error: {field}: "), (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1
        as_json = run(data_dir, "outbound", "set", *args, "--json")
        assert json.loads(as_json.stdout.splitlines()[0])["error"]["field"] == field
        assert _stored(data_dir) == before, args
