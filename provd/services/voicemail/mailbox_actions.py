"""What users did in their own mailboxes from the phone (``*1233``), applied to provd's
store: the media application leaves it in its spool (provd.media.mailbox_actions has
the format) and the collector calls :func:`apply_actions` every second.

Each change goes through the same services an admin's does, audited as the user
(``phone:<extension>@<tenant slug>``), and only then is its spool file removed: a
crash in between applies it again, which finds the message already heard or gone and
changes nothing. An action for a message that is no longer the user's (an admin removed
it meanwhile) is dropped and logged. A recorded greeting becomes the tenant's sound
``voicemail-<extension>`` (replaced when the user records again) and the user's
greeting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from tortoise.transactions import in_transaction

from provd.db.models import Sound, Tenant, User, VoicemailMessage
from provd.domain.audit_actions import AuditAction
from provd.services import audit
from provd.services.menus import sounds
from provd.services.voicemail import mark_stored_heard, remove_stored, spool_io
from provd.services.voicemail.mailbox import set_greeting_sound

log = logging.getLogger("provd.voicemail")

GREETING_SOUND = "voicemail-{extension}"
"""The tenant's sound a greeting recorded from the phone is stored as."""


@dataclass
class Applied:
    """What :func:`apply_actions` changed: the users whose lamps may change, and whether
    anything in mailboxes.json did."""

    users: list[User] = field(default_factory=list)
    changed: bool = False


def phone_actor(extension: str, tenant: Tenant) -> audit.Actor:
    return audit.Actor(f"phone:{extension}@{tenant.slug}")


async def apply_actions(media_dir: Path, data_dir: Path) -> Applied:
    """Apply every complete action and greeting of the media application's spool
    (``media_dir``) to the store under ``data_dir``, in the order they were done."""
    applied = Applied()
    lamps: dict[int, User] = {}
    for action in spool_io.read_actions(media_dir):
        found = await _mailbox(action.domain, action.mailbox)
        if found is None:
            log.error("voicemail action %s: no mailbox %s@%s; dropped",
                      action.id, action.mailbox, action.domain)  # fmt: skip
        else:
            tenant, user = found
            row = await VoicemailMessage.get_or_none(id=action.message, user=user)
            actor = phone_actor(user.extension, tenant)
            if row is None:
                log.info("voicemail action %s: message %d of %s@%s is gone; dropped",
                         action.id, action.message, user.extension, tenant.slug)  # fmt: skip
            elif action.action == "delete":
                await remove_stored(data_dir, actor, tenant.slug, row.id)
                lamps[user.id] = user
            elif not row.heard:
                await mark_stored_heard(actor, tenant.slug, row.id)
                lamps[user.id] = user
        spool_io.remove_action(media_dir, action.id)
        applied.changed = True
    for greeting, wav in spool_io.read_greetings(media_dir):
        found = await _mailbox(greeting.domain, greeting.mailbox)
        if found is None or not wav.exists():
            log.error("voicemail greeting %s for %s@%s: no such mailbox or no WAV; set aside",
                      greeting.id, greeting.mailbox, greeting.domain)  # fmt: skip
            spool_io.set_aside_greeting(media_dir, greeting.id)
            continue
        tenant, user = found
        await _store_greeting(data_dir, tenant, user, wav.read_bytes(), greeting.duration_ms)
        spool_io.remove_greeting(media_dir, greeting.id)
        applied.changed = True
    applied.users = list(lamps.values())
    return applied


async def _mailbox(domain: str, extension: str) -> tuple[Tenant, User] | None:
    tenant = await Tenant.get_or_none(sip_domain=domain)
    if tenant is None:
        return None
    user = await User.get_or_none(tenant=tenant, extension=extension)
    return None if user is None else (tenant, user)


async def _store_greeting(
    data_dir: Path, tenant: Tenant, user: User, wav: bytes, duration_ms: int
) -> None:
    actor = phone_actor(user.extension, tenant)
    name = GREETING_SOUND.format(extension=user.extension)
    key = f"{tenant.slug}/{name}"
    async with in_transaction():
        sound = await Sound.get_or_none(tenant=tenant, name=name)
        if sound is None:
            sound = await Sound.create(
                tenant=tenant, name=name, duration_ms=duration_ms, size=len(wav)
            )
            after = {**sounds.sound_view(sound, tenant), "uploaded_as": "recorded from the phone"}
            await audit.record(actor, AuditAction.SOUND_ADD, sounds.OBJECT, key, after=after)
        else:
            before = sounds.sound_view(sound, tenant)
            sound.duration_ms, sound.size = duration_ms, len(wav)
            await sound.save(update_fields=["duration_ms", "size"])
            await audit.record(actor, AuditAction.SOUND_REPLACE, sounds.OBJECT, key,
                               before=before, after=sounds.sound_view(sound, tenant))  # fmt: skip
        await set_greeting_sound(actor, tenant, user, sound)
        # Last in the transaction: a failed write rolls the rows back.
        await sounds.write_sound_file(data_dir, tenant, name, wav)
    log.info("voicemail greeting of %s in %s recorded from the phone (%d ms)",
             user.extension, tenant.slug, duration_ms)  # fmt: skip
