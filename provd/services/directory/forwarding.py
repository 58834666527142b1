"""A user's call forwarding and do-not-disturb, as admins set them.

Each forward (always, busy, no answer, unreachable) names a destination of the user's
own tenant or none (provd.services.destinations); a user forwarded to itself is
refused here, longer loops are cut by the call path. Changes are audited on the user
(``user.forward``, ``user.dnd``) with the whole forwarding view before and after.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import Tenant, User
from provd.domain.audit_actions import AuditAction
from provd.domain.destinations import UserDestination
from provd.domain.errors import InvalidInput
from provd.domain.forwarding import ForwardCase, check_no_answer_seconds
from provd.services import audit
from provd.services.destinations import Names, resolve_destination
from provd.services.directory.tenants import get_tenant
from provd.services.directory.users import get_user
from provd.services.platform import Platform

ALL = "all"
"""Clears every forward at once."""


def forwarding_view(user: User, tenant: Tenant, names: Names) -> dict[str, Any]:
    view: dict[str, Any] = {"tenant": tenant.slug, "extension": user.extension}
    for case in ForwardCase:
        view[case.value] = names.view(getattr(user, case.column))
    view["no_answer_seconds"] = user.forward_no_answer_seconds
    view["dnd"] = user.dnd
    return view


async def get_forwarding(tenant_slug: str, extension: str) -> dict[str, Any]:
    tenant = await get_tenant(tenant_slug)
    user = await get_user(tenant, extension, field="extension")
    return forwarding_view(user, tenant, await Names.of(tenant))


def _cases_to_clear(clear: Collection[str]) -> set[ForwardCase]:
    cases: set[ForwardCase] = set()
    for text in clear:
        name = text.strip().lower().replace("-", "_")
        if name == ALL:
            cases |= set(ForwardCase)
            continue
        try:
            cases.add(ForwardCase(name))
        except ValueError:
            known = ", ".join([*(c.option for c in ForwardCase), ALL])
            raise InvalidInput("clear", f"{text!r} is not a forward: use {known}") from None
    return cases


async def set_forwarding(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    extension: str,
    *,
    always: str | None = None,
    busy: str | None = None,
    no_answer: str | None = None,
    unreachable: str | None = None,
    no_answer_seconds: int | None = None,
    clear: Collection[str] = (),
) -> dict[str, Any]:
    """Set the forwards given (a destination, or ``none``), clear those in ``clear``
    (``no-answer``, …, ``all``), and the no-answer ring time; all or nothing."""
    given = {
        ForwardCase.ALWAYS: always,
        ForwardCase.BUSY: busy,
        ForwardCase.NO_ANSWER: no_answer,
        ForwardCase.UNREACHABLE: unreachable,
    }
    to_set = {case: text for case, text in given.items() if text is not None}
    to_clear = _cases_to_clear(clear)
    both = sorted(to_set.keys() & to_clear)
    if both:
        raise InvalidInput(both[0].value, f"both set and cleared: {both[0].option}")
    if not to_set and not to_clear and no_answer_seconds is None:
        raise InvalidInput("settings", "nothing to change")
    seconds = None if no_answer_seconds is None else check_no_answer_seconds(no_answer_seconds)
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        user = await get_user(tenant, extension, field="extension")
        names = await Names.of(tenant)
        before = forwarding_view(user, tenant, names)
        itself = UserDestination(user.id)
        for case, text in to_set.items():
            stored = await resolve_destination(tenant, text, field=case.value, itself=itself)
            setattr(user, case.column, stored)
        for case in to_clear:
            setattr(user, case.column, None)
        if seconds is not None:
            user.forward_no_answer_seconds = seconds
        columns = [c.column for c in (to_set.keys() | to_clear)]
        await user.save(update_fields=[*columns, "forward_no_answer_seconds"])
        after = forwarding_view(user, tenant, names)
        await audit.record(
            actor,
            AuditAction.USER_FORWARD,
            "user",
            f"{tenant.slug}/{user.extension}",
            before=before,
            after=after,
        )
    return after


async def set_dnd(
    p: Platform, actor: audit.Actor, tenant_slug: str, extension: str, dnd: bool
) -> dict[str, Any]:
    """Turn do-not-disturb on or off; saved even when unchanged, so a script may repeat it."""
    if not isinstance(dnd, bool):
        raise InvalidInput("dnd", "must be true or false")
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        user = await get_user(tenant, extension, field="extension")
        names = await Names.of(tenant)
        before = forwarding_view(user, tenant, names)
        user.dnd = dnd
        await user.save(update_fields=["dnd"])
        after = forwarding_view(user, tenant, names)
        await audit.record(
            actor,
            AuditAction.USER_DND,
            "user",
            f"{tenant.slug}/{user.extension}",
            before=before,
            after=after,
        )
    return after
