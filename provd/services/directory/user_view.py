"""Users as people list and edit them: search, the devices each is on, renames, new
extensions and whether their number is shown on outside calls."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from provd.db.models import DeviceLine, KeySetting, Tenant, User
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import InvalidInput
from provd.domain.tenancy import check_display_name, check_extension
from provd.services import audit
from provd.services.directory.tenants import get_tenant
from provd.services.directory.users import check_free_extension, get_user, user_view
from provd.services.platform import Platform

LIST_LIMIT = 200


@dataclass(frozen=True, slots=True)
class UserRow:
    user: User
    tenant: Tenant
    devices: list[tuple[str, int]]
    """(MAC, line slot) of every device the user is on."""


async def search_users(
    search: str = "", tenant_slug: str = "", limit: int = LIST_LIMIT
) -> tuple[list[UserRow], int]:
    """Users matching ``search`` (name or extension), at most ``limit``, and how many match."""
    query = User.all()
    if tenant_slug:
        query = query.filter(tenant_id=(await get_tenant(tenant_slug)).id)
    search = search.strip()
    if search:
        query = query.filter(Q(display_name__icontains=search) | Q(extension__startswith=search))
    matching = await query.count()
    users = await query.select_related("tenant").order_by("tenant__slug", "extension").limit(limit)
    lines = await DeviceLine.filter(user_id__in=[u.id for u in users]).values_list(
        "user_id", "device__mac", "slot"
    )
    placed: dict[int, list[tuple[str, int]]] = {}
    for user_id, mac, slot in lines:
        placed.setdefault(user_id, []).append((mac, slot))
    return [UserRow(u, u.tenant, sorted(placed.get(u.id, []))) for u in users], matching


async def update_user(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    extension: str,
    *,
    name: str | None = None,
    new_extension: str | None = None,
    hide_caller_id: bool | None = None,
    may_switch_night: bool | None = None,
) -> User:
    """Rename a user, give it another extension (its SIP username follows), or hide
    or show its number on the calls it makes to the telephone network.

    A user that programmed keys point at keeps its extension: those keys name it.
    """
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        user = await get_user(tenant, extension, field="extension")
        before = user_view(user, tenant)
        changed: list[str] = []
        if name is not None and check_display_name(name) != user.display_name:
            user.display_name = check_display_name(name)
            changed.append("display_name")
        if new_extension is not None and check_extension(new_extension) != user.extension:
            target = await check_free_extension(tenant, new_extension)
            if await KeySetting.filter(target_user=user).exists():
                raise InvalidInput(
                    "extension",
                    f"programmed keys point at {user.extension}; change or clear those keys"
                    " before giving the user another extension",
                )
            if user.sip_username == user.extension:
                user.sip_username = target
                changed.append("sip_username")
            user.extension = target
            changed.append("extension")
        if hide_caller_id is not None:
            # Saved even when equal, as `tenant set` and `device set` do: a script may
            # repeat it. Name and extension are compared because the console's form
            # always sends both.
            user.hide_caller_id = hide_caller_id
            changed.append("hide_caller_id")
        if may_switch_night is not None:
            # Who may flip the night switch from a phone (*915): saved even when equal.
            user.may_switch_night = may_switch_night
            changed.append("may_switch_night")
        if not changed:
            raise InvalidInput("settings", "nothing to change")
        await user.save(update_fields=changed)
        await audit.record(
            actor,
            AuditAction.USER_SET,
            "user",
            f"{tenant.slug}/{extension}",
            before=before,
            after=user_view(user, tenant),
        )
    await p.accounts_changed()
    return user
