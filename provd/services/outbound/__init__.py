"""Outbound policies: what a tenant, one of its users or one of its trunks may call
outside (provd.domain.outbound_policy has the rules).

A policy is stored on its owner as JSON, null for the default one (nothing blocked
but the fraud-prone destinations). Setting one replaces the parts given (blocked
categories, whitelist presets, whitelist prefixes) and keeps the others; an empty
list clears a part. Every change writes an audit row; bad input names its field and
writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import Tenant, Trunk, User
from provd.domain import outbound_policy
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import InvalidInput
from provd.domain.outbound_policy import Policy
from provd.services import audit
from provd.services.directory.tenants import get_tenant
from provd.services.directory.users import get_user
from provd.services.platform import Platform
from provd.services.trunks import get_trunk

OBJECT = "outbound_policy"

Owner = Tenant | User | Trunk


def policy_view(
    policy: Policy, tenant: Tenant, user: str | None = None, trunk: str | None = None
) -> dict[str, Any]:
    return {
        "tenant": tenant.slug,
        "user": user,
        "trunk": trunk,
        **outbound_policy.to_json(policy),
        "description": outbound_policy.describe(policy),
    }


async def _owner(
    tenant_slug: str, user: str | None, trunk: str | None
) -> tuple[Tenant, Owner, str]:
    """The tenant, the row holding the policy, and its audit key."""
    tenant = await get_tenant(tenant_slug)
    if user is not None and trunk is not None:
        raise InvalidInput("trunk", "a policy is the tenant's, one user's or one trunk's: not both")
    if user is not None:
        row = await get_user(tenant, user, field="user")
        return tenant, row, f"{tenant.slug}/user/{row.extension}"
    if trunk is not None:
        found = await get_trunk(tenant, trunk, field="trunk")
        return tenant, found, f"{tenant.slug}/trunk/{found.name}"
    return tenant, tenant, tenant.slug


def _stored(row: Owner) -> Policy:
    # Written only by set_policy through to_json; an unreadable value is shown as the
    # routing table reads it (refusing all), so what an admin sees is what applies.
    try:
        return outbound_policy.from_json(row.outbound_policy)
    except ValueError:
        return outbound_policy.REFUSE_ALL


def tenant_policy_view(tenant: Tenant) -> dict[str, Any]:
    """The tenant's own policy, from the row at hand (the tenant page has it)."""
    return policy_view(_stored(tenant), tenant)


async def show_policy(
    tenant_slug: str, *, user: str | None = None, trunk: str | None = None
) -> dict[str, Any]:
    """The policy of the tenant, or of one of its users or trunks (its own part: the
    tenant's applies as well)."""
    tenant, row, _ = await _owner(tenant_slug, user, trunk)
    return policy_view(_stored(row), tenant, user=_name(row, user), trunk=_name(row, trunk))


def _name(row: Owner, given: str | None) -> str | None:
    """The user's extension or the trunk's name as stored, when one was asked for."""
    if given is None:
        return None
    if isinstance(row, User):
        return row.extension
    return row.name


async def set_policy(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    *,
    user: str | None = None,
    trunk: str | None = None,
    block: Sequence[str] | None = None,
    allow_presets: Sequence[str] | None = None,
    allow_prefixes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Replace the parts of the policy that are given (None keeps a part)."""
    for field, value in (
        ("block", block),
        ("allow_preset", allow_presets),
        ("allow_prefix", allow_prefixes),
    ):
        if value is not None and (isinstance(value, str) or not isinstance(value, Sequence)):
            raise InvalidInput(field, "must be a list")
    async with in_transaction():
        tenant, row, key = await _owner(tenant_slug, user, trunk)
        old = _stored(row)
        given = outbound_policy.parse_policy(
            block if block is not None else (),
            allow_presets if allow_presets is not None else (),
            allow_prefixes if allow_prefixes is not None else (),
            tenant.country,
        )
        new = Policy(
            blocked=given.blocked if block is not None else old.blocked,
            presets=given.presets if allow_presets is not None else old.presets,
            prefixes=given.prefixes if allow_prefixes is not None else old.prefixes,
        )
        names = {"user": _name(row, user), "trunk": _name(row, trunk)}
        after = policy_view(new, tenant, **names)
        if new == old:
            return after
        row.outbound_policy = (
            None if new == outbound_policy.DEFAULT else outbound_policy.to_json(new)
        )
        await row.save(update_fields=["outbound_policy"])
        await audit.record(
            actor,
            AuditAction.OUTBOUND_POLICY_SET,
            OBJECT,
            key,
            before=policy_view(old, tenant, **names),
            after=after,
        )
    return after
