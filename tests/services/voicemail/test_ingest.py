"""Collecting voicemail from the media application's spool: filed once in provd's
store with its row and audit row, unknown mailboxes set aside, old messages expired,
copies e-mailed with the recording, and mailboxes.json written for every user."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provd.db.models import AuditEntry, Tenant, VoicemailMessage
from provd.domain.errors import InvalidInput, NotFound
from provd.services import voicemail
from provd.services.directory import users
from provd.services.limits.mail import Smtp
from provd.services.platform import Platform
from provd.services.voicemail import spool_io
from provd.services.voicemail.collector import VoicemailCollector
from tests.conftest import TEST_ACTOR as A
from tests.services.menus.audio import tone_wav
from tests.services.voicemail.spool import spool_message
from tests.smtp_sink import smtp_sink

NOW = datetime(2026, 12, 7, 16, 10, tzinfo=UTC)


@pytest.fixture
async def office(platform: Platform) -> Platform:
    await users.add_user(platform, A, "default", "201", "Reception")
    await users.add_user(platform, A, "default", "202", "Sales")
    return platform


async def _domain() -> str:
    return (await Tenant.get(slug="default")).sip_domain


def _media(p: Platform) -> Path:
    return p.data_dir / "pbx" / "media"


async def test_a_spooled_message_is_filed_with_its_audio_and_audit_row(office: Platform) -> None:
    media = _media(office)
    audio = tone_wav(0.3)
    sid = spool_message(media, await _domain(), "201", at=NOW, wav=audio, reason="user-busy")
    [filed] = await voicemail.ingest(media, office.data_dir)
    row = await VoicemailMessage.get(spool_id=sid)
    assert row.id == filed.message.id
    assert (row.caller, row.caller_name, row.caller_number) == (
        "0612345678", "Jan Jansen", "+31612345678",
    )  # fmt: skip
    assert (row.received_at, row.duration_ms, row.reason, row.heard) == (
        NOW, 200, "user-busy", False,
    )  # fmt: skip
    assert row.path == f"voicemail/default/201/{sid}.wav"
    assert (office.data_dir / row.path).read_bytes() == audio
    # The spool is empty: the WAV moved, the JSON deleted after the commit.
    assert list((media / "voicemail" / "new").iterdir()) == []
    entry = await AuditEntry.filter(action="voicemail.receive").get()
    assert entry.object_key == f"default/{row.id}"
    assert entry.after is not None and entry.after["spool_id"] == sid
    assert await voicemail.list_messages("default", "201") == [voicemail.message_view(row, "201")]
    assert await voicemail.list_messages("default", "202") == []


async def test_a_message_read_again_after_a_crash_is_filed_once(office: Platform) -> None:
    media = _media(office)
    sid = spool_message(media, await _domain(), "201", at=NOW)
    json_copy = (media / "voicemail" / "new" / f"{sid}.json").read_bytes()
    await voicemail.ingest(media, office.data_dir)
    # As if provd died between its commit and deleting the JSON.
    (media / "voicemail" / "new" / f"{sid}.json").write_bytes(json_copy)
    assert await voicemail.ingest(media, office.data_dir) == []
    assert await VoicemailMessage.filter(spool_id=sid).count() == 1
    assert not (media / "voicemail" / "new" / f"{sid}.json").exists()
    # Or died between moving the WAV and its commit: the stored WAV is used.
    row = await VoicemailMessage.get(spool_id=sid)
    await row.delete()
    (media / "voicemail" / "new" / f"{sid}.json").write_bytes(json_copy)
    [filed] = await voicemail.ingest(media, office.data_dir)
    assert filed.message.path == row.path


async def test_a_message_for_no_mailbox_is_set_aside(office: Platform) -> None:
    media = _media(office)
    unknown_ext = spool_message(media, await _domain(), "299", at=NOW)
    unknown_domain = spool_message(media, "nowhere.test", "201", at=NOW)
    bad = media / "voicemail" / "new" / "20261207T161000-000000000000.json"
    bad.write_text("{not json")
    assert await voicemail.ingest(media, office.data_dir) == []
    assert await VoicemailMessage.all().count() == 0
    aside = sorted(p.name for p in (media / "voicemail" / "bad").iterdir())
    assert aside == sorted(
        [f"{unknown_ext}.json", f"{unknown_ext}.wav", f"{unknown_domain}.json",
         f"{unknown_domain}.wav", bad.name]
    )  # fmt: skip
    assert list((media / "voicemail" / "new").iterdir()) == []


async def test_old_messages_expire_with_their_files(office: Platform) -> None:
    media = _media(office)
    domain = await _domain()
    old = spool_message(media, domain, "201", at=NOW - timedelta(days=31))
    kept = spool_message(media, domain, "201", at=NOW - timedelta(days=29))
    await voicemail.ingest(media, office.data_dir)
    old_row = await VoicemailMessage.get(spool_id=old)
    changed = await voicemail.expire(office.data_dir, NOW, 30)
    assert [u.extension for u in changed] == ["201"]
    assert [m.spool_id for m in await VoicemailMessage.all()] == [kept]
    assert not (office.data_dir / old_row.path).exists()
    entry = await AuditEntry.filter(action="voicemail.expire").get()
    assert entry.object_key == f"default/{old_row.id}"
    assert await voicemail.expire(office.data_dir, NOW, 30) == []


async def test_heard_and_removed(office: Platform) -> None:
    media = _media(office)
    domain = await _domain()
    spool_message(media, domain, "201", at=NOW)
    spool_message(media, domain, "201", at=NOW + timedelta(seconds=1))
    first, second = await voicemail.ingest(media, office.data_dir)
    view, user = await voicemail.mark_heard(office, A, "default", first.message.id)
    assert view["heard"] is True and user.extension == "201"
    assert await voicemail.counts(user) == (1, 1)
    await voicemail.remove_message(office, A, "default", second.message.id)
    assert not (office.data_dir / second.message.path).exists()
    assert await voicemail.counts(user) == (0, 1)
    for missing in (second.message.id, "x", 2**40):
        with pytest.raises(NotFound):
            await voicemail.mark_heard(office, A, "default", missing)
    assert await AuditEntry.filter(action__startswith="voicemail.").count() == 4


async def test_a_copy_with_the_recording_is_emailed(office: Platform) -> None:
    media = _media(office)
    audio = tone_wav(0.25)
    await voicemail.set_email(office, A, "default", "201", "desk@example.test")
    with pytest.raises(InvalidInput):
        await voicemail.set_email(office, A, "default", "202", "not an address")
    domain = await _domain()
    spool_message(media, domain, "201", at=NOW, wav=audio)
    spool_message(media, domain, "202", at=NOW)  # no address: no copy
    with smtp_sink() as (port, inbox):
        collector = VoicemailCollector(
            media,
            office.data_dir,
            control=None,
            smtp=Smtp("127.0.0.1", port, "provd@pbx.test"),
            retention_days=30,
        )
        assert len(await collector.collect()) == 2
    [mail] = inbox
    assert mail["To"] == "desk@example.test"
    assert mail["Subject"] == "Voicemail for 201 from Jan Jansen (0612345678)"
    [attached] = [part for part in mail.walk() if part.get_filename()]
    assert attached.get_content_type() == "audio/wav"
    assert attached.get_payload(decode=True) == audio


async def test_mailboxes_json_names_every_user(office: Platform) -> None:
    media = _media(office)
    spool_message(media, await _domain(), "201", at=NOW)
    [filed] = await voicemail.ingest(media, office.data_dir)
    path = spool_io.write_mailboxes(media, await voicemail.media_mailboxes(office.data_dir))
    written = json.loads(path.read_text())
    stored = str(office.data_dir.absolute() / filed.message.path)
    none = {"greeting": None, "max_seconds": 120, "pin": None}
    assert written == {
        "version": 1,
        "tenants": {
            await _domain(): {
                "201": {
                    **none,
                    "messages": [{"id": filed.message.id, "path": stored, "heard": False}],
                },
                "202": {**none, "messages": []},
            }
        },
    }


async def test_a_removed_users_messages_go_with_it(office: Platform) -> None:
    media = _media(office)
    spool_message(media, await _domain(), "201", at=NOW)
    [filed] = await voicemail.ingest(media, office.data_dir)
    assert (office.data_dir / filed.message.path).is_file()
    await users.remove_user(office, A, "default", "201")
    assert await VoicemailMessage.all().count() == 0
    assert not (office.data_dir / filed.message.path).exists()
    entry = await AuditEntry.filter(action="user.remove").get()
    assert entry.before is not None and entry.before["voicemail_messages"] == 1
