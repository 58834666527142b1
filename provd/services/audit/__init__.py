"""The change log: one row per state change, with the actor and before/after.

Values under keys that name a secret are replaced before they are stored, so
the log can be shown and exported without leaking anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provd.db.models import AuditEntry
from provd.domain.audit_actions import AuditAction

_SECRET_MARKERS = ("password", "secret", "token", "ha1", "_enc")
REDACTED = "***"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: ``cli:root``, ``api:<token name>``, ``device:<mac>``."""

    name: str
    request_id: str | None = None
    """provd's own id for the request (the web layer makes one per request)."""
    client_request_id: str | None = None
    """What the client sent as ``X-Request-Id``, kept apart: anyone can send anything."""


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (REDACTED if any(m in k.lower() for m in _SECRET_MARKERS) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


async def record(
    actor: Actor,
    action: AuditAction,
    object_type: str,
    object_key: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> int:
    """Write the row; call inside the transaction that makes the change. Returns its id."""
    entry = await AuditEntry.create(
        actor=actor.name,
        request_id=actor.request_id,
        client_request_id=actor.client_request_id,
        action=action,
        object_type=object_type,
        object_key=object_key,
        before=redact(before) if before is not None else None,
        after=redact(after) if after is not None else None,
    )
    return int(entry.id)


async def recent(limit: int = 100) -> list[dict[str, Any]]:
    rows = await AuditEntry.all().order_by("-id").limit(limit)
    return [
        {
            "id": r.id,
            "at": r.at.isoformat(),
            "actor": r.actor,
            "request_id": r.request_id,
            "client_request_id": r.client_request_id,
            "action": r.action,
            "object_type": r.object_type,
            "object_key": r.object_key,
            "before": r.before,
            "after": r.after,
        }
        for r in rows
    ]
