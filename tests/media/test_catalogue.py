"""menus.json and the sounds directory: what provd writes is what the media application
reads, a change is seen at the next call, and a broken file is refused clearly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provd.domain import ivr
from provd.media import sounds
from provd.media.catalogue import (
    MENUS_FILE,
    SOUNDS_DIR,
    Catalogue,
    CatalogueError,
    menus_from_json,
    menus_to_json,
    write_menus,
)

DAY = ivr.Menu(
    "700",
    greeting="acme/day",
    keys={
        "1": ivr.Transfer(),
        "2": ivr.Submenu("701"),
        "0": ivr.Repeat(),
        "#": ivr.HangUp(),
        "*": ivr.DialByExtension(),
    },
    timeout_s=4,
    max_attempts=2,
    invalid_sound="acme/invalid",
    has_default=True,
    dial_length=4,
)
CLOSED = ivr.Menu("701", greeting="acme/closed", keys={})


def test_every_action_round_trips() -> None:
    tenants = {"acme.test": {"700": DAY, "701": CLOSED}}
    assert menus_from_json(menus_to_json(tenants)) == tenants


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "menus.json"),
        ('{"version": 2, "tenants": {}}', "version 2"),
        ('{"version": 1}', "tenants"),
        (
            '{"version": 1, "tenants": {"a.test": {"700": {"greeting": "g", "timeout_s": 5,'
            ' "max_attempts": 3, "has_default": false, "keys": {"1": {"action": "fly"}}}}}}',
            "menu 700 key 1: unknown action 'fly'",
        ),
    ],
)
def test_a_broken_document_is_refused_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        menus_from_json(text)


def test_a_changed_file_is_read_again_and_a_missing_one_means_no_menus(tmp_path: Path) -> None:
    catalogue = Catalogue(tmp_path)
    assert catalogue.menus("acme.test") == {}
    write_menus(tmp_path, {"acme.test": {"700": DAY}})
    assert catalogue.menus("ACME.test") == {"700": DAY}
    write_menus(tmp_path, {"acme.test": {"701": CLOSED}})
    # Same size within the same clock tick would hide a change: move the time on.
    path = tmp_path / MENUS_FILE
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert catalogue.menus("acme.test") == {"701": CLOSED}
    path.unlink()
    assert catalogue.menus("acme.test") == {}


def test_sounds_are_read_once_and_again_when_they_change(tmp_path: Path) -> None:
    catalogue = Catalogue(tmp_path)
    path = tmp_path / SOUNDS_DIR / "acme" / "day.wav"
    path.parent.mkdir(parents=True)
    sounds.write_wav(path, sounds.tone(440, 100))
    first = catalogue.sound("acme/day")
    assert len(first) == 1600  # 100 ms, 8,000 samples/s, 2 bytes each
    assert catalogue.sound("acme/day") is first
    sounds.write_wav(path, sounds.tone(440, 200))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert len(catalogue.sound("acme/day")) == 3200
    with pytest.raises(sounds.PromptError):
        catalogue.sound("../menus")
    with pytest.raises(FileNotFoundError):
        catalogue.sound("acme/none")


def test_a_sound_is_encoded_once_per_codec_until_it_changes(tmp_path: Path) -> None:
    catalogue = Catalogue(tmp_path)
    path = tmp_path / SOUNDS_DIR / "day.wav"
    path.parent.mkdir(parents=True)
    sounds.write_wav(path, sounds.tone(440, 100))
    alaw = catalogue.frames("day", "PCMA")
    assert len(alaw) == 5 and all(len(f) == 160 for f in alaw)
    assert catalogue.frames("day", "PCMA") is alaw
    assert catalogue.frames("day", "PCMU") != alaw
    sounds.write_wav(path, sounds.tone(440, 200))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert len(catalogue.frames("day", "PCMA")) == 10
