"""`provd voicemail …`: messages collected from the spool listed (text and JSON), marked
heard and removed with their recording, copies' address set, and bad input refused."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from provd.db.connection import database, db_url_for
from provd.services import voicemail
from tests.cli.call_handling import ok
from tests.cli.runner import run
from tests.services.menus.audio import tone_wav
from tests.services.voicemail.spool import spool_message

AT = datetime(2026, 12, 7, 16, 10, tzinfo=UTC)


def _collect(data_dir: Path) -> list[int]:
    """What serve's collector does with the spool: message ids filed."""

    domain = json.loads(ok(data_dir, "tenant show default --json"))["sip_domain"]

    async def go() -> list[int]:
        async with database(db_url_for(data_dir)):
            media = data_dir / "pbx" / "media"
            spool_message(media, domain, "201", at=AT, reason="user-busy")
            spool_message(media, domain, "201", at=AT.replace(minute=11), caller_name="")
            return [f.message.id for f in await voicemail.ingest(media, data_dir)]

    return asyncio.run(go())


def _heard(data_dir: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        return db.execute("SELECT id, heard FROM voicemail_message ORDER BY id").fetchall()


def test_list_heard_remove(data_dir: Path) -> None:
    first, second = _collect(data_dir)
    listed = ok(data_dir, "voicemail list default").splitlines()
    assert listed[0].split() == ["ID", "MAILBOX", "RECEIVED", "CALLER", "LENGTH", "REASON", "HEARD"]
    assert listed[1].split()[:2] == [str(second), "201"]
    assert listed[2].split()[-2:] == ["user-busy", "no"]
    views = json.loads(ok(data_dir, "voicemail list default 201 --json"))
    assert [v["id"] for v in views] == [second, first]
    assert views[1]["caller_name"] == "Jan Jansen" and views[1]["heard"] is False

    heard = json.loads(ok(data_dir, f"voicemail heard default {first} --json"))
    assert heard["heard"] is True
    assert heard["lamp"] == "no_pbx"  # no serve has run a PBX here
    assert _heard(data_dir) == [(first, 1), (second, 0)]

    stored = data_dir / "voicemail" / "default" / "201"
    assert len(list(stored.iterdir())) == 2
    assert "Removed message" in ok(data_dir, f"voicemail remove default {second}")
    assert len(list(stored.iterdir())) == 1
    assert _heard(data_dir) == [(first, 1)]

    gone = run(data_dir, "voicemail", "remove", "default", str(second))
    assert gone.exit_code != 0 and "voicemail message" in gone.stderr
    assert run(data_dir, "voicemail", "list", "default", "299").exit_code != 0


def test_email_address_for_copies(data_dir: Path) -> None:
    set_to = json.loads(ok(data_dir, "voicemail email default 201 desk@example.test --json"))
    assert set_to == {"extension": "201", "email": "desk@example.test"}
    bad = run(data_dir, "voicemail", "email", "default", "201", "nobody")
    assert bad.exit_code == 1 and bad.stderr.startswith("error: email: ")
    assert "none" in ok(data_dir, "voicemail email default 201 none")


def _pin_stored(data_dir: Path) -> str | None:
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        [(stored,)] = db.execute("SELECT voicemail_pin FROM user WHERE extension = '201'")
        return stored  # type: ignore[no-any-return]


def test_pin_set_from_an_option_or_stdin_and_cleared(data_dir: Path) -> None:
    view = json.loads(ok(data_dir, "voicemail pin default 201 --pin 4711 --json"))
    assert view["pin_set"] is True and "4711" not in json.dumps(view)
    first = _pin_stored(data_dir)
    assert first is not None and first.startswith("pbkdf2_sha256$")
    piped = run(data_dir, "voicemail", "pin", "default", "201", "--pin-stdin", stdin="2580\n")
    assert piped.exit_code == 0 and "set" in piped.stdout
    assert _pin_stored(data_dir) not in (None, first)
    assert "cleared" in ok(data_dir, "voicemail pin default 201 --clear")
    assert _pin_stored(data_dir) is None
    shown = json.loads(ok(data_dir, "voicemail show default 201 --json"))
    assert shown["pin_set"] is False


def test_a_bad_pin_is_refused_naming_the_field_and_nothing_stored(data_dir: Path) -> None:
    for pin in ("1111", "201", "12", "12ab"):
        bad = run(data_dir, "voicemail", "pin", "default", "201", "--pin", pin)
        assert bad.exit_code == 1 and bad.stderr.startswith("error: voicemail_pin: "), bad.stderr
        assert pin not in bad.stderr.removeprefix("error: voicemail_pin: ")
    both = run(data_dir, "voicemail", "pin", "default", "201", "--pin", "4711", "--clear")
    assert both.exit_code == 1 and "exactly one" in both.stderr
    assert run(data_dir, "voicemail", "pin", "default", "201").exit_code == 1
    assert _pin_stored(data_dir) is None
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        query = "SELECT count(*) FROM audit_entry WHERE action = 'voicemail.pin'"
        assert db.execute(query).fetchall() == [(0,)]


def test_greeting_is_one_of_the_tenants_sounds(data_dir: Path) -> None:
    sound = data_dir / "hello.wav"
    sound.write_bytes(tone_wav(1.0))
    ok(data_dir, f"sounds add default hello {sound}")
    view = json.loads(ok(data_dir, "voicemail greeting default 201 hello --json"))
    assert view["greeting"] == "hello"
    assert "Greeting: hello" in ok(data_dir, "voicemail show default 201")
    missing = run(data_dir, "voicemail", "greeting", "default", "201", "nothing")
    assert missing.exit_code == 1 and missing.stderr.startswith("error: greeting: ")
    assert "none" in ok(data_dir, "voicemail greeting default 201 none")
