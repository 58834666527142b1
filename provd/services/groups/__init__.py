"""Hunt groups: an extension of a tenant that rings its members by a policy.

A group shares its tenant's extensions with the users: an extension is a user's or a
group's, never both (provd.services.directory checks the other direction). Members
are users of the same tenant or outside numbers, in ring order (positions 1, 2, …
without gaps); a user is a member once. Each change is one transaction with its audit
row, the group's whole view before and after.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import HuntGroup, HuntGroupMember, PhoneNumber, Tenant, User
from provd.domain.audit_actions import AuditAction
from provd.domain.destinations import GroupDestination, check_outside_number
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.groups import (
    DEFAULT_RING_SECONDS,
    MAX_MEMBERS,
    check_policy,
    check_ring_seconds,
    check_wait,
)
from provd.domain.tenancy import check_display_name, check_extension
from provd.services import audit
from provd.services.destinations import (
    Names,
    references_to,
    refuse_if_used,
    resolve_destination,
)
from provd.services.directory.tenants import get_tenant
from provd.services.directory.users import check_free_extension, get_user
from provd.services.platform import Platform

OBJECT = "group"


async def get_group(tenant: Tenant, extension: str, *, field: str = "group") -> HuntGroup:
    try:
        valid = check_extension(extension, field=field)
    except InvalidInput:
        raise NotFound("group", f"{extension} in tenant {tenant.slug}", field=field) from None
    group = await HuntGroup.get_or_none(tenant=tenant, extension=valid)
    if group is None:
        raise NotFound("group", f"{extension} in tenant {tenant.slug}", field=field)
    return group


async def _members(group: HuntGroup) -> list[HuntGroupMember]:
    return await HuntGroupMember.filter(group=group).select_related("user").order_by("position")


def _member_view(member: HuntGroupMember) -> dict[str, Any]:
    user: User | None = member.user
    if user is not None:
        return {
            "position": member.position,
            "kind": "user",
            "key": user.extension,
            "name": user.display_name,
        }
    return {
        "position": member.position,
        "kind": "external",
        "key": member.external_number,
        "name": "",
    }


async def group_view(
    group: HuntGroup, tenant: Tenant, names: Names | None = None
) -> dict[str, Any]:
    names = names or await Names.of(tenant)
    last = names.users.get(group.last_answered_user_id)  # type: ignore[attr-defined]
    numbers = PhoneNumber.filter(assigned_group=group).order_by("e164")
    return {
        "tenant": tenant.slug,
        "extension": group.extension,
        "name": group.name,
        "policy": group.policy,
        "ring_seconds": group.ring_seconds,
        "total_wait_seconds": group.total_wait_seconds,
        "overflow": names.view(group.overflow),
        "members": [_member_view(m) for m in await _members(group)],
        "numbers": list(await numbers.values_list("e164", flat=True)),
        "last_answered": last.extension if last is not None else None,
    }


async def list_groups(tenant_slug: str | None = None) -> list[dict[str, Any]]:
    """Every group (of one tenant, if named), by tenant and extension."""
    query = HuntGroup.all().select_related("tenant").order_by("tenant__slug", "extension")
    if tenant_slug is not None:
        query = query.filter(tenant=await get_tenant(tenant_slug))
    names: dict[int, Names] = {}
    views = []
    for group in await query:
        tenant = group.tenant
        if tenant.id not in names:
            names[tenant.id] = await Names.of(tenant)
        views.append(await group_view(group, tenant, names[tenant.id]))
    return views


async def show_group(tenant_slug: str, extension: str) -> dict[str, Any]:
    tenant = await get_tenant(tenant_slug)
    return await group_view(await get_group(tenant, extension, field="extension"), tenant)


async def add_group(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    extension: str,
    name: str,
    policy: str,
    *,
    ring_seconds: int = DEFAULT_RING_SECONDS,
    total_wait_seconds: int = 0,
    overflow: str | None = None,
) -> dict[str, Any]:
    """Create a group without members; they are added one by one."""
    name = check_display_name(name)
    checked_policy = check_policy(policy)
    ring = check_ring_seconds(ring_seconds)
    wait = check_wait(total_wait_seconds, ring)
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        extension = await check_free_extension(tenant, extension)
        stored = (
            await resolve_destination(tenant, overflow, field="overflow")
            if overflow is not None
            else None
        )
        group = await HuntGroup.create(
            tenant=tenant,
            extension=extension,
            name=name,
            policy=checked_policy.value,
            ring_seconds=ring,
            total_wait_seconds=wait,
            overflow=stored,
        )
        view = await group_view(group, tenant)
        await audit.record(
            actor, AuditAction.GROUP_ADD, OBJECT, f"{tenant.slug}/{extension}", after=view
        )
    return view


async def update_group(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    extension: str,
    *,
    name: str | None = None,
    policy: str | None = None,
    ring_seconds: int | None = None,
    total_wait_seconds: int | None = None,
    overflow: str | None = None,
) -> dict[str, Any]:
    """Change what is given (``overflow="none"`` clears it); every value is checked
    against the others before anything is saved."""
    if all(v is None for v in (name, policy, ring_seconds, total_wait_seconds, overflow)):
        raise InvalidInput("settings", "nothing to change")
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        group = await get_group(tenant, extension, field="extension")
        before = await group_view(group, tenant)
        if name is not None:
            group.name = check_display_name(name)
        if policy is not None:
            group.policy = check_policy(policy).value
        if ring_seconds is not None:
            group.ring_seconds = check_ring_seconds(ring_seconds)
        wait = group.total_wait_seconds if total_wait_seconds is None else total_wait_seconds
        field = "ring_seconds" if total_wait_seconds is None else "total_wait_seconds"
        group.total_wait_seconds = check_wait(wait, group.ring_seconds, field=field)
        if overflow is not None:
            group.overflow = await resolve_destination(
                tenant, overflow, field="overflow", itself=GroupDestination(group.id)
            )
        await group.save()
        after = await group_view(group, tenant)
        await audit.record(
            actor,
            AuditAction.GROUP_SET,
            OBJECT,
            f"{tenant.slug}/{group.extension}",
            before=before,
            after=after,
        )
    return after


async def remove_group(p: Platform, actor: audit.Actor, tenant_slug: str, extension: str) -> None:
    """Remove a group and its members; refused while anything points at it."""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        group = await get_group(tenant, extension, field="extension")
        uses = await references_to(tenant, GroupDestination(group.id))
        refuse_if_used(f"group {group.extension}", uses, field="extension")
        before = await group_view(group, tenant)
        await HuntGroupMember.filter(group=group).delete()
        await group.delete()
        await audit.record(
            actor, AuditAction.GROUP_REMOVE, OBJECT, f"{tenant.slug}/{extension}", before=before
        )


def _one_member(user: str | None, external: str | None, position: int | None) -> None:
    named = (("user", user), ("external", external), ("position", position))
    given = [n for n, v in named if v is not None]
    if len(given) != 1:
        raise InvalidInput(
            given[1] if len(given) > 1 else "member",
            "name the member by exactly one of user, external or position",
        )


async def add_member(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    extension: str,
    *,
    user: str | None = None,
    external: str | None = None,
    position: int | None = None,
) -> dict[str, Any]:
    """Add a user of the group's tenant or an outside number at ``position`` (1 is
    first; default: last); members from there on move one down."""
    if user is not None and external is not None:
        raise InvalidInput("external", "give a user or an external number, not both")
    if user is None and external is None:
        raise InvalidInput("user", "give a user or an external number")
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        group = await get_group(tenant, extension, field="extension")
        before = await group_view(group, tenant)
        members = await _members(group)
        if len(members) >= MAX_MEMBERS:
            raise InvalidInput(
                "member", f"group {group.extension} has {MAX_MEMBERS} members, the most it may have"
            )
        last = len(members) + 1
        at = last if position is None else position
        if isinstance(at, bool) or not isinstance(at, int) or not 1 <= at <= last:
            raise InvalidInput("position", f"{position!r} is not a position from 1 to {last}")
        member = HuntGroupMember(group=group, position=at)
        if user is not None:
            member.user = await get_user(tenant, user, field="user")
            if any(m.user_id == member.user.id for m in members):  # type: ignore[attr-defined]
                raise Conflict(
                    "user",
                    f"user {member.user.extension} is already a member of group {group.extension}",
                )
        else:
            assert external is not None
            number = check_outside_number(external, tenant.country, field="external")
            if any(m.external_number == number for m in members):
                raise Conflict(
                    "external", f"{number} is already a member of group {group.extension}"
                )
            member.external_number = number
        await _renumber(members, insert_at=at)
        await member.save()
        after = await group_view(group, tenant)
        await audit.record(
            actor,
            AuditAction.GROUP_MEMBER_ADD,
            OBJECT,
            f"{tenant.slug}/{group.extension}",
            before=before,
            after=after,
        )
    return after


async def remove_member(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    extension: str,
    *,
    user: str | None = None,
    external: str | None = None,
    position: int | None = None,
) -> dict[str, Any]:
    """Remove the member named by its user, its number or its position; those after it
    move up one."""
    _one_member(user, external, position)
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        group = await get_group(tenant, extension, field="extension")
        before = await group_view(group, tenant)
        members = await _members(group)
        if user is not None:
            found = await get_user(tenant, user, field="user")
            match = [m for m in members if m.user_id == found.id]  # type: ignore[attr-defined]
            field, what = "user", f"user {found.extension}"
        elif external is not None:
            number = check_outside_number(external, tenant.country, field="external")
            match = [m for m in members if m.external_number == number]
            field, what = "external", number
        else:
            match = [m for m in members if m.position == position]
            field, what = "position", f"position {position}"
        if not match:
            raise InvalidInput(field, f"{what} is not a member of group {group.extension}")
        [gone] = match
        await gone.delete()
        await _renumber([m for m in members if m is not gone])
        after = await group_view(group, tenant)
        await audit.record(
            actor,
            AuditAction.GROUP_MEMBER_REMOVE,
            OBJECT,
            f"{tenant.slug}/{group.extension}",
            before=before,
            after=after,
        )
    return after


async def _renumber(members: list[HuntGroupMember], *, insert_at: int | None = None) -> None:
    """Positions 1, 2, … in the members' order, leaving ``insert_at`` free."""
    position = 1
    for member in members:
        if position == insert_at:
            position += 1
        if member.position != position:
            member.position = position
            await member.save(update_fields=["position"])
        position += 1
