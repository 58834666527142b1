"""`provd moh …`: a tenant's music on hold set from its sounds, its file written, shown,
cleared; bad input one line naming the field with nothing written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli.call_handling import ok, refused
from tests.services.menus.audio import tone_wav


def _playlists(data_dir: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        return db.execute("SELECT slug, moh_playlist FROM tenant ORDER BY id").fetchall()


def _file(data_dir: Path) -> Path:
    return data_dir / "pbx" / "media" / "moh" / "tenants" / "default.wav"


def test_music_on_hold_set_shown_and_cleared(data_dir: Path, tmp_path: Path) -> None:
    wav = tmp_path / "tune.wav"
    wav.write_bytes(tone_wav(0.5))
    ok(data_dir, f"sounds add default jazz {wav}")
    ok(data_dir, f"sounds add default news {wav}")
    assert ok(data_dir, "moh show").strip() == "music on hold of default: the default"
    shown = ok(data_dir, "moh set --sound jazz --sound news")
    assert shown.strip() == "music on hold of default: jazz, news (1.0 s)"
    assert _file(data_dir).stat().st_size == 44 + 16000  # header, and 1 s of 16-bit at 8 kHz
    assert json.loads(ok(data_dir, "moh show --json"))["sounds"] == ["jazz", "news"]
    assert "the music on hold" in refused(data_dir, "sounds remove default jazz", "name")
    ok(data_dir, "moh clear")
    assert not _file(data_dir).exists()
    assert json.loads(ok(data_dir, "moh show --json"))["sounds"] == []


def test_bad_input_names_the_field_and_writes_nothing(data_dir: Path, tmp_path: Path) -> None:
    wav = tmp_path / "tune.wav"
    wav.write_bytes(tone_wav(0.5))
    ok(data_dir, f"sounds add default jazz {wav}")
    ok(data_dir, "moh set --sound jazz")
    before, written = _playlists(data_dir), _file(data_dir).read_bytes()
    for line, field in (
        ("moh set", "sounds"),
        ("moh set --sound missing", "sounds"),
        ("moh set --sound jazz --sound missing", "sounds"),
        ("moh set --tenant nosuch --sound jazz", "tenant"),
        ("moh show --tenant nosuch", "tenant"),
    ):
        refused(data_dir, line, field)
    assert _playlists(data_dir) == before
    assert _file(data_dir).read_bytes() == written
