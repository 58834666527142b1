"""`provd menus …` and `provd sounds …`: a sound uploaded from a file, a menu with keys
and a default, a number assigned to it, and bad input one line naming the field with
nothing written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli.call_handling import ok, refused
from tests.cli.runner import run
from tests.services.menus.audio import ffmpeg_sine, tone_wav


def _sounds(data_dir: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        return db.execute("SELECT name, duration_ms FROM sound ORDER BY id").fetchall()


def _menus(data_dir: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        return db.execute("SELECT * FROM menu ORDER BY id").fetchall()


def test_a_sound_and_a_menu_with_keys_a_default_and_a_number(
    data_dir: Path, tmp_path: Path
) -> None:
    stereo = tmp_path / "welcome.wav"
    stereo.write_bytes(ffmpeg_sine(1, "-ar", "44100", "-ac", "2", "-f", "wav"))
    added = json.loads(ok(data_dir, f"sounds add default welcome {stereo} --json"))
    assert (added["name"], added["duration_ms"]) == ("welcome", 1000)
    assert (data_dir / "sounds" / "default" / "welcome.wav").is_file()
    assert ok(data_dir, "sounds list default").splitlines()[1].split()[:2] == ["welcome", "1.0"]

    ok(data_dir, "user add --extension 202 --name 'Back Office'")
    ok(data_dir, "group add 600 --name Sales --policy fixed")
    shown = ok(
        data_dir,
        "menus add default 700 --name Main --greeting welcome --default group:600"
        " --key 1=user:201 --key 0=repeat --key '#=hang_up' --attempts 2",
    )
    assert shown.splitlines()[1:] == [
        "menu: 700 (Main) in default",
        "greeting: welcome",
        "invalid_sound: none",
        "timeout_seconds: 5",
        "max_attempts: 2",
        "dial_length: 5",
        "default: group 600 (Sales)",
        "numbers: none",
        "keys:",
        "  0: repeat",
        "  1: to user 201 (Front Desk)",
        "  #: hang_up",
    ]
    changed = json.loads(
        ok(
            data_dir,
            "menus set default 700 --key 1=user:202 --key 0=none --key 2=submenu:700 --json",
        )
    )
    assert {k: e["text"] for k, e in changed["keys"].items()} == {
        "1": "user:202",
        "2": "submenu:700",
        "#": "hang_up",
    }
    ok(data_dir, "number add '020 123 4500'")
    assigned = ok(data_dir, "number assign 0201234500 --menu 700")
    assert "+31201234500 is now in use by menu 700 (Main)" in assigned
    listed = ok(data_dir, "menus list default").splitlines()
    assert listed[0].split() == ["EXT", "NAME", "GREETING", "KEYS", "DEFAULT"]
    assert listed[1].split()[:4] == ["700", "Main", "welcome", "3"]
    assert json.loads(ok(data_dir, "menus show default 700 --json"))["numbers"] == ["+31201234500"]

    assert "number +31201234500" in refused(data_dir, "menus remove default 700", "extension")
    assert "menu 700's greeting" in refused(data_dir, "sounds remove default welcome", "name")
    ok(data_dir, "number release +31201234500")
    ok(data_dir, "menus remove default 700")
    ok(data_dir, "sounds remove default welcome")
    assert json.loads(ok(data_dir, "menus list default --json")) == []
    assert not (data_dir / "sounds" / "default" / "welcome.wav").exists()


def test_bad_input_is_one_line_naming_the_field_and_writes_nothing(
    data_dir: Path, tmp_path: Path
) -> None:
    good = tmp_path / "good.wav"
    good.write_bytes(tone_wav(0.2))
    text = tmp_path / "notes.txt"
    text.write_text("not a recording\n")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    ok(data_dir, f"sounds add default welcome {good}")
    ok(data_dir, "menus add default 700 --name Main --greeting welcome")
    ok(data_dir, "number add +31201234500")
    cases = [
        (f"sounds add default noise {text}", "file"),
        (f"sounds add default empty {empty}", "file"),
        (f"sounds add default missing {tmp_path / 'missing.wav'}", "file"),
        (f"sounds add default ../up {good}", "name"),
        (f"sounds add default welcome {good}", "name"),
        (f"sounds add nope x {good}", "tenant"),
        ("sounds remove default nothing", "name"),
        ("menus add default 701 --greeting welcome", "name"),
        ("menus add default 701 --name X", "greeting"),
        ("menus add default 201 --name X --greeting welcome", "extension"),
        ("menus add default 701 --name X --greeting gone", "greeting"),
        ("menus add default 701 --name X --greeting welcome --timeout 0", "timeout_seconds"),
        ("menus add default 701 --name X --greeting welcome --dial-length 9", "dial_length"),
        ("menus add default 701 --name X --greeting welcome --key 1=user:299", "keys.1"),
        ("menus add default 701 --name X --greeting welcome --key 1", "keys"),
        ("menus add default 701 --name X --greeting welcome --key X=repeat", "keys"),
        ("menus add default 701 --name X --greeting welcome --default external:112", "default"),
        ("menus set default 700", "settings"),
        ("menus set default 700 --key 1=menu:700", "keys.1"),
        ("menus set default 799 --name X", "extension"),
        ("menus show default 799", "extension"),
        ("menus remove default 799", "extension"),
        ("user add --extension 700 --name X", "extension"),
        ("number assign +31201234500 --menu 799", "menu"),
        ("number assign +31201234500 --menu 700 --user 201", "menu"),
    ]
    before = (_sounds(data_dir), _menus(data_dir))
    for line, field in cases:
        refused(data_dir, line, field)
    assert (_sounds(data_dir), _menus(data_dir)) == before
    assert sorted(p.name for p in (data_dir / "sounds" / "default").iterdir()) == ["welcome.wav"]


def test_the_menus_and_sounds_commands_say_what_they_do(data_dir: Path) -> None:
    assert "IVR menus" in run(data_dir, "menus", "--help").output
    assert "8 kHz" in run(data_dir, "sounds", "--help").output
