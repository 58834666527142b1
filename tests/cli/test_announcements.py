"""`provd announcements …`: an announcement of a sound played twice, a number assigned to
it, a forward naming it, and bad input one line naming the field with nothing written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli.call_handling import ok, refused
from tests.cli.runner import run
from tests.services.menus.audio import tone_wav


def _announcements(data_dir: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        return db.execute("SELECT * FROM announcement ORDER BY id").fetchall()


def test_an_announcement_with_a_number_and_a_forward(data_dir: Path, tmp_path: Path) -> None:
    wav = tmp_path / "closed.wav"
    wav.write_bytes(tone_wav(0.2))
    ok(data_dir, f"sounds add default closed {wav}")
    shown = ok(data_dir, "announcements add default 800 --name Closed --sound closed --plays 2")
    assert shown.splitlines() == [
        "Added announcement 800 (Closed)",
        "announcement: 800 (Closed) in default",
        "sound: closed",
        "plays: 2",
        "numbers: none",
    ]
    changed = json.loads(ok(data_dir, "announcements set default 800 --plays 3 --json"))
    assert (changed["name"], changed["plays"]) == ("Closed", 3)
    ok(data_dir, "number add '020 123 4500'")
    assigned = ok(data_dir, "number assign 0201234500 --announcement 800")
    assert "+31201234500 is now in use by announcement 800 (Closed)" in assigned
    ok(data_dir, "user forward 201 --busy announcement:800")
    listed = ok(data_dir, "announcements list default").splitlines()
    assert listed[0].split() == ["EXT", "NAME", "SOUND", "PLAYS", "NUMBERS"]
    assert listed[1].split() == ["800", "Closed", "closed", "3", "+31201234500"]
    assert json.loads(ok(data_dir, "announcements show default 800 --json"))["numbers"] == [
        "+31201234500"
    ]

    message = refused(data_dir, "announcements remove default 800", "extension")
    assert "number +31201234500" in message and "user 201's forwarding" in message
    assert "announcement 800" in refused(data_dir, "sounds remove default closed", "name")
    ok(data_dir, "number release +31201234500")
    ok(data_dir, "user forward 201 --busy none")
    ok(data_dir, "announcements remove default 800")
    assert json.loads(ok(data_dir, "announcements list default --json")) == []


def test_bad_input_is_one_line_naming_the_field_and_writes_nothing(
    data_dir: Path, tmp_path: Path
) -> None:
    wav = tmp_path / "closed.wav"
    wav.write_bytes(tone_wav(0.2))
    ok(data_dir, f"sounds add default closed {wav}")
    ok(data_dir, "announcements add default 800 --name Closed --sound closed")
    ok(data_dir, "number add +31201234500")
    cases = [
        ("announcements add default 801 --sound closed", "name"),
        ("announcements add default 801 --name X", "sound"),
        ("announcements add default 201 --name X --sound closed", "extension"),
        ("announcements add default 800 --name X --sound closed", "extension"),
        ("announcements add default 801 --name X --sound gone", "sound"),
        ("announcements add default 801 --name X --sound closed --plays 0", "plays"),
        ("announcements add default 801 --name X --sound closed --plays 6", "plays"),
        ("announcements add nope 801 --name X --sound closed", "tenant"),
        ("announcements set default 800", "settings"),
        ("announcements set default 800 --plays 9", "plays"),
        ("announcements set default 899 --name X", "extension"),
        ("announcements show default 899", "extension"),
        ("announcements remove default 899", "extension"),
        ("user add --extension 800 --name X", "extension"),
        ("menus add default 800 --name X --greeting closed", "extension"),
        ("number assign +31201234500 --announcement 899", "announcement"),
        ("number assign +31201234500 --announcement 800 --user 201", "announcement"),
        ("user forward 201 --busy announcement:899", "busy"),
    ]
    before = _announcements(data_dir)
    for line, field in cases:
        refused(data_dir, line, field)
    assert _announcements(data_dir) == before


def test_the_command_says_what_it_does(data_dir: Path) -> None:
    assert "plays a sound and hangs up" in run(data_dir, "announcements", "--help").output
