"""A user's mailbox itself: the PIN that opens it from the phone (``*1233``) and the
personal greeting callers hear, set by an admin (CLI, REST, console) or, for the
greeting, by the user from the phone (provd.services.voicemail.mailbox_actions).

Each change writes its audit row in its own transaction, on the ``user`` object, which
is what makes serve rewrite mailboxes.json for the media application. The PIN never
appears anywhere but as its hash: the audit row says whether one is set.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import Sound, Tenant, User
from provd.domain import voicemail_pin
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import NotFound
from provd.services import audit
from provd.services.directory.tenants import get_tenant
from provd.services.directory.users import get_user
from provd.services.menus.sounds import get_sound

OBJECT = "user"


async def mailbox_view(tenant: Tenant, user: User) -> dict[str, Any]:
    """What is set for the user's mailbox (never the PIN, only whether there is one)."""
    greeting = None
    if user.voicemail_greeting_id is not None:  # type: ignore[attr-defined]
        sound = await Sound.get_or_none(id=user.voicemail_greeting_id)  # type: ignore[attr-defined]
        greeting = sound.name if sound is not None else None
    return {
        "tenant": tenant.slug,
        "extension": user.extension,
        "pin_set": user.voicemail_pin is not None,
        "greeting": greeting,
        "email": user.voicemail_email,
    }


async def list_mailboxes(tenant_slug: str) -> dict[str, dict[str, Any]]:
    """Every user's :func:`mailbox_view` of a tenant, by extension."""
    tenant = await get_tenant(tenant_slug)
    names = {s.id: s.name for s in await Sound.filter(tenant=tenant)}
    return {
        u.extension: {
            "tenant": tenant.slug,
            "extension": u.extension,
            "pin_set": u.voicemail_pin is not None,
            "greeting": names.get(u.voicemail_greeting_id),  # type: ignore[attr-defined]
            "email": u.voicemail_email,
        }
        for u in await User.filter(tenant=tenant).order_by("extension")
    }


async def show_mailbox(tenant_slug: str, extension: str) -> dict[str, Any]:
    tenant = await get_tenant(tenant_slug)
    return await mailbox_view(tenant, await get_user(tenant, extension, field="user"))


async def set_pin(
    actor: audit.Actor, tenant_slug: str, extension: str, pin: str | None
) -> dict[str, Any]:
    """Set the user's PIN (checked: provd.domain.voicemail_pin), or clear it (None or
    empty: the mailbox cannot be opened from the phone)."""
    tenant = await get_tenant(tenant_slug)
    user = await get_user(tenant, extension, field="user")
    stored = None
    if pin is not None and pin.strip():
        cleaned = voicemail_pin.check_pin(pin, user.extension)
        # PBKDF2 takes tens of milliseconds on purpose: not on the event loop.
        stored = (await asyncio.to_thread(voicemail_pin.hash_pin, cleaned)).stored()
    async with in_transaction():
        user = await get_user(tenant, extension, field="user")
        before = await mailbox_view(tenant, user)
        user.voicemail_pin = stored
        await user.save(update_fields=["voicemail_pin"])
        after = await mailbox_view(tenant, user)
        await audit.record(
            actor,
            AuditAction.VOICEMAIL_PIN,
            OBJECT,
            f"{tenant.slug}/{user.extension}",
            before={"pin_set": before["pin_set"]},
            after={"pin_set": after["pin_set"]},
        )
    return after


async def set_greeting(
    actor: audit.Actor, tenant_slug: str, extension: str, sound_name: str | None
) -> dict[str, Any]:
    """Make one of the tenant's sounds the user's greeting (None or empty: none, the
    caller hears the tone alone)."""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        user = await get_user(tenant, extension, field="user")
        sound = None
        if sound_name is not None and sound_name.strip():
            try:
                sound = await get_sound(tenant, sound_name, field="greeting")
            except NotFound as e:
                raise NotFound("sound", e.key, field="greeting") from None
        return await set_greeting_sound(actor, tenant, user, sound)


async def set_greeting_sound(
    actor: audit.Actor, tenant: Tenant, user: User, sound: Sound | None
) -> dict[str, Any]:
    """Make ``sound`` the user's greeting, audited; inside the caller's transaction."""
    before = await mailbox_view(tenant, user)
    user.voicemail_greeting = sound
    await user.save(update_fields=["voicemail_greeting_id"])
    after = await mailbox_view(tenant, user)
    await audit.record(
        actor,
        AuditAction.VOICEMAIL_GREETING,
        OBJECT,
        f"{tenant.slug}/{user.extension}",
        before={"greeting": before["greeting"]},
        after={"greeting": after["greeting"]},
    )
    return after
