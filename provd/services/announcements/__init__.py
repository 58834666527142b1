"""Announcements: an extension of a tenant that the media application answers, plays
one of the tenant's sounds 1 to 5 times and hangs up (an auto-answer number).

An announcement shares its tenant's extensions with users, groups and menus. A number
can be assigned to it and any destination can name it (``announcement:EXT``); one that
something points at cannot be removed. Every change is one transaction with its audit
row (the announcement's view before and after); what is refused stores nothing.
:func:`media_announcements` is what serve hands the media application
(provd.media.announcements).
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import Announcement, PhoneNumber, Sound, Tenant
from provd.domain.audit_actions import AuditAction
from provd.domain.destinations import AnnouncementDestination
from provd.domain.errors import InvalidInput, NotFound
from provd.domain.tenancy import check_display_name, check_extension
from provd.media import announcements as media
from provd.services import audit
from provd.services.destinations import references_to, refuse_if_used
from provd.services.directory.tenants import get_tenant
from provd.services.directory.users import check_free_extension
from provd.services.menus.sounds import get_sound, media_name
from provd.services.platform import Platform

OBJECT = "announcement"
MEDIA_OBJECTS = ("announcement", "sound")
"""Audit object types whose changes change what :func:`media_announcements` gives."""
DEFAULT_PLAYS = 1
MAX_PLAYS = media.MAX_PLAYS


async def get_announcement(
    tenant: Tenant, extension: str, *, field: str = "announcement"
) -> Announcement:
    missing = NotFound("announcement", f"{extension} in tenant {tenant.slug}", field=field)
    try:
        valid = check_extension(extension, field=field)
    except InvalidInput:
        raise missing from None
    announcement = await Announcement.get_or_none(tenant=tenant, extension=valid)
    if announcement is None:
        raise missing
    return announcement


def check_plays(value: object, *, field: str = "plays") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PLAYS:
        raise InvalidInput(field, f"{value!r} is not a number of plays from 1 to {MAX_PLAYS}")
    return value


async def announcement_view(announcement: Announcement, tenant: Tenant) -> dict[str, Any]:
    sound = await Sound.get(id=announcement.sound_id)  # type: ignore[attr-defined]
    numbers = PhoneNumber.filter(assigned_announcement=announcement).order_by("e164")
    return {
        "tenant": tenant.slug,
        "extension": announcement.extension,
        "name": announcement.name,
        "sound": sound.name,
        "plays": announcement.plays,
        "numbers": list(await numbers.values_list("e164", flat=True)),
    }


async def list_announcements(tenant_slug: str | None = None) -> list[dict[str, Any]]:
    """Every announcement (of one tenant, if named), by tenant and extension."""
    query = Announcement.all().select_related("tenant").order_by("tenant__slug", "extension")
    if tenant_slug is not None:
        query = query.filter(tenant=await get_tenant(tenant_slug))
    return [await announcement_view(a, a.tenant) for a in await query]


async def show_announcement(tenant_slug: str, extension: str) -> dict[str, Any]:
    tenant = await get_tenant(tenant_slug)
    found = await get_announcement(tenant, extension, field="extension")
    return await announcement_view(found, tenant)


async def add_announcement(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    extension: str,
    name: str,
    sound: str,
    *,
    plays: int = DEFAULT_PLAYS,
) -> dict[str, Any]:
    """Create an announcement at an extension nothing of the tenant has."""
    name = check_display_name(name)
    plays = check_plays(plays)
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        extension = await check_free_extension(tenant, extension)
        played = await get_sound(tenant, sound, field="sound")
        announcement = await Announcement.create(
            tenant=tenant, extension=extension, name=name, sound=played, plays=plays
        )
        view = await announcement_view(announcement, tenant)
        await audit.record(
            actor, AuditAction.ANNOUNCEMENT_ADD, OBJECT, f"{tenant.slug}/{extension}", after=view
        )
    return view


async def update_announcement(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    extension: str,
    *,
    name: str | None = None,
    sound: str | None = None,
    plays: int | None = None,
) -> dict[str, Any]:
    """Change what is given; every value is checked before anything is saved."""
    if name is None and sound is None and plays is None:
        raise InvalidInput("settings", "nothing to change")
    new_name = check_display_name(name) if name is not None else None
    new_plays = check_plays(plays) if plays is not None else None
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        announcement = await get_announcement(tenant, extension, field="extension")
        new_sound = await get_sound(tenant, sound, field="sound") if sound is not None else None
        before = await announcement_view(announcement, tenant)
        if new_name is not None:
            announcement.name = new_name
        if new_sound is not None:
            announcement.sound = new_sound
        if new_plays is not None:
            announcement.plays = new_plays
        await announcement.save()
        after = await announcement_view(announcement, tenant)
        await audit.record(
            actor,
            AuditAction.ANNOUNCEMENT_SET,
            OBJECT,
            f"{tenant.slug}/{announcement.extension}",
            before=before,
            after=after,
        )
    return after


async def remove_announcement(
    p: Platform, actor: audit.Actor, tenant_slug: str, extension: str
) -> None:
    """Remove an announcement; refused while a number or a destination points at it."""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        announcement = await get_announcement(tenant, extension, field="extension")
        uses = await references_to(tenant, AnnouncementDestination(announcement.id))
        refuse_if_used(f"announcement {announcement.extension}", uses, field="extension")
        before = await announcement_view(announcement, tenant)
        await announcement.delete()
        await audit.record(
            actor,
            AuditAction.ANNOUNCEMENT_REMOVE,
            OBJECT,
            f"{tenant.slug}/{announcement.extension}",
            before=before,
        )


async def media_announcements() -> dict[str, dict[str, media.Announcement]]:
    """Every tenant's announcements as the media application plays them: by the
    tenant's SIP domain, then by extension."""
    tenants = {t.id: t for t in await Tenant.all()}
    sounds = {s.id: s for s in await Sound.all()}
    out: dict[str, dict[str, media.Announcement]] = {}
    for row in await Announcement.all().order_by("extension"):
        tenant = tenants[row.tenant_id]  # type: ignore[attr-defined]
        sound = sounds[row.sound_id]  # type: ignore[attr-defined]
        out.setdefault(tenant.sip_domain, {})[row.extension] = media.Announcement(
            sound=media_name(tenant, sound), plays=row.plays
        )
    return out
