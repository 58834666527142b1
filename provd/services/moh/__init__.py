"""Music on hold per tenant: a playlist of the tenant's sounds, played in turn to a
caller one of the tenant's phones puts on hold (the default music otherwise).

The playlist is the sounds' ids in order (``Tenant.moh_playlist``; null: none). Setting
it renders the sounds into one WAV of the media directory
(provd.pbx.media_app.tenant_moh_path: ``pbx/media/moh/tenants/<slug>.wav``), last in the
change's transaction, so a playlist is stored only with its file; clearing it removes
the file. A sound of the playlist cannot be removed (provd.services.menus.sounds).
Each change is one audit row (the playlist before and after). :func:`render_all` writes
every tenant's file again from the database (serve runs it at start).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import Sound, Tenant
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import InvalidInput
from provd.pbx.media_app import media_dir_of, tenant_moh_path
from provd.pbx.moh import MohError, join_wavs
from provd.services import audit
from provd.services.directory.tenants import get_tenant
from provd.services.menus.sounds import get_sound, media_name, sound_file
from provd.services.platform import Platform

OBJECT = "moh"
MEDIA_OBJECTS = ("moh", "sound")
"""Audit object types whose changes can change a tenant's music on hold file."""
MAX_SOUNDS = 20


async def _playlist(tenant: Tenant) -> list[Sound]:
    ids: list[int] = list(tenant.moh_playlist or [])
    by_id = {s.id: s for s in await Sound.filter(id__in=ids)}
    return [by_id[i] for i in ids if i in by_id]


async def moh_view(tenant: Tenant) -> dict[str, Any]:
    playlist = await _playlist(tenant)
    return {
        "tenant": tenant.slug,
        "sounds": [s.name for s in playlist],
        "duration_ms": sum(s.duration_ms for s in playlist),
    }


async def show_moh(tenant_slug: str) -> dict[str, Any]:
    """The tenant's playlist; ``sounds`` empty: the default music plays."""
    return await moh_view(await get_tenant(tenant_slug))


def _render(data_dir: Path, tenant: Tenant, playlist: Sequence[Sound]) -> None:
    sources = [sound_file(data_dir, media_name(tenant, s)) for s in playlist]
    join_wavs(sources, tenant_moh_path(media_dir_of(data_dir), tenant.slug))


async def set_moh(
    p: Platform, actor: audit.Actor, tenant_slug: str, sounds: Sequence[str]
) -> dict[str, Any]:
    """Make ``sounds`` (names of the tenant's sounds, in order; one may come again) the
    tenant's music on hold, and write its file."""
    if isinstance(sounds, str) or not isinstance(sounds, Sequence) or not sounds:
        raise InvalidInput("sounds", "name at least one of the tenant's sounds")
    if len(sounds) > MAX_SOUNDS:
        raise InvalidInput("sounds", f"at most {MAX_SOUNDS} sounds")
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        playlist = [await get_sound(tenant, name, field="sounds") for name in sounds]
        before = await moh_view(tenant)
        tenant.moh_playlist = [s.id for s in playlist]
        await tenant.save(update_fields=["moh_playlist"])
        after = await moh_view(tenant)
        await audit.record(
            actor, AuditAction.MOH_SET, OBJECT, tenant.slug, before=before, after=after
        )
        # Last in the transaction: a playlist that cannot be written is not stored.
        try:
            await asyncio.to_thread(_render, p.data_dir, tenant, playlist)
        except MohError as e:
            raise InvalidInput("sounds", str(e)) from None
    return after


async def clear_moh(p: Platform, actor: audit.Actor, tenant_slug: str) -> dict[str, Any]:
    """Back to the default music on hold: the playlist and its file go."""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        before = await moh_view(tenant)
        if tenant.moh_playlist:
            tenant.moh_playlist = None
            await tenant.save(update_fields=["moh_playlist"])
            await audit.record(
                actor, AuditAction.MOH_CLEAR, OBJECT, tenant.slug, before=before, after=None
            )
    tenant_moh_path(media_dir_of(p.data_dir), tenant.slug).unlink(missing_ok=True)
    return await moh_view(tenant)


async def render_all(data_dir: Path) -> list[str]:
    """Write every tenant's music on hold file from its stored playlist, and remove the
    file of a tenant without one; the slugs of the tenants whose file could not be
    written (a sound file gone from the disk), which then have the default music."""
    failed = []
    for tenant in await Tenant.all().order_by("slug"):
        playlist = await _playlist(tenant)
        path = tenant_moh_path(media_dir_of(data_dir), tenant.slug)
        if not playlist:
            path.unlink(missing_ok=True)
            continue
        try:
            await asyncio.to_thread(_render, data_dir, tenant, playlist)
        except (MohError, OSError):
            path.unlink(missing_ok=True)
            failed.append(tenant.slug)
    return failed
