"""API bearer tokens: shown once when created, stored only as SHA-256."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from provd.db.models import ApiToken
from provd.domain.errors import InvalidInput
from provd.domain.passwords import generate_token
from provd.services import audit

TOKEN_PREFIX = "provd_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(
    actor: audit.Actor, name: str, *, role: str = "admin", days: int | None = None
) -> str:
    if role not in ("admin",):
        raise InvalidInput("role", f"unknown role {role!r}")
    if not name.strip() or len(name) > 64:
        raise InvalidInput("name", "must be 1 to 64 characters")
    token = TOKEN_PREFIX + generate_token()
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    async with in_transaction():
        row = await ApiToken.create(
            name=name.strip(), token_sha256=_digest(token), role=role, expires_at=expires
        )
        await audit.record(
            actor,
            "token.create",
            "api_token",
            str(row.id),
            after={
                "name": row.name,
                "role": role,
                "expires_at": expires.isoformat() if expires else None,
            },
        )
    return token


async def authenticate(token: str) -> ApiToken | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = await ApiToken.get_or_none(token_sha256=_digest(token))
    if row is None:
        return None
    now = datetime.now(UTC)
    if row.expires_at is not None and row.expires_at <= now:
        return None
    return row
