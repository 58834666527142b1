"""Voicemail over the API: a tenant admin lists, plays, marks heard and removes their
own tenant's messages only (another's answers as a missing one)."""

from __future__ import annotations

from datetime import UTC, datetime

from provd.db.models import Tenant, VoicemailMessage
from provd.services import voicemail
from provd.services.platform import Platform
from tests.services.menus.audio import tone_wav
from tests.services.voicemail.spool import spool_message
from tests.web.call_handling import call, clients
from tests.web.conftest import Served

AT = datetime(2026, 12, 7, 16, 10, tzinfo=UTC)


async def _leave(platform: Platform, slug: str, ext: str, minute: int, audio: bytes) -> int:
    media = platform.data_dir / "pbx" / "media"
    domain = (await Tenant.get(slug=slug)).sip_domain
    spool_message(media, domain, ext, at=AT.replace(minute=minute), wav=audio)
    [filed] = await voicemail.ingest(media, platform.data_dir)
    return filed.message.id


async def test_a_tenant_admin_handles_their_tenants_voicemail_only(
    served: Served, platform: Platform
) -> None:
    audio = tone_wav(0.2)
    async with clients(served, platform) as c:
        first = await _leave(platform, "acme", "201", 10, audio)
        second = await _leave(platform, "acme", "202", 11, audio)
        theirs = await _leave(platform, "globex", "201", 12, audio)

        listed = await call(c.acme, "GET", "/tenants/acme/voicemail", 200)
        assert [m["id"] for m in listed] == [second, first]
        assert listed[1] == {
            "id": first, "mailbox": "201", "caller": "0612345678", "caller_name": "Jan Jansen",
            "caller_number": "+31612345678", "received_at": "2026-12-07T16:10:00+00:00",
            "duration_ms": 200, "reason": "no-answer", "heard": False,
        }  # fmt: skip
        only = await call(c.acme, "GET", "/tenants/acme/voicemail", 200, params={"user": "202"})
        assert [m["id"] for m in only] == [second]
        await call(c.acme, "GET", "/tenants/acme/voicemail", 404, params={"user": "299"})
        await call(c.acme, "GET", "/tenants/globex/voicemail", 404)

        async with c.acme.get(f"/api/v1/tenants/acme/voicemail/{first}/audio") as r:
            assert (r.status, r.content_type) == (200, "audio/wav")
            assert await r.read() == audio
        # Another tenant's message, named in the tenant admin's own tenant, is not found.
        await call(c.acme, "GET", f"/tenants/acme/voicemail/{theirs}/audio", 404)
        await call(c.acme, "POST", f"/tenants/acme/voicemail/{theirs}/heard", 404)
        await call(c.acme, "DELETE", f"/tenants/acme/voicemail/{theirs}", 404)
        await call(c.acme, "POST", "/tenants/acme/voicemail/nope/heard", 404)

        heard = await call(c.acme, "POST", f"/tenants/acme/voicemail/{first}/heard", 200)
        assert heard["heard"] is True and heard["lamp"] == "no_pbx"
        await call(c.acme, "DELETE", f"/tenants/acme/voicemail/{second}", 204)
        await call(c.acme, "DELETE", f"/tenants/acme/voicemail/{second}", 404)
        assert [m.id for m in await VoicemailMessage.all().order_by("id")] == [first, theirs]
        assert (await VoicemailMessage.get(id=first)).heard
        await call(c.admin, "GET", "/tenants/globex/voicemail", 200)


async def test_a_tenant_admin_sets_their_users_pin_and_greeting(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        box = await call(c.acme, "GET", "/users/acme/201/voicemail", 200)
        assert box == {
            "tenant": "acme", "extension": "201", "pin_set": False, "greeting": None,
            "email": None,
        }  # fmt: skip
        set_pin = await call(
            c.acme, "PUT", "/users/acme/201/voicemail/pin", 200, json={"voicemail_pin": "4711"}
        )
        assert set_pin["pin_set"] is True and "4711" not in str(set_pin)
        bad = await call(
            c.acme, "PUT", "/users/acme/201/voicemail/pin", 400, json={"voicemail_pin": "201"}
        )
        assert bad["error"]["field"] == "voicemail_pin"
        wrong_type = await call(
            c.acme, "PUT", "/users/acme/201/voicemail/pin", 400, json={"voicemail_pin": 4711}
        )
        assert wrong_type["error"]["field"] == "voicemail_pin"
        # Another tenant's user answers as a missing one.
        await call(
            c.acme, "PUT", "/users/globex/201/voicemail/pin", 404, json={"voicemail_pin": "4711"}
        )
        await call(c.acme, "GET", "/users/globex/201/voicemail", 404)
        cleared = await call(c.acme, "DELETE", "/users/acme/201/voicemail/pin", 200)
        assert cleared["pin_set"] is False
        missing = await call(
            c.acme, "PUT", "/users/acme/201/voicemail/greeting", 404, json={"greeting": "hello"}
        )
        assert missing["error"]["field"] == "greeting"
        none = await call(
            c.acme, "PUT", "/users/acme/201/voicemail/greeting", 200, json={"greeting": None}
        )
        assert none["greeting"] is None
