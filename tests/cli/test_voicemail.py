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
