"""Removing a trunk: its accounts go, and its inbound numbers are left unused."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from provd.db.models import PhoneNumber, TrunkNumber
from provd.domain.audit_actions import AuditAction
from provd.services import audit
from provd.services.directory.tenants import get_tenant
from provd.services.platform import Platform
from provd.services.trunks import OBJECT, get_trunk, object_key, trunk_view


async def remove_trunk(p: Platform, actor: audit.Actor, tenant_slug: str, name: str) -> None:
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        trunk = await get_trunk(tenant, name)
        before = await trunk_view(trunk, tenant)
        await PhoneNumber.filter(assigned_trunk=trunk).update(assigned_trunk_id=None)
        await TrunkNumber.filter(trunk=trunk).delete()
        # Its accounts go with it (on delete cascade).
        await trunk.delete()
        await audit.record(
            actor, AuditAction.TRUNK_REMOVE, OBJECT, object_key(tenant, trunk.name), before=before
        )
    await p.accounts_changed()
