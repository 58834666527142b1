"""Numbers on a trunk: attaching one with its flags, and detaching it.

An inbound number is the trunk's alone (the seed's rule): attaching it moves it away
from the user, group or number plan that had it, and detaching it leaves it unused.
A caller-ID-only number keeps its inbound use: a PBX may present the number its
reception's group answers. A number is on one trunk at most.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import PhoneNumber, Tenant, Trunk, TrunkNumber
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import Conflict, InvalidInput
from provd.services import audit
from provd.services.directory.tenants import get_tenant
from provd.services.numbers import get_number
from provd.services.platform import Platform
from provd.services.trunks import (
    OBJECT,
    NumberOnTrunk,
    get_trunk,
    object_key,
    tenant_number,
    trunk_view,
)


async def put_number(
    trunk: Trunk, tenant: Tenant, given: NumberOnTrunk, *, field: str = "number"
) -> dict[str, Any]:
    """Put the number on ``trunk`` with the given flags (a number already on it gets
    them instead); within the caller's transaction. Returns what the number was used
    for before, for the audit row."""
    if not given.inbound and not given.caller_id:
        raise InvalidInput(field, "a number on a trunk is inbound, a caller ID or both")
    row = await tenant_number(tenant, given.number, field=field)
    before = (await get_number(row.e164, tenant.slug)).as_dict()
    entry = await TrunkNumber.get_or_none(number=row).select_related("trunk")
    if entry is not None and entry.trunk.id != trunk.id:
        raise Conflict(field, f"{row.e164} is on trunk {entry.trunk.name}; remove it there first")
    if entry is None:
        entry = TrunkNumber(trunk=trunk, number=row)
    if not given.caller_id and trunk.main_number == row.e164:
        raise InvalidInput(field, f"{row.e164} is the trunk's main number: it stays a caller ID")
    was_inbound = entry.inbound
    entry.inbound, entry.caller_id = given.inbound, given.caller_id
    await entry.save()
    if given.inbound:
        row.assigned_user = row.assigned_group = row.assigned_route = row.assigned_menu = None
        row.assigned_announcement = None
        row.assigned_queue = None
        row.assigned_trunk = trunk
        await _save_use(row)
    elif was_inbound:
        row.assigned_trunk = None
        await _save_use(row)
    return before


async def _save_use(row: PhoneNumber) -> None:
    await row.save(
        update_fields=[
            "assigned_user_id",
            "assigned_group_id",
            "assigned_route_id",
            "assigned_trunk_id",
            "assigned_menu_id",
            "assigned_announcement_id",
            "assigned_queue_id",
        ]
    )


async def add_number(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    name: str,
    given: NumberOnTrunk,
) -> dict[str, Any]:
    """Attach a number of the trunk's tenant (or change its flags on this trunk)."""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        trunk = await get_trunk(tenant, name)
        before = await trunk_view(trunk, tenant)
        number_before = await put_number(trunk, tenant, given)
        if trunk.main_number is None and given.caller_id:
            # The first caller-ID number replaces others until another is chosen.
            trunk.main_number = (await tenant_number(tenant, given.number)).e164
            await trunk.save(update_fields=["main_number"])
        after = await trunk_view(trunk, tenant)
        await audit.record(
            actor,
            AuditAction.TRUNK_NUMBER_ADD,
            OBJECT,
            object_key(tenant, trunk.name),
            before={**before, "number_before": number_before},
            after=after,
        )
    return after


async def remove_number(
    p: Platform, actor: audit.Actor, tenant_slug: str, name: str, number: str
) -> dict[str, Any]:
    """Take the number off the trunk; an inbound one is left unused."""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        trunk = await get_trunk(tenant, name)
        before = await trunk_view(trunk, tenant)
        row = await tenant_number(tenant, number)
        entry = await TrunkNumber.get_or_none(trunk=trunk, number=row)
        if entry is None:
            raise InvalidInput("number", f"{row.e164} is not on trunk {trunk.name}")
        if trunk.main_number == row.e164:
            raise InvalidInput(
                "number", f"{row.e164} is the trunk's main number; set another one first"
            )
        await entry.delete()
        if entry.inbound:
            row.assigned_trunk = None
            await _save_use(row)
        after = await trunk_view(trunk, tenant)
        await audit.record(
            actor,
            AuditAction.TRUNK_NUMBER_REMOVE,
            OBJECT,
            object_key(tenant, trunk.name),
            before=before,
            after=after,
        )
    return after
