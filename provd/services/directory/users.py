"""Users: people with an internal extension and a SIP account."""

from __future__ import annotations

import shutil
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import (
    Announcement,
    DeviceLine,
    HuntGroup,
    IncomingBlock,
    KeySetting,
    Menu,
    PhoneNumber,
    Queue,
    Tenant,
    User,
    VoicemailMessage,
)
from provd.domain.audit_actions import AuditAction
from provd.domain.destinations import UserDestination, VoicemailDestination
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.passwords import check_password, generate_password
from provd.domain.tenancy import check_display_name, check_extension
from provd.services import audit
from provd.services.destinations import references_to, refuse_if_used
from provd.services.directory.tenants import get_tenant
from provd.services.platform import Platform


def user_view(u: User, tenant: Tenant) -> dict[str, Any]:
    return {
        "tenant": tenant.slug,
        "extension": u.extension,
        "name": u.display_name,
        "sip_username": u.sip_username,
        "sip_domain": tenant.sip_domain,
        "hide_caller_id": u.hide_caller_id,
        "may_switch_night": u.may_switch_night,
        "created_at": u.created_at.isoformat(),
    }


async def get_user(tenant: Tenant, extension: str, *, field: str = "user") -> User:
    try:
        # What cannot be an extension names no user; the ORM would refuse to look up
        # a value longer than the column (a 500), or one that cannot be encoded.
        valid = check_extension(extension)
    except InvalidInput:
        raise NotFound("user", f"{extension} in tenant {tenant.slug}", field=field) from None
    user = await User.get_or_none(tenant=tenant, extension=valid)
    if user is None:
        raise NotFound("user", f"{extension} in tenant {tenant.slug}", field=field)
    return user


async def check_free_extension(tenant: Tenant, extension: str, *, field: str = "extension") -> str:
    """``extension`` if no user, hunt group, IVR menu, announcement or call queue of the
    tenant has it; else Conflict.

    Users, groups, menus, announcements and queues share a tenant's extensions: what is
    dialled must name one.
    """
    extension = check_extension(extension, field=field)
    user = await User.get_or_none(tenant=tenant, extension=extension)
    if user is not None:
        raise Conflict(
            field,
            f"extension {extension} already exists in {tenant.slug}"
            f" (user {extension}, {user.display_name})",
        )
    group = await HuntGroup.get_or_none(tenant=tenant, extension=extension)
    if group is not None:
        raise Conflict(
            field,
            f"extension {extension} already exists in {tenant.slug}"
            f" (group {extension}, {group.name})",
        )
    menu = await Menu.get_or_none(tenant=tenant, extension=extension)
    if menu is not None:
        raise Conflict(
            field,
            f"extension {extension} already exists in {tenant.slug}"
            f" (menu {extension}, {menu.name})",
        )
    announcement = await Announcement.get_or_none(tenant=tenant, extension=extension)
    if announcement is not None:
        raise Conflict(
            field,
            f"extension {extension} already exists in {tenant.slug}"
            f" (announcement {extension}, {announcement.name})",
        )
    queue = await Queue.get_or_none(tenant=tenant, extension=extension)
    if queue is not None:
        raise Conflict(
            field,
            f"extension {extension} already exists in {tenant.slug}"
            f" (queue {extension}, {queue.name})",
        )
    return extension


async def add_user(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    extension: str,
    name: str,
    *,
    sip_password: str | None = None,
) -> tuple[User, str]:
    """Create the user; returns it with its SIP password (generated unless given)."""
    extension = check_extension(extension)
    name = check_display_name(name)
    password = (
        check_password(sip_password, field="sip_password")
        if sip_password
        else generate_password(20)
    )
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        await check_free_extension(tenant, extension)
        user = await User.create(
            tenant=tenant,
            extension=extension,
            display_name=name,
            sip_username=extension,
            sip_password_enc=p.box.seal(password),
        )
        await audit.record(
            actor,
            AuditAction.USER_ADD,
            "user",
            f"{tenant.slug}/{extension}",
            after=user_view(user, tenant),
        )
    await p.accounts_changed()
    return user, password


async def list_users(tenant_slug: str | None = None) -> list[tuple[User, Tenant]]:
    query = User.all().prefetch_related("tenant").order_by("tenant__slug", "extension")
    if tenant_slug:
        query = query.filter(tenant=await get_tenant(tenant_slug))
    return [(u, u.tenant) for u in await query]


async def remove_user(p: Platform, actor: audit.Actor, tenant_slug: str, extension: str) -> None:
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        user = await get_user(tenant, extension, field="extension")
        placed = await DeviceLine.filter(user=user).prefetch_related("device")
        if placed:
            where = ", ".join(f"{line.device.mac} line {line.slot}" for line in placed)
            raise InvalidInput(
                "extension",
                f"user {extension} is on {where}; remove it from those devices first",
            )
        watched = await KeySetting.filter(target_user=user).count()
        if watched:
            raise InvalidInput(
                "extension",
                f"user {extension} is the target of {watched} programmed key(s); "
                "change or clear those keys first",
            )
        held = (
            await PhoneNumber.filter(assigned_user=user)
            .order_by("e164")
            .values_list("e164", flat=True)
        )
        if held:
            # A number that silently lost its user would stop ringing with no trace of why.
            raise InvalidInput(
                "extension",
                f"user {extension} holds {', '.join(map(str, held))}; release those numbers first",
            )
        # A destination naming the user's mailbox would lose it with the user.
        uses = await references_to(tenant, UserDestination(user.id))
        uses += await references_to(tenant, VoicemailDestination(user.id))
        refuse_if_used(f"user {extension}", uses, field="extension")
        before = user_view(user, tenant)
        # The user's own incoming blocks are its settings, and go with it: named here.
        blocks = IncomingBlock.filter(user=user).order_by("id")
        own_blocks = list(await blocks.values_list("id", flat=True))
        if own_blocks:
            before["incoming_blocks"] = own_blocks
            await blocks.delete()
        # The user's voicemail goes with it (the rows by the foreign key): counted here.
        messages = await VoicemailMessage.filter(user=user).count()
        if messages:
            before["voicemail_messages"] = messages
        await user.delete()
        await audit.record(
            actor, AuditAction.USER_REMOVE, "user", f"{tenant.slug}/{extension}", before=before
        )
    # After the commit, as services.voicemail stores them; a user added later at the
    # extension must not find them.
    shutil.rmtree(p.data_dir / "voicemail" / tenant.slug / extension, ignore_errors=True)
    await p.accounts_changed()


def sip_password(p: Platform, user: User) -> str:
    return p.box.open(user.sip_password_enc)
