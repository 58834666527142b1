"""A mailbox's PIN and greeting, set by an admin or from the phone, and what users did
from the phone applied by the collector: audited (the PIN never shown), all or nothing,
and mailboxes.json telling the media application."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from provd.db.models import AuditEntry, Sound, Tenant, User, VoicemailMessage
from provd.domain import voicemail_pin
from provd.domain.errors import InvalidInput, NotFound
from provd.media import mailbox_actions, sounds
from provd.services import voicemail
from provd.services.directory import users
from provd.services.menus import sounds as sound_store
from provd.services.platform import Platform
from provd.services.voicemail import mailbox, spool_io
from provd.services.voicemail.collector import VoicemailCollector
from provd.services.voicemail.mailbox_actions import apply_actions
from tests.conftest import TEST_ACTOR as A
from tests.services.menus.audio import tone_wav
from tests.services.voicemail.spool import spool_message

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


async def test_a_pin_is_stored_hashed_and_audited_without_itself(office: Platform) -> None:
    view = await mailbox.set_pin(A, "default", "201", " 4711 ")
    assert view["pin_set"] is True
    user = await User.get(extension="201")
    assert user.voicemail_pin is not None and "4711" not in user.voicemail_pin.split("$")[:3]
    assert voicemail_pin.verify("4711", voicemail_pin.parse_stored(user.voicemail_pin))
    entry = await AuditEntry.filter(action="voicemail.pin").get()
    assert (entry.object_type, entry.object_key) == ("user", "default/201")
    assert (entry.before, entry.after) == ({"pin_set": False}, {"pin_set": True})
    assert "4711" not in json.dumps([entry.before, entry.after])
    cleared = await mailbox.set_pin(A, "default", "201", None)
    assert cleared["pin_set"] is False
    assert (await User.get(extension="201")).voicemail_pin is None


@pytest.mark.parametrize("pin", ["12", "0000", "201", "abcd", "123456789"])
async def test_a_refused_pin_changes_nothing(office: Platform, pin: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await mailbox.set_pin(A, "default", "201", pin)
    assert caught.value.field == "voicemail_pin"
    assert (await User.get(extension="201")).voicemail_pin is None
    assert not await AuditEntry.filter(action="voicemail.pin").exists()


async def test_a_pin_for_nobody_is_not_found(office: Platform) -> None:
    with pytest.raises(NotFound):
        await mailbox.set_pin(A, "default", "299", "4711")


async def test_a_greeting_is_a_sound_of_the_tenant(office: Platform) -> None:
    await sound_store.add_sound(office, A, "default", "hello", tone_wav(1.0))
    view = await mailbox.set_greeting(A, "default", "201", "hello")
    assert view["greeting"] == "hello"
    entry = await AuditEntry.filter(action="voicemail.greeting").get()
    assert (entry.before, entry.after) == ({"greeting": None}, {"greeting": "hello"})
    # In use: the sound stays.
    with pytest.raises(InvalidInput, match="user 201's voicemail greeting"):
        await sound_store.remove_sound(office, A, "default", "hello")
    with pytest.raises(NotFound) as caught:
        await mailbox.set_greeting(A, "default", "201", "nothing-by-this-name")
    assert caught.value.field == "greeting"
    assert (await mailbox.show_mailbox("default", "201"))["greeting"] == "hello"
    assert (await mailbox.set_greeting(A, "default", "201", ""))["greeting"] is None


async def test_mailboxes_json_carries_the_greeting_pin_and_messages(office: Platform) -> None:
    await sound_store.add_sound(office, A, "default", "hello", tone_wav(1.0))
    await mailbox.set_greeting(A, "default", "201", "hello")
    await mailbox.set_pin(A, "default", "201", "4711")
    media = _media(office)
    spool_message(media, await _domain(), "201", at=NOW)
    [filed] = await voicemail.ingest(media, office.data_dir)
    boxes = await voicemail.media_mailboxes(office.data_dir)
    box = boxes[await _domain()]["201"]
    assert box.greeting == "default/hello"
    assert box.pin == (await User.get(extension="201")).voicemail_pin
    [message] = box.messages
    assert (message.id, message.heard) == (filed.message.id, False)
    assert Path(message.path) == office.data_dir.absolute() / filed.message.path
    assert boxes[await _domain()]["202"] == spool_io.Mailbox()


# ---- what the user did from the phone --------------------------------------------------


async def _filed(office: Platform, count: int) -> list[VoicemailMessage]:
    media = _media(office)
    for _ in range(count):
        spool_message(media, await _domain(), "201", at=NOW)
    return [f.message for f in await voicemail.ingest(media, office.data_dir)]


async def test_heard_and_deleted_from_the_phone_are_applied_as_the_user(office: Platform) -> None:
    first, second = await _filed(office, 2)
    media, domain = _media(office), await _domain()
    mailbox_actions.write_action(
        media, domain=domain, mailbox="201", action="heard", message=first.id
    )
    mailbox_actions.write_action(
        media, domain=domain, mailbox="201", action="delete", message=second.id
    )
    written: list[bool] = []

    async def rewrite() -> None:
        written.append(True)

    collector = VoicemailCollector(
        media, office.data_dir, control=None, smtp=None, retention_days=30,
        on_mailboxes_changed=rewrite,
    )  # fmt: skip
    assert await collector.collect() == []
    assert written == [True]
    assert (await VoicemailMessage.get(id=first.id)).heard
    assert not await VoicemailMessage.filter(id=second.id).exists()
    assert not (office.data_dir / second.path).exists()
    actors = {
        e.action: e.actor
        for e in await AuditEntry.filter(action__in=["voicemail.heard", "voicemail.remove"])
    }
    assert actors == {
        "voicemail.heard": "phone:201@default",
        "voicemail.remove": "phone:201@default",
    }
    assert spool_io.read_actions(media) == []
    # Nothing left: nothing rewritten.
    await collector.collect()
    assert written == [True]


async def test_an_action_on_someone_elses_or_a_gone_message_changes_nothing(
    office: Platform,
) -> None:
    [message] = await _filed(office, 1)
    media, domain = _media(office), await _domain()
    # 202 cannot delete 201's message; a message already removed is no error.
    mailbox_actions.write_action(
        media, domain=domain, mailbox="202", action="delete", message=message.id
    )
    mailbox_actions.write_action(
        media, domain=domain, mailbox="201", action="delete", message=99999
    )
    mailbox_actions.write_action(
        media, domain="nowhere.test", mailbox="201", action="delete", message=message.id
    )
    applied = await apply_actions(media, office.data_dir)
    assert applied.users == []
    assert await VoicemailMessage.filter(id=message.id).exists()
    assert not await AuditEntry.filter(action="voicemail.remove").exists()
    assert spool_io.read_actions(media) == []


async def test_heard_twice_is_audited_once(office: Platform) -> None:
    [message] = await _filed(office, 1)
    media, domain = _media(office), await _domain()
    for _ in range(2):
        mailbox_actions.write_action(
            media, domain=domain, mailbox="201", action="heard", message=message.id
        )
    await apply_actions(media, office.data_dir)
    assert await AuditEntry.filter(action="voicemail.heard").count() == 1


async def test_a_greeting_recorded_on_the_phone_becomes_the_users(office: Platform) -> None:
    media, domain = _media(office), await _domain()
    pcm = sounds.tone(700, 1500)
    mailbox_actions.write_greeting(media, domain=domain, mailbox="201", pcm16=pcm)
    applied = await apply_actions(media, office.data_dir)
    assert applied.changed
    sound = await Sound.get(name="voicemail-201")
    assert sound.duration_ms == 1500
    stored = office.data_dir / "sounds" / "default" / "voicemail-201.wav"
    assert sounds.read_prompt(stored) == pcm
    assert (await mailbox.show_mailbox("default", "201"))["greeting"] == "voicemail-201"
    # Recorded again: the same sound, replaced.
    mailbox_actions.write_greeting(media, domain=domain, mailbox="201", pcm16=pcm * 2)
    await apply_actions(media, office.data_dir)
    assert await Sound.filter(name="voicemail-201").count() == 1
    assert (await Sound.get(name="voicemail-201")).duration_ms == 3000
    entries = await AuditEntry.filter(actor="phone:201@default").order_by("id")
    assert [e.action for e in entries] == [
        "sound.add",
        "voicemail.greeting",
        "sound.replace",
        "voicemail.greeting",
    ]
    assert spool_io.read_greetings(media) == []


async def test_a_greeting_for_no_mailbox_is_set_aside(office: Platform) -> None:
    media = _media(office)
    mailbox_actions.write_greeting(media, domain="nowhere.test", mailbox="201", pcm16=b"\0\0" * 800)
    await apply_actions(media, office.data_dir)
    assert not await Sound.exists()
    assert len(list((media / "voicemail" / "bad").iterdir())) == 2
