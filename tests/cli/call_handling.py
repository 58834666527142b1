"""What the call-handling commands write, read from the SQLite file, and the check that a
refused command names its field in one line (and in --json) and writes nothing."""

from __future__ import annotations

import json
import shlex
import sqlite3
from pathlib import Path

from tests.cli.runner import run

_QUERIES = (
    "SELECT count(*) FROM audit_entry",
    "SELECT * FROM hunt_group ORDER BY id",
    "SELECT * FROM hunt_group_member ORDER BY id",
    "SELECT * FROM schedule ORDER BY id",
    "SELECT * FROM scheduled_route ORDER BY id",
    "SELECT * FROM incoming_block ORDER BY id",
    "SELECT id, forward_always, forward_busy, forward_no_answer, forward_unreachable,"
    " forward_no_answer_seconds, dnd FROM user ORDER BY id",
    "SELECT e164, assigned_user_id, assigned_group_id, assigned_route_id"
    " FROM phone_number ORDER BY id",
)


def written(data_dir: Path) -> list[list[tuple[object, ...]]]:
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        return [db.execute(q).fetchall() for q in _QUERIES]


def assert_refused(data_dir: Path, args: list[str], field: str) -> str:
    """Run ``args``: exit 1, one line ``error: FIELD: …``, the field in --json too, and
    nothing written. Returns the message."""
    before = written(data_dir)
    result = run(data_dir, *args)
    assert result.exit_code == 1, (args, result.output)
    assert result.stderr.startswith(f"error: {field}: "), (args, result.stderr)
    assert len(result.stderr.splitlines()) == 1, result.stderr
    as_json = run(data_dir, *args, "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout.splitlines()[0])["error"]["field"] == field
    assert written(data_dir) == before, args
    return result.stderr


def ok(data_dir: Path, line: str) -> str:
    """Run a command written as one shell line; it must succeed. Returns its output."""
    result = run(data_dir, *shlex.split(line))
    assert result.exit_code == 0, (line, result.output)
    return result.output


def refused(data_dir: Path, line: str, field: str) -> str:
    """:func:`assert_refused` for a command written as one shell line."""
    return assert_refused(data_dir, shlex.split(line), field)
