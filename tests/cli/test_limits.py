"""`provd limits …`: a tenant's and a trunk's limits shown and set; bad input one line
naming the field with nothing written."""

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
            *db.execute("SELECT owner, limits, alert_email FROM spend_limit ORDER BY id"),
        ]


def test_defaults_then_set_and_show(data_dir: Path) -> None:
    assert ok(data_dir, "limits show").splitlines() == [
        "Limits of tenant default:",
        "  per hour  spend: EUR 10         calls: no limit",
        "  per day   spend: EUR 25         calls: no limit",
        "  per week  spend: EUR 50         calls: no limit",
        "  alerts to: -",
    ]
    out = ok(
        data_dir,
        "limits set --hour 5 --day 12.50 --calls-hour 3 --alert-email billing@example.com",
    )
    assert out.splitlines() == [
        "Limits of tenant default:",
        "  per hour  spend: EUR 5.00       calls: 3 calls",
        "  per day   spend: EUR 12.50      calls: no limit",
        "  per week  spend: EUR 50         calls: no limit",
        "  alerts to: billing@example.com",
    ]
    # Not given: kept; 'none': no limit.
    view = json.loads(ok(data_dir, "limits set --week none --json"))
    assert (view["hour"], view["week"], view["calls_hour"]) == ("5.00", None, 3)
    assert json.loads(ok(data_dir, "limits show --json")) == view
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        actions = [r[0] for r in db.execute("SELECT action FROM audit_entry ORDER BY id")]
    assert actions[-2:] == ["limits.set", "limits.set"]


def test_a_trunks_own_limits(data_dir: Path) -> None:
    ok(data_dir, "trunk add hq --channels 2 --allow-ip 192.0.2.10")
    shown = ok(data_dir, "limits set --trunk hq --calls-day 20")
    assert "Limits of trunk hq:" in shown
    assert "(tenant default's limits apply as well)" in shown
    assert json.loads(ok(data_dir, "limits show --trunk hq --json"))["calls_day"] == 20
    assert json.loads(ok(data_dir, "limits show --json"))["calls_day"] is None


def test_bad_input_is_one_line_naming_the_field_and_writes_nothing(data_dir: Path) -> None:
    ok(data_dir, "limits set --hour 5")
    for args, field in [
        (["--hour", "-1"], "hour"),
        (["--day", "lots"], "day"),
        (["--week", "1.234"], "week"),
        (["--calls-hour", "2.5"], "calls_hour"),
        (["--calls-week", "-3"], "calls_week"),
        (["--alert-email", "not-an-address"], "alert_email"),
        (["--trunk", "nope", "--hour", "1"], "trunk"),
        (["--tenant", "nope", "--hour", "1"], "tenant"),
        (["--hour", "1", "--day", "x"], "day"),
    ]:
        before = _stored(data_dir)
        result = run(data_dir, "limits", "set", *args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith(f"error: {field}: "), (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1
        as_json = run(data_dir, "limits", "set", *args, "--json")
        assert json.loads(as_json.stdout.splitlines()[0])["error"]["field"] == field
        assert _stored(data_dir) == before, args
