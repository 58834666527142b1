"""Number blocks: the telephone numbers a tenant owns, and what each is used for.

A block (1, 10 or 100 consecutive numbers) is added and removed as one; its numbers
are rows of their own so that each can be assigned alone. A number belongs to one
tenant, and a caller confined to a tenant neither sees nor finds another tenant's:
a number of another tenant answers exactly as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import (
    Announcement,
    HuntGroup,
    Menu,
    PhoneNumber,
    Queue,
    ScheduledRoute,
    Tenant,
    Trunk,
    TrunkNumber,
    User,
)
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.numbers import DEFAULT_COUNTRY, NumberBlock, national_form, parse_number
from provd.services import audit
from provd.services.announcements import get_announcement
from provd.services.destinations import route_by_name
from provd.services.directory.tenants import get_tenant
from provd.services.directory.users import get_user
from provd.services.groups import get_group
from provd.services.menus import get_menu
from provd.services.platform import Platform
from provd.services.queues import get_queue


class UseKind(StrEnum):
    """What a number can be attached to."""

    USER = "user"
    GROUP = "group"
    ROUTE = "route"
    TRUNK = "trunk"
    MENU = "menu"
    ANNOUNCEMENT = "announcement"
    QUEUE = "queue"


@dataclass(frozen=True, slots=True)
class NumberUse:
    """What one number is used for: a kind and the key of the thing it points at."""

    kind: UseKind
    key: str
    """The user's, group's, menu's, announcement's or queue's extension, the route's or
    trunk's name."""
    name: str = ""

    def describe(self) -> str:
        label = f" ({self.name})" if self.name else ""
        return f"in use by {self.kind.value} {self.key}{label}"

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "key": self.key, "name": self.name}


@dataclass(frozen=True, slots=True)
class NumberView:
    e164: str
    national: str
    tenant: str
    block_first: str
    block_count: int
    use: NumberUse | None

    def describe_use(self) -> str:
        return self.use.describe() if self.use else "unused"

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.e164,
            "national": self.national,
            "tenant": self.tenant,
            "block": self.block_first,
            "block_size": self.block_count,
            "use": self.use.as_dict() if self.use else None,
            "status": self.describe_use(),
        }


_USES = (
    "assigned_user",
    "assigned_group",
    "assigned_route",
    "assigned_trunk",
    "assigned_menu",
    "assigned_announcement",
    "assigned_queue",
)
"""The columns that say what a number is used for: at most one is set."""


def _use_of(row: PhoneNumber) -> NumberUse | None:
    user: User | None = row.assigned_user
    if user is not None:
        return NumberUse(UseKind.USER, user.extension, user.display_name)
    group: HuntGroup | None = row.assigned_group
    if group is not None:
        return NumberUse(UseKind.GROUP, group.extension, group.name)
    route: ScheduledRoute | None = row.assigned_route
    if route is not None:
        return NumberUse(UseKind.ROUTE, route.name)
    trunk: Trunk | None = row.assigned_trunk
    if trunk is not None:
        return NumberUse(UseKind.TRUNK, trunk.name)
    menu: Menu | None = row.assigned_menu
    if menu is not None:
        return NumberUse(UseKind.MENU, menu.extension, menu.name)
    announcement: Announcement | None = row.assigned_announcement
    if announcement is not None:
        return NumberUse(UseKind.ANNOUNCEMENT, announcement.extension, announcement.name)
    queue: Queue | None = row.assigned_queue
    if queue is not None:
        return NumberUse(UseKind.QUEUE, queue.extension, queue.name)
    return None


def _view(row: PhoneNumber, tenant: Tenant) -> NumberView:
    return NumberView(
        e164=row.e164,
        national=national_form(row.e164, DEFAULT_COUNTRY),
        tenant=tenant.slug,
        block_first=row.block_first,
        block_count=row.block_count,
        use=_use_of(row),
    )


async def _visible_number(
    text: str, tenant_slug: str | None, *, field: str = "number"
) -> tuple[PhoneNumber, Tenant]:
    """The stored number ``text`` names, if the caller's tenant (if any) owns it."""
    e164 = parse_number(text, DEFAULT_COUNTRY, field, require_valid=False)
    query = PhoneNumber.filter(e164=e164).select_related("tenant", *_USES)
    if tenant_slug is not None:
        query = query.filter(tenant=await get_tenant(tenant_slug))
    row = await query.first()
    if row is None:
        raise NotFound("number", e164, field=field)
    return row, row.tenant


async def add_block(
    p: Platform,
    actor: audit.Actor,
    first: str,
    count: int,
    tenant_slug: str,
    *,
    country: str = DEFAULT_COUNTRY,
) -> NumberBlock:
    """Add ``count`` numbers from ``first`` to the tenant, all of them or none."""
    block = NumberBlock.parse(first, count, country)
    tenant = await get_tenant(tenant_slug)
    numbers = block.numbers()
    async with in_transaction():
        taken = await PhoneNumber.filter(e164__in=numbers).order_by("e164").first()
        if taken is not None:
            # The other block's first number only: whose it is stays the platform's business.
            raise Conflict(
                "first",
                f"{block.first}..{block.last} overlaps numbers already on the platform"
                f" ({taken.e164}, in the block from {taken.block_first})",
            )
        await PhoneNumber.bulk_create(
            [
                PhoneNumber(e164=n, tenant=tenant, block_first=block.first, block_count=block.count)
                for n in numbers
            ]
        )
        await audit.record(
            actor,
            AuditAction.NUMBER_ADD,
            "number_block",
            block.first,
            after={
                "tenant": tenant.slug,
                "first": block.first,
                "last": block.last,
                "count": block.count,
            },
        )
    return block


async def list_numbers(tenant_slug: str | None = None, *, unused: bool = False) -> list[NumberView]:
    """Every number (of one tenant, if named) with what it is used for, by number."""
    query = PhoneNumber.all().select_related("tenant", *_USES).order_by("e164")
    if tenant_slug is not None:
        query = query.filter(tenant=await get_tenant(tenant_slug))
    if unused:
        query = query.filter(**{f"{use}_id__isnull": True for use in _USES})
    return [_view(row, row.tenant) for row in await query]


async def get_number(text: str, tenant_slug: str | None = None) -> NumberView:
    row, tenant = await _visible_number(text, tenant_slug)
    return _view(row, tenant)


async def assign(
    p: Platform,
    actor: audit.Actor,
    number: str,
    user_extension: str | None = None,
    tenant_slug: str | None = None,
    *,
    group: str | None = None,
    route: str | None = None,
    menu: str | None = None,
    announcement: str | None = None,
    queue: str | None = None,
) -> NumberView:
    """Attach an unused number to one user, hunt group, IVR menu, announcement or call
    queue (by extension) or scheduled route (by name) of the number's own tenant."""
    named = (
        ("user", user_extension),
        ("group", group),
        ("route", route),
        ("menu", menu),
        ("announcement", announcement),
        ("queue", queue),
    )
    given = [n for n, v in named if v]
    if len(given) != 1:
        raise InvalidInput(
            given[1] if len(given) > 1 else "user",
            "assign to exactly one user, group, route, menu, announcement or queue",
        )
    async with in_transaction():
        row, tenant = await _visible_number(number, tenant_slug)
        before = _view(row, tenant)
        _unassign(row)
        row.assigned_user = row.assigned_group = row.assigned_route = row.assigned_menu = None
        row.assigned_queue = None
        if user_extension:
            row.assigned_user = await get_user(tenant, user_extension, field="user")
        elif group:
            row.assigned_group = await get_group(tenant, group, field="group")
        elif menu:
            row.assigned_menu = await get_menu(tenant, menu, field="menu")
        elif announcement:
            row.assigned_announcement = await get_announcement(
                tenant, announcement, field="announcement"
            )
        elif queue:
            row.assigned_queue = await get_queue(tenant, queue, field="queue")
        else:
            found = await route_by_name(tenant, str(route))
            if found is None:
                raise NotFound("route", f"{route} in tenant {tenant.slug}", field="route")
            row.assigned_route = found
        if before.use is not None:
            raise Conflict("number", f"{row.e164} is {before.describe_use()}; release it first")
        return await _save_use(actor, AuditAction.NUMBER_ASSIGN, row, tenant, before)


async def release(
    p: Platform, actor: audit.Actor, number: str, tenant_slug: str | None = None
) -> NumberView:
    """Detach the number from what uses it; it stays the tenant's, unused."""
    async with in_transaction():
        row, tenant = await _visible_number(number, tenant_slug)
        before = _view(row, tenant)
        if before.use is None:
            raise InvalidInput("number", f"{row.e164} is not in use")
        _unassign(row)
        row.assigned_trunk = None
        await _drop_trunk_inbound(row)
        return await _save_use(actor, AuditAction.NUMBER_RELEASE, row, tenant, before)


def _unassign(row: PhoneNumber) -> None:
    """Every use but a trunk's (which its trunk entry owns)."""
    row.assigned_user = row.assigned_group = row.assigned_route = None
    row.assigned_menu = row.assigned_announcement = row.assigned_queue = None


async def _drop_trunk_inbound(row: PhoneNumber) -> None:
    """The number no longer takes a trunk's inbound calls: its trunk entry keeps only the
    caller-ID flag, or goes when that was all it had. Within the caller's transaction."""
    on_trunk = await TrunkNumber.get_or_none(number=row)
    if on_trunk is None or not on_trunk.inbound:
        return
    if on_trunk.caller_id:
        on_trunk.inbound = False
        await on_trunk.save(update_fields=["inbound"])
    else:
        await on_trunk.delete()


async def _save_use(
    actor: audit.Actor, action: AuditAction, row: PhoneNumber, tenant: Tenant, before: NumberView
) -> NumberView:
    """Save what the number is now used for, with the audit row; within the caller's
    transaction, after it has checked that the change is allowed."""
    await row.save(update_fields=[f"{use}_id" for use in _USES])
    after = _view(row, tenant)
    await audit.record(
        actor, action, "number", row.e164, before=before.as_dict(), after=after.as_dict()
    )
    return after


async def remove_block(
    p: Platform, actor: audit.Actor, first: str, tenant_slug: str | None = None
) -> NumberBlock:
    """Remove the whole block starting at ``first``; refused while any number is in use."""
    e164 = parse_number(first, DEFAULT_COUNTRY, "first", require_valid=False)
    async with in_transaction():
        query = PhoneNumber.filter(block_first=e164).select_related("tenant", *_USES)
        if tenant_slug is not None:
            query = query.filter(tenant=await get_tenant(tenant_slug))
        rows = await query.order_by("e164")
        if not rows:
            raise NotFound("number block", e164, field="first")
        in_use = [
            f"{v.e164} {v.describe_use()}"
            for v in (_view(r, r.tenant) for r in rows)
            if v.use is not None
        ]
        # A main number is every numberless user's caller ID: removing it would leave
        # them calling out with nothing to present.
        mains = await Tenant.filter(main_number__in=[r.e164 for r in rows]).order_by("slug")
        in_use += [f"{t.main_number} in use as tenant {t.slug}'s main number" for t in mains]
        callers = TrunkNumber.filter(number_id__in=[r.id for r in rows], inbound=False)
        for entry in await callers.select_related("number", "trunk").order_by("number__e164"):
            in_use.append(f"{entry.number.e164} a caller ID of trunk {entry.trunk.name}")
        if in_use:
            shown = "; ".join(in_use[:5])
            more = f" and {len(in_use) - 5} more" if len(in_use) > 5 else ""
            todo = "release them" + (" or set another main number" if mains else "")
            raise InvalidInput(
                "first", f"numbers of the block are in use: {shown}{more}; {todo} first"
            )
        block = NumberBlock(e164, rows[0].block_count)
        tenant = rows[0].tenant
        await PhoneNumber.filter(id__in=[r.id for r in rows]).delete()
        await audit.record(
            actor,
            AuditAction.NUMBER_REMOVE,
            "number_block",
            block.first,
            before={
                "tenant": tenant.slug,
                "first": block.first,
                "last": block.last,
                "count": block.count,
            },
        )
    return block
