"""API bearer tokens: shown once when created, stored only as SHA-256.

A token carries a role and, for installers and tenant admins, the tenant it is
confined to; it may expire. ``last_used_at`` is written at most once a minute per token.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from provd.db.models import ApiToken, Tenant
from provd.domain.access import Principal, Role, check_scope, parse_role
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import InvalidInput, NotFound
from provd.domain.passwords import generate_token
from provd.services import audit
from provd.services.access.accounts import tenant_for

TOKEN_PREFIX = "provd_"
MAX_DAYS = 3650
_TOUCH_EVERY = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_view(row: ApiToken, tenant: Tenant | None) -> dict[str, object]:
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "tenant": tenant.slug if tenant else None,
        "created_at": row.created_at.isoformat(),
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
    }


async def create_token(
    actor: audit.Actor,
    name: str,
    *,
    role: str = Role.ADMIN,
    days: int | None = None,
    tenant_slug: str | None = None,
    by: Principal | None = None,
) -> str:
    """``by``: the principal creating it from the console (None: the platform's CLI)."""
    parsed = parse_role(role)
    if not name.strip() or len(name) > 64:
        raise InvalidInput("name", "must be 1 to 64 characters")
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise InvalidInput("days", f"must be between 1 and {MAX_DAYS}")
    tenant = await tenant_for(by, tenant_slug)
    if by is not None and not by.may_manage_token(parsed, tenant.id if tenant else None):
        raise InvalidInput("role", f"a {by.role.value} may not create {parsed.value} tokens")
    check_scope(parsed, tenant.id if tenant else None)
    token = TOKEN_PREFIX + generate_token()
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    async with in_transaction():
        row = await ApiToken.create(
            name=name.strip(),
            token_sha256=_digest(token),
            role=parsed.value,
            tenant=tenant,
            expires_at=expires,
        )
        await audit.record(
            actor, AuditAction.TOKEN_CREATE, "api_token", str(row.id), after=token_view(row, tenant)
        )
    return token


def _may_manage(by: Principal | None, row: ApiToken) -> bool:
    tenant_id: int | None = row.tenant_id  # type: ignore[attr-defined]
    return by is None or by.may_manage_token(Role(row.role), tenant_id)


async def list_tokens(by: Principal | None = None) -> list[dict[str, object]]:
    """Every token, or those ``by`` may manage."""
    query = ApiToken.all()
    if by is not None and not by.is_admin:
        query = query.filter(tenant_id=by.tenant_id)
    rows = await query.order_by("id").prefetch_related("tenant")
    return [token_view(r, r.tenant) for r in rows if _may_manage(by, r)]


async def revoke_token(actor: audit.Actor, token_id: int, *, by: Principal | None = None) -> None:
    """A token ``by`` may not manage is as missing as an unknown one."""
    async with in_transaction():
        row = await ApiToken.get_or_none(id=token_id).prefetch_related("tenant")
        if row is None or not _may_manage(by, row):
            raise NotFound("API token", str(token_id), field="id")
        before = token_view(row, row.tenant)
        await row.delete()
        await audit.record(
            actor, AuditAction.TOKEN_REVOKE, "api_token", str(token_id), before=before
        )


async def authenticate(token: str) -> ApiToken | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = await ApiToken.get_or_none(token_sha256=_digest(token))
    if row is None:
        return None
    now = datetime.now(UTC)
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        await ApiToken.filter(id=row.id).update(last_used_at=now)
    return row


def principal_for(row: ApiToken) -> Principal:
    tenant_id: int | None = row.tenant_id  # type: ignore[attr-defined]
    return Principal(f"api:{row.name}", Role(row.role), tenant_id)
