"""The voicemail spool: a message is listed once its JSON is there and only then, reads
back as written, oldest first, and a broken JSON is set aside instead of stopping
collection."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provd.media import sounds
from provd.media.spool import (
    BAD_DIR,
    SPOOL_DIR,
    SpooledMessage,
    new_id,
    read_spool,
    remove,
    write_message,
)

AT = datetime(2026, 12, 7, 16, 10, 0, 250_000, tzinfo=UTC)
PCM = sounds.tone(700, 1500)


def _write(
    data: Path, pcm: bytes = PCM, at: datetime = AT, caller: str = "0612345678"
) -> SpooledMessage:
    return write_message(
        data,
        domain="acme.test",
        mailbox="2001",
        caller=caller,
        caller_name="Jan Jansen",
        caller_number="+31612345678",
        call_id="abc@10.0.0.1",
        reason="user-busy",
        pcm16=pcm,
        received_at=at,
    )


def test_a_message_reads_back_as_written(tmp_path: Path) -> None:
    written = _write(tmp_path)
    assert written.duration_ms == 1500
    assert written.received_at == AT.replace(microsecond=0)
    [(message, wav)] = read_spool(tmp_path)
    assert message == written
    assert wav == tmp_path / SPOOL_DIR / f"{written.id}.wav"
    assert sounds.read_prompt(wav) == PCM
    doc = json.loads(wav.with_suffix(".json").read_text())
    assert doc["received_at"] == "2026-12-07T16:10:00Z"
    assert doc["version"] == 1 and doc["caller_number"] == "+31612345678"
    assert sorted(p.name for p in wav.parent.iterdir()) == [f"{written.id}.json", wav.name]


def test_an_unknown_number_reads_back_as_null(tmp_path: Path) -> None:
    written = write_message(
        tmp_path, domain="acme.test", mailbox="2001", caller="", caller_name="",
        caller_number=None, call_id="x", reason="", pcm16=PCM,
    )  # fmt: skip
    [(message, _)] = read_spool(tmp_path)
    assert message == written and message.caller_number is None
    assert message.received_at.tzinfo is not None


def test_a_wav_without_its_json_is_not_listed(tmp_path: Path) -> None:
    assert read_spool(tmp_path) == []  # no spool at all yet
    written = _write(tmp_path)
    (tmp_path / SPOOL_DIR / f"{written.id}.json").unlink()  # recording, or cut short
    (tmp_path / SPOOL_DIR / f".{new_id(AT)}.json.tmp").write_text("{")
    assert read_spool(tmp_path) == []


def test_messages_come_oldest_first(tmp_path: Path) -> None:
    later = _write(tmp_path, at=AT + timedelta(minutes=1))
    first = _write(tmp_path)
    same_second = _write(tmp_path, at=AT + timedelta(microseconds=1))
    assert [m.id for m, _ in read_spool(tmp_path)] == [first.id, same_second.id, later.id]


def test_ids_are_unique_and_sort_as_taken() -> None:
    times = [AT + timedelta(microseconds=n * 37) for n in range(200)]
    ids = [new_id(t) for t in times]
    assert len(set(ids)) == len(ids)
    assert sorted(ids) == ids
    assert ids[0].startswith("20261207T161000-")
    assert len(set(new_id(AT) for _ in range(1000))) == 1000


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        '{"version": 2}',
        '{"version": 1, "domain": "acme.test"}',
        "\xff\xfe",
    ],
)
def test_a_broken_json_is_moved_aside(tmp_path: Path, text: str) -> None:
    good = _write(tmp_path)
    broken = _write(tmp_path, at=AT - timedelta(hours=1))
    (tmp_path / SPOOL_DIR / f"{broken.id}.json").write_bytes(text.encode("latin-1"))
    assert [m for m, _ in read_spool(tmp_path)] == [good]
    bad = tmp_path / BAD_DIR
    assert sorted(p.name for p in bad.iterdir()) == [f"{broken.id}.json", f"{broken.id}.wav"]
    assert [m for m, _ in read_spool(tmp_path)] == [good]  # and it stays aside


def test_a_json_not_named_as_a_message_is_moved_aside(tmp_path: Path) -> None:
    spool = tmp_path / SPOOL_DIR
    spool.mkdir(parents=True)
    (spool / "notes.json").write_text("{}")
    assert read_spool(tmp_path) == []
    assert (tmp_path / BAD_DIR / "notes.json").exists()


def test_remove_forgets_a_message_even_once_its_wav_was_taken(tmp_path: Path) -> None:
    one, two = _write(tmp_path), _write(tmp_path)
    remove(tmp_path, one.id)
    [(left, wav)] = read_spool(tmp_path)
    assert left == two
    wav.unlink()  # provd moved it, then stopped before removing the JSON
    assert [m for m, _ in read_spool(tmp_path)] == [two]  # listed again, to be removed
    remove(tmp_path, two.id)
    remove(tmp_path, two.id)  # twice is harmless
    assert read_spool(tmp_path) == []
    with pytest.raises(ValueError, match="not a message id"):
        remove(tmp_path, "../menus")
