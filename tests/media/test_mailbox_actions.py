"""The spool of what users did in their mailboxes from the phone: what the media
application writes is what provd reads, in the order it was done, and a broken file is
set aside rather than applied or lost."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provd.media import sounds
from provd.media.mailbox_actions import (
    ACTIONS_DIR,
    GREETINGS_DIR,
    MailboxAction,
    read_actions,
    read_greetings,
    remove_action,
    remove_greeting,
    set_aside_greeting,
    write_action,
    write_greeting,
)
from provd.media.spool import BAD_DIR

AT = datetime(2026, 12, 7, 16, 10, 0, 123456, tzinfo=UTC)


def test_actions_read_back_in_the_order_they_were_done(tmp_path: Path) -> None:
    second = write_action(
        tmp_path, domain="acme.test", mailbox="2001", action="delete", message=12,
        at=AT + timedelta(seconds=1),
    )  # fmt: skip
    first = write_action(
        tmp_path, domain="acme.test", mailbox="2001", action="heard", message=12, at=AT
    )
    assert read_actions(tmp_path) == [first, second]
    assert first == MailboxAction(
        first.id, "acme.test", "2001", "heard", 12, AT.replace(microsecond=0)
    )
    doc = json.loads((tmp_path / ACTIONS_DIR / f"{second.id}.json").read_text())
    assert doc == {
        "version": 1, "domain": "acme.test", "mailbox": "2001", "action": "delete",
        "message": 12, "at": "2026-12-07T16:10:01Z",
    }  # fmt: skip
    remove_action(tmp_path, first.id)
    assert read_actions(tmp_path) == [second]
    assert not list((tmp_path / ACTIONS_DIR).glob(".*"))  # no temporary file left


def test_a_greeting_is_its_wav_then_its_json(tmp_path: Path) -> None:
    pcm = sounds.tone(700, 1500)
    greeting = write_greeting(tmp_path, domain="acme.test", mailbox="2001", pcm16=pcm, at=AT)
    [(read, wav)] = read_greetings(tmp_path)
    assert read == greeting
    assert greeting.duration_ms == 1500
    assert sounds.read_prompt(wav) == pcm
    remove_greeting(tmp_path, greeting.id)
    assert read_greetings(tmp_path) == []
    assert list((tmp_path / GREETINGS_DIR).iterdir()) == []


def test_a_wav_without_its_json_is_not_a_greeting(tmp_path: Path) -> None:
    (tmp_path / GREETINGS_DIR).mkdir(parents=True)
    sounds.write_wav(tmp_path / GREETINGS_DIR / "20261207T161000-0000000000ab.wav", b"\0\0")
    assert read_greetings(tmp_path) == []


@pytest.mark.parametrize(
    "change",
    [
        {"version": 2},
        {"action": "forward"},
        {"message": "12"},
        {"message": 0},
        {"message": True},
        {"mailbox": 2001},
        {"at": "2026-12-07T16:10:00"},
    ],
)
def test_a_broken_action_is_set_aside(tmp_path: Path, change: dict[str, object]) -> None:
    done = write_action(tmp_path, domain="acme.test", mailbox="2001", action="heard", message=12)
    path = tmp_path / ACTIONS_DIR / f"{done.id}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    assert read_actions(tmp_path) == []
    assert (tmp_path / BAD_DIR / path.name).exists()


def test_a_greeting_provd_cannot_apply_is_kept_for_someone_to_look_at(tmp_path: Path) -> None:
    greeting = write_greeting(tmp_path, domain="x.test", mailbox="9", pcm16=b"\0\0" * 8000)
    set_aside_greeting(tmp_path, greeting.id)
    assert read_greetings(tmp_path) == []
    assert {p.name for p in (tmp_path / BAD_DIR).iterdir()} == {
        f"{greeting.id}.json",
        f"{greeting.id}.wav",
    }


def test_ids_are_checked_before_touching_files(tmp_path: Path) -> None:
    for remove in (remove_action, remove_greeting, set_aside_greeting):
        with pytest.raises(ValueError):
            remove(tmp_path, "../mailboxes")
