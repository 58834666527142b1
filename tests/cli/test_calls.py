"""`provd calls …`: a period's list, totals and CSV; every bad option refused by name,
exit 1, before the database is read."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.runner import run

START = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def _seed(data_dir: Path) -> None:
    """Three calls of the default tenant in November 2026, as the collector writes them."""
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        tenant = db.execute("SELECT id FROM tenant WHERE slug = 'default'").fetchone()[0]
        for i, (kind, callee, seconds, cost) in enumerate(
            [
                ("mobile", "+31612345678", 61, "0.1200"),
                ("international", "+3225551234", 300, "1.5000"),
                ("internal", "202", 20, None),
            ]
        ):
            at = START + timedelta(hours=i)
            db.execute(
                "INSERT INTO call_record (tenant_id, source, source_id, callid, started_at,"
                " answered_at, ended_at, duration, disposition, reason, call_type, caller,"
                " callee, dialled, number, user_ext, trunk, group_ext, cost) VALUES"
                " (?, 'acc_cdrs', ?, ?, ?, ?, ?, ?, 'answered', '', ?, '201', ?, ?,"
                " '+31201234501', '201', '', '', ?)",
                (tenant, i, f"c{i}", at.isoformat(sep=" "), at.isoformat(sep=" "),
                 (at + timedelta(seconds=seconds)).isoformat(sep=" "), seconds, kind, callee,
                 callee, cost),
            )  # fmt: skip
    db.close()


PERIOD = ("--from", "2026-11-01", "--to", "2026-11-30")


def test_list_totals_and_export(data_dir: Path) -> None:
    _seed(data_dir)
    listed = run(data_dir, "calls", "list", *PERIOD, "--json")
    assert listed.exit_code == 0, listed.output
    page = json.loads(listed.output)
    assert page["total"] == 3
    assert [r["call_type"] for r in page["records"]] == ["internal", "international", "mobile"]
    text = run(data_dir, "calls", "list", *PERIOD, "--cost", ">0.5").output
    assert "+3225551234" in text and "+31612345678" not in text
    assert "1-1 of 1 calls, 2026-11-01..2026-11-30" in text
    short = json.loads(
        run(data_dir, "calls", "list", *PERIOD, "--duration", "<=61", "--json").output
    )
    assert short["total"] == 2
    totals = json.loads(run(data_dir, "calls", "totals", *PERIOD, "--json").output)
    assert totals["overall"] == {"calls": 3, "answered": 3, "seconds": 381, "cost": "1.6200"}
    assert totals["by_type"]["mobile"]["calls"] == 1
    out = data_dir / "calls.csv"
    exported = run(data_dir, "calls", "export", *PERIOD, "--number", "+316", "--output", str(out))
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["callee"], r["duration"], r["cost"]) for r in rows] == [
        ("'+31612345678", "61", "0.1200")
    ]
    # Nothing in the current month.
    assert json.loads(run(data_dir, "calls", "list", "--json").output)["total"] == 0


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--cost", "cheap"), "cost"),
        (("--duration", "<1.5"), "duration"),
        (("--from", "2026-11-31", "--to", "2026-12-01"), "from"),
        (("--from", "2026-11-01"), "to"),
        (("--month", "last"), "month"),
        (("--type", "fax"), "type"),
        (("--number", "06-abc"), "number"),
        (("--tenant", "nope"), "tenant"),
    ],
)
def test_bad_options_name_their_field(data_dir: Path, args: tuple[str, ...], field: str) -> None:
    result = run(data_dir, "calls", "totals", *args, "--json")
    assert result.exit_code == 1
    assert json.loads(result.output.splitlines()[0])["error"]["field"] == field
