"""Incoming blocks: callers a tenant (or one of its users) refuses.

A block matches anonymous callers, one number, or every number starting with a
prefix, read in the tenant's country and stored in E.164. With a schedule and a
state it holds only while the schedule is in that state (``closed``: after hours).
A block is named by its id; another tenant's id answers as one that does not exist.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import IncomingBlock, Schedule, Tenant, User
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.numbers import parse_number, parse_prefix
from provd.services import audit
from provd.services.destinations import ROUTE_STATES
from provd.services.directory.tenants import get_tenant
from provd.services.directory.users import get_user
from provd.services.platform import Platform
from provd.services.schedules import get_schedule

OBJECT = "block"


def block_view(
    block: IncomingBlock, tenant: Tenant, user: User | None, schedule: Schedule | None
) -> dict[str, Any]:
    if block.anonymous:
        match, what = "anonymous", "anonymous callers"
    elif block.is_prefix:
        match, what = "prefix", f"numbers starting {block.pattern}"
    else:
        match, what = "number", str(block.pattern)
    when = None
    if schedule is not None:
        when = {"schedule": schedule.name, "state": block.when_state}
        what += f", while {schedule.name} is {block.when_state}"
    return {
        "id": block.id,
        "tenant": tenant.slug,
        "user": user.extension if user is not None else None,
        "match": match,
        "pattern": block.pattern,
        "when": when,
        "description": what,
    }


async def _view(block: IncomingBlock) -> dict[str, Any]:
    await block.fetch_related("tenant", "user", "schedule")
    return block_view(block, block.tenant, block.user, block.schedule)


async def list_blocks(tenant_slug: str | None = None) -> list[dict[str, Any]]:
    """Every block (of one tenant, if named): the tenant's own first, then by user."""
    query = IncomingBlock.all().select_related("tenant", "user", "schedule")
    if tenant_slug is not None:
        query = query.filter(tenant=await get_tenant(tenant_slug))
    rows = sorted(await query, key=_order)
    return [block_view(b, b.tenant, b.user, b.schedule) for b in rows]


def _order(block: IncomingBlock) -> tuple[str, str, int]:
    user: User | None = block.user
    return block.tenant.slug, user.extension if user is not None else "", block.id


def _pattern(
    tenant: Tenant, anonymous: bool, number: str | None, prefix: str | None
) -> tuple[str | None, bool]:
    """(pattern, is_prefix) from exactly one of the three ways to match a caller."""
    given = [n for n, v in (("anonymous", anonymous), ("number", number), ("prefix", prefix)) if v]
    if len(given) != 1:
        raise InvalidInput(
            given[1] if len(given) > 1 else "number",
            "block exactly one of: anonymous callers, a number or a prefix",
        )
    if number:
        return parse_number(number, tenant.country, "number", require_valid=False), False
    if prefix:
        return parse_prefix(prefix, tenant.country, "prefix"), True
    return None, False


async def _when(tenant: Tenant, when: str | None) -> tuple[Schedule | None, str | None]:
    """``SCHEDULE:STATE`` as the schedule and its state; None: always."""
    if when is None or not when.strip():
        return None, None
    name, colon, state = when.strip().rpartition(":")
    state = state.strip().lower()
    if not colon or not name.strip() or state not in ROUTE_STATES:
        raise InvalidInput(
            "when", f"{when!r} is not SCHEDULE:STATE with a state of {', '.join(ROUTE_STATES)}"
        )
    return await get_schedule(tenant, name.strip(), field="when"), state


async def add_block(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    *,
    user: str | None = None,
    anonymous: bool = False,
    number: str | None = None,
    prefix: str | None = None,
    when: str | None = None,
) -> dict[str, Any]:
    """Block callers for the whole tenant, or for ``user`` only."""
    tenant = await get_tenant(tenant_slug)
    pattern, is_prefix = _pattern(tenant, anonymous, number, prefix)
    async with in_transaction():
        owner = await get_user(tenant, user, field="user") if user is not None else None
        schedule, state = await _when(tenant, when)
        same = IncomingBlock.filter(
            tenant=tenant,
            user=owner,
            anonymous=anonymous,
            pattern=pattern,
            is_prefix=is_prefix,
            schedule=schedule,
            when_state=state,
        )
        if await same.exists():
            field = "anonymous" if anonymous else ("prefix" if is_prefix else "number")
            raise Conflict(field, "is already blocked so")
        block = await IncomingBlock.create(
            tenant=tenant,
            user=owner,
            anonymous=anonymous,
            pattern=pattern,
            is_prefix=is_prefix,
            schedule=schedule,
            when_state=state,
        )
        view = block_view(block, tenant, owner, schedule)
        await audit.record(
            actor, AuditAction.BLOCK_ADD, OBJECT, f"{tenant.slug}/{block.id}", after=view
        )
    return view


async def get_block(block_id: object, tenant_slug: str | None = None) -> IncomingBlock:
    """The block with this id, if the caller's tenant (if any) owns it."""
    text = str(block_id).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise NotFound("block", text, field="id")
    query = IncomingBlock.filter(id=int(text))
    if tenant_slug is not None:
        query = query.filter(tenant=await get_tenant(tenant_slug))
    block = await query.first()
    if block is None:
        raise NotFound("block", text, field="id")
    return block


async def remove_block(
    p: Platform, actor: audit.Actor, block_id: object, tenant_slug: str | None = None
) -> dict[str, Any]:
    async with in_transaction():
        block = await get_block(block_id, tenant_slug)
        before = await _view(block)
        await block.delete()
        await audit.record(
            actor, AuditAction.BLOCK_REMOVE, OBJECT, f"{before['tenant']}/{block.id}", before=before
        )
    return before
