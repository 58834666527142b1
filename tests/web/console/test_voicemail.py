"""The console's voicemail page: a tenant's messages by mailbox (caller, time in the
tenant's timezone, duration, heard or new, a player on the API's audio route), one
mailbox on its own; mark a message heard and remove one, each audited; a user's copy
address set, refused on its field and cleared; the mailbox offered as a destination
kind; a tenant admin works in their own tenant only."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from provd.db.models import AuditEntry, HuntGroup, Tenant, User, VoicemailMessage
from provd.services import schedules, voicemail
from provd.services.menus import sounds as sound_store
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.services.menus.audio import tone_wav
from tests.services.voicemail.spool import spool_message
from tests.web.console.conftest import Console
from tests.web.console.test_groups import text
from tests.web.console.test_numbers import field_error, flashes

NOW = datetime(2026, 12, 7, 16, 10, tzinfo=UTC)


async def _messages(p: Platform, tenant: str, mailbox: str, count: int = 1) -> list[int]:
    """``count`` messages spooled and filed for ``mailbox``, oldest first: their ids."""
    media = p.data_dir / "pbx" / "media"
    domain = (await Tenant.get(slug=tenant)).sip_domain
    for i in range(count):
        spool_message(media, domain, mailbox, at=NOW.replace(minute=10 + i))
    return [f.message.id for f in await voicemail.ingest(media, p.data_dir)]


def mailboxes(page: str) -> dict[str, str]:
    """Each mailbox's card by extension."""
    return dict(
        re.findall(
            r'<section class="card mailbox"[^>]*data-mailbox="(\d+)"(.*?)</section>', page, re.S
        )
    )


def rows(card: str) -> dict[int, list[str]]:
    """A mailbox's messages by id: caller, received, duration, state."""
    out = {}
    for mid, row in re.findall(r'<tr id="message-\d+" data-message="(\d+)">(.*?)</tr>', card, re.S):
        out[int(mid)] = [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[:4]]
    return out


async def snapshot() -> list[object]:
    return [
        await AuditEntry.all().count(),
        await VoicemailMessage.all().order_by("id").values(),
        await User.all().order_by("id").values("id", "voicemail_email"),
    ]


async def test_messages_are_listed_by_mailbox_heard_and_removed(
    alice: Console, platform: Platform
) -> None:
    first, second = await _messages(platform, "acme", "201", 2)
    [other] = await _messages(platform, "acme", "202")
    status, page = await alice.get("/console/voicemail?tenant=acme")
    assert status == 200
    assert '<a href="/console/voicemail"' in page  # in the navigation
    cards = mailboxes(page)
    assert list(cards) == ["201", "202"]
    assert "2 message(s), 2 new" in text(cards["201"])
    # Newest first; Europe/Amsterdam is an hour ahead of UTC in December.
    assert rows(cards["201"]) == {
        second: ["Jan Jansen +31612345678", "Mon 2026-12-07 17:11", "0.2 s", "new"],
        first: ["Jan Jansen +31612345678", "Mon 2026-12-07 17:10", "0.2 s", "new"],
    }
    assert list(rows(cards["202"])) == [other]
    assert (
        f'<audio controls preload="none" src="/api/v1/tenants/acme/voicemail/{first}/audio"'
        in cards["201"]
    )
    # The player's route answers the console's session with the WAV.
    async with alice.session.get(f"/api/v1/tenants/acme/voicemail/{first}/audio") as r:
        assert r.status == 200 and (await r.read())[:4] == b"RIFF"

    # One mailbox on its own; an unknown one says so and shows all.
    _, page = await alice.get("/console/voicemail?tenant=acme&user=202")
    assert list(mailboxes(page)) == ["202"]
    _, page = await alice.get("/console/voicemail?tenant=acme&user=299")
    assert "no user 299" in field_error(page, "e-f-user")
    assert list(mailboxes(page)) == ["201", "202"]

    status, page = await alice.post(
        f"/console/voicemail/acme/messages/{first}/heard", {"user": "201"}
    )
    assert status == 200 and f"Message {first} marked heard." in flashes(page)
    assert list(mailboxes(page)) == ["201"]  # back on the mailbox it was posted from
    card = mailboxes(page)["201"]
    assert rows(card)[first][3] == "heard" and rows(card)[second][3] == "new"
    assert f"/messages/{first}/heard" not in card and f"/messages/{second}/heard" in card
    assert (await VoicemailMessage.get(id=first)).heard
    entry = await AuditEntry.filter(action="voicemail.heard").get()
    assert entry.actor == "web:alice" and entry.object_key == f"acme/{first}"

    assert 'data-confirm="Remove the message from Jan Jansen +31612345678?"' in card
    path = platform.data_dir / (await VoicemailMessage.get(id=second)).path
    _, page = await alice.post(f"/console/voicemail/acme/messages/{second}/remove")
    assert f"Message {second} removed." in flashes(page)
    assert list(rows(mailboxes(page)["201"])) == [first]
    assert not await VoicemailMessage.filter(id=second).exists() and not path.exists()
    assert await AuditEntry.filter(action="voicemail.remove", object_key=f"acme/{second}").exists()

    # Gone now: marking or removing it again is 404, as is an id that never was.
    before = await snapshot()
    for action in ("heard", "remove"):
        for mid in (str(second), "999999", "x"):
            status, _ = await alice.post(f"/console/voicemail/acme/messages/{mid}/{action}")
            assert status == 404, (action, mid)
    assert await snapshot() == before


async def test_the_copy_address_is_set_refused_on_its_field_and_cleared(
    alice: Console,
) -> None:
    _, page = await alice.get("/console/voicemail?tenant=acme")
    assert 'id="m201-email" name="email" type="email"' in page
    status, page = await alice.post(
        "/console/voicemail/acme/users/201/email", {"email": " desk@acme.example "}
    )
    assert status == 200 and "Copies of 201's messages: address saved." in flashes(page)
    assert 'value="desk@acme.example"' in mailboxes(page)["201"]
    assert (await User.get(extension="201")).voicemail_email == "desk@acme.example"
    entry = await AuditEntry.filter(action="voicemail.email").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice" and entry.object_key == "acme/201"

    before = await snapshot()
    for bad in ("not an address", "two@@acme.example", "@acme.example"):
        status, page = await alice.post(
            "/console/voicemail/acme/users/201/email", {"email": bad, "user": ""}
        )
        assert status == 200
        assert "is not an e-mail address" in field_error(page, "m201-e-email"), bad
        assert field_error(page, "m202-e-email") == ""
        assert any(f.startswith("The address was not saved") for f in flashes(page))
        card = mailboxes(page)["201"]
        assert 'aria-invalid="true"' in card and 'aria-invalid="true"' not in mailboxes(page)["202"]
    status, _ = await alice.post("/console/voicemail/acme/users/299/email", {"email": ""})
    assert status == 404
    assert await snapshot() == before

    _, page = await alice.post("/console/voicemail/acme/users/201/email", {"email": ""})
    assert "Copies of 201's messages: address saved." in flashes(page)
    assert (await User.get(extension="201")).voicemail_email is None


async def test_a_mailbox_is_offered_where_destinations_are_picked(
    alice: Console, platform: Platform
) -> None:
    await schedules.add_schedule(platform, TEST_ACTOR, "acme", "hours", ["mon-fri 08:00-17:00"])
    option = '<option value="voicemail">voicemail</option>'
    for page_path in (
        "/console/users/acme/201",
        "/console/groups?tenant=acme",
        "/console/schedules?tenant=acme",
        "/console/menus?tenant=acme",
        "/console/trunks?tenant=acme",
    ):
        status, page = await alice.get(page_path)
        assert status == 200 and option in page, page_path

    # Picked on a form, it is stored as the mailbox and shown back as picked.
    form = {"extension": "600", "name": "Reception", "policy": "fixed", "ring_seconds": "15"}
    form |= {"total_wait_seconds": "0", "overflow_kind": "voicemail", "overflow_key": "201"}
    _, page = await alice.post("/console/groups/acme", form)
    assert "Group 600 added." in flashes(page)
    group = await HuntGroup.get(extension="600", tenant__slug="acme")
    assert group.overflow == {"kind": "voicemail", "user_id": (await User.get(extension="201")).id}
    assert '<option value="voicemail" selected>voicemail</option>' in page
    _, page = await alice.post(
        "/console/groups/acme", {**form, "extension": "610", "overflow_key": "299"}
    )
    assert "user '299 in tenant acme' not found" in field_error(page, "a-overflow-error")


async def test_a_tenant_admin_works_in_their_own_tenant_only(
    tara: Console, platform: Platform
) -> None:
    [own] = await _messages(platform, "acme", "201")
    [theirs] = await _messages(platform, "globex", "301")
    status, page = await tara.get("/console/voicemail?tenant=globex")
    assert status == 200 and list(mailboxes(page)) == ["201", "202"]
    assert "Globex" not in page and 'id="f-tenant"' not in page
    assert list(rows(mailboxes(page)["201"])) == [own]

    before = await snapshot()
    for action in ("heard", "remove"):
        # Another tenant's message, through one's own tenant or the other's path: 404.
        status, _ = await tara.post(f"/console/voicemail/acme/messages/{theirs}/{action}")
        assert status == 404, action
        other_status, other = await tara.post(
            f"/console/voicemail/globex/messages/{theirs}/{action}"
        )
        missing_status, missing = await tara.post(
            f"/console/voicemail/nosuch/messages/{theirs}/{action}"
        )
        assert other_status == missing_status == 404, action
        assert other.replace("globex", "T") == missing.replace("nosuch", "T")
    for slug in ("globex", "nosuch"):
        status, _ = await tara.post(
            f"/console/voicemail/{slug}/users/301/email", {"email": "x@globex.example"}
        )
        assert status == 404, slug
    assert await snapshot() == before

    _, page = await tara.post(f"/console/voicemail/acme/messages/{own}/heard")
    assert f"Message {own} marked heard." in flashes(page)
    entry = await AuditEntry.filter(action="voicemail.heard").get()
    assert entry.actor == "web:tara"


async def test_the_pin_is_set_refused_on_its_field_never_shown_and_cleared(
    alice: Console,
) -> None:
    _, page = await alice.get("/console/voicemail?tenant=acme")
    card = mailboxes(page)["201"]
    assert 'name="voicemail_pin" type="password"' in card
    assert "none: *1233 is refused" in text(card) and "Clear PIN" not in card
    status, page = await alice.post(
        "/console/voicemail/acme/users/201/pin", {"voicemail_pin": "4711"}
    )
    assert status == 200 and "201's voicemail PIN set." in flashes(page)
    card = mailboxes(page)["201"]
    assert "(set)" in text(card) and "Clear PIN" in card and "4711" not in page
    assert (await User.get(extension="201")).voicemail_pin is not None
    entry = await AuditEntry.filter(action="voicemail.pin").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice" and entry.after == {"pin_set": True}

    before = await snapshot(), (await User.get(extension="201")).voicemail_pin
    for bad in ("1111", "201", "12", ""):
        status, page = await alice.post(
            "/console/voicemail/acme/users/201/pin", {"voicemail_pin": bad}
        )
        assert status == 200
        assert field_error(page, "m201-e-pin") != "", bad
        assert field_error(page, "m202-e-pin") == ""
        assert any(f.startswith("The PIN was not saved") for f in flashes(page))
        # What was typed is not sent back.
        [pin_input] = re.findall(r'<input id="m201-pin"[^>]*>', page)
        assert "value=" not in pin_input
    status, _ = await alice.post("/console/voicemail/acme/users/299/pin", {"voicemail_pin": "4711"})
    assert status == 404
    assert (await snapshot(), (await User.get(extension="201")).voicemail_pin) == before

    _, page = await alice.post("/console/voicemail/acme/users/201/pin", {"clear": "1"})
    assert "PIN cleared" in " ".join(flashes(page))
    assert (await User.get(extension="201")).voicemail_pin is None


async def test_the_greeting_is_one_of_the_tenants_sounds(
    alice: Console, platform: Platform
) -> None:
    await sound_store.add_sound(platform, TEST_ACTOR, "acme", "hello", tone_wav(0.5))
    _, page = await alice.get("/console/voicemail?tenant=acme")
    assert "<option>hello</option>" in mailboxes(page)["201"]
    status, page = await alice.post(
        "/console/voicemail/acme/users/201/greeting", {"greeting": "hello"}
    )
    assert status == 200 and "201's greeting saved." in flashes(page)
    assert "<option selected>hello</option>" in mailboxes(page)["201"]
    _, page = await alice.post("/console/voicemail/acme/users/201/greeting", {"greeting": "gone"})
    assert "not found" in field_error(page, "m201-e-greeting")
    _, page = await alice.post("/console/voicemail/acme/users/201/greeting", {"greeting": ""})
    assert "201's greeting saved." in flashes(page)
    assert "<option selected>hello</option>" not in mailboxes(page)["201"]
