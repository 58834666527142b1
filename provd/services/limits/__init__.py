"""Spend and call limits: shown, set and read for routing (provd.domain.limits has the
rules).

A level's limits (the tenant's, or one trunk's) are one ``spend_limit`` row, none for
the defaults (10 / 25 / 50 EUR per hour / day / week, no call limits). Setting them
replaces the values given and keeps the others; ``none`` clears one (no limit for that
window). The tenant's row also holds where its alerts are e-mailed. Every change
writes an audit row; bad input names its field and writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import CallRecord, LimitAlert, SpendLimit, Tenant, Trunk
from provd.domain import limits
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import InvalidInput
from provd.domain.limits import Limits, Window
from provd.services import audit
from provd.services.directory.tenants import get_tenant
from provd.services.platform import Platform
from provd.services.trunks import get_trunk

OBJECT = "limits"
FIELDS: Mapping[str, tuple[limits.Kind, Window]] = {
    "hour": ("spend", Window.HOUR),
    "day": ("spend", Window.DAY),
    "week": ("spend", Window.WEEK),
    "calls_hour": ("calls", Window.HOUR),
    "calls_day": ("calls", Window.DAY),
    "calls_week": ("calls", Window.WEEK),
}
"""The values one sets, by the name the CLI, REST and console give them."""
OUTSIDE_TYPES = ("national_fixed", "mobile", "international", "premium", "service")
"""Call types whose calls leave the platform: what the limits count."""
_EMAIL = re.compile(r"[^@\s<>,;\"']{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}")


def owner_key(tenant: Tenant, trunk: Trunk | None) -> str:
    return f"trunk:{trunk.id}" if trunk is not None else f"tenant:{tenant.id}"


def _stored(row: SpendLimit | None) -> Limits:
    if row is None:
        return limits.DEFAULT
    try:
        return limits.from_json(row.limits)
    except ValueError:
        # Fail closed, as routing does: a limit nobody can read allows no spend.
        return Limits(spend={Window.HOUR: Decimal("0")})


def limits_view(
    value: Limits, tenant: Tenant, trunk: str | None, alert_email: str | None
) -> dict[str, Any]:
    view: dict[str, Any] = {"tenant": tenant.slug, "trunk": trunk}
    for name, (kind, window) in FIELDS.items():
        limit = value.limit(kind, window)
        view[name] = None if limit is None else (str(limit) if kind == "spend" else int(limit))
    if trunk is None:
        view["alert_email"] = alert_email
    return view


async def _level(tenant_slug: str, trunk: str | None) -> tuple[Tenant, Trunk | None]:
    tenant = await get_tenant(tenant_slug)
    found = await get_trunk(tenant, trunk, field="trunk") if trunk is not None else None
    return tenant, found


async def show_limits(tenant_slug: str, *, trunk: str | None = None) -> dict[str, Any]:
    """The limits of the tenant or of one of its trunks (the tenant's apply as well)."""
    tenant, found = await _level(tenant_slug, trunk)
    row = await SpendLimit.get_or_none(owner=owner_key(tenant, found))
    email = row.alert_email if found is None and row else None
    return limits_view(_stored(row), tenant, found.name if found else None, email)


def check_email(value: object, field: str = "alert_email") -> str | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    if not isinstance(value, str) or not _EMAIL.fullmatch(value.strip()):
        raise InvalidInput(field, "give an e-mail address such as billing@example.com, or none")
    return value.strip()


def parse_changes(changes: Mapping[str, object]) -> tuple[dict[str, object], bool]:
    """The values given, checked (field named on the first bad one): {name: parsed},
    and whether alert_email was given."""
    parsed: dict[str, object] = {}
    email_given = False
    for name, value in changes.items():
        if name == "alert_email":
            parsed[name] = check_email(value)
            email_given = True
        elif name in FIELDS:
            kind, _ = FIELDS[name]
            parsed[name] = (
                limits.parse_spend(value, field=name)
                if kind == "spend"
                else limits.parse_calls(value, field=name)
            )
        else:
            raise InvalidInput(
                name, f"not a limit: give one of {', '.join([*FIELDS, 'alert_email'])}"
            )
    return parsed, email_given


async def set_limits(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    changes: Mapping[str, object],
    *,
    trunk: str | None = None,
) -> dict[str, Any]:
    """Replace the values given (``hour``, ``day``, ``week``, ``calls_hour``…, and on the
    tenant ``alert_email``); None or ``none`` clears one."""
    parsed, email_given = parse_changes(changes)
    if email_given and trunk is not None:
        raise InvalidInput("alert_email", "alerts go to the tenant's address: set it on the tenant")
    async with in_transaction():
        tenant, found = await _level(tenant_slug, trunk)
        row = await SpendLimit.get_or_none(owner=owner_key(tenant, found))
        old = _stored(row)
        old_email = row.alert_email if row is not None else None
        spend = dict(old.spend)
        calls = dict(old.calls)
        for name, value in parsed.items():
            if name == "alert_email":
                continue
            kind, window = FIELDS[name]
            target: dict[Window, Any] = spend if kind == "spend" else calls
            if value is None:
                target.pop(window, None)
            else:
                target[window] = value
        new = replace(old, spend=spend, calls=calls)
        email = parsed["alert_email"] if email_given else old_email
        assert email is None or isinstance(email, str)
        trunk_name = found.name if found else None
        before = limits_view(old, tenant, trunk_name, old_email)
        after = limits_view(new, tenant, trunk_name, email)
        if before == after:
            return after
        if row is None:
            row = SpendLimit(owner=owner_key(tenant, found), tenant=tenant, trunk=found)
        row.limits = limits.to_json(new)
        row.alert_email = email
        await row.save()
        key = f"{tenant.slug}/trunk/{found.name}" if found else tenant.slug
        await audit.record(actor, AuditAction.LIMITS_SET, OBJECT, key, before=before, after=after)
    return after


async def load_limits() -> dict[tuple[int, int | None], Limits]:
    """Every stored level's limits: (tenant id, trunk id or None) -> limits."""
    out: dict[tuple[int, int | None], Limits] = {}
    for row in await SpendLimit.all():
        out[(row.tenant_id, row.trunk_id)] = _stored(row)  # type: ignore[attr-defined]
    return out


async def outside_calls_since(since: datetime) -> list[CallRecord]:
    """The records of calls out (not refused by provd) that started at ``since`` or later."""
    return await CallRecord.filter(started_at__gte=since, call_type__in=OUTSIDE_TYPES).exclude(
        disposition="blocked"
    )


async def list_alerts(tenant_slug: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """The tenant's alerts, newest first."""
    tenant = await get_tenant(tenant_slug)
    rows = await LimitAlert.filter(tenant=tenant).order_by("-id").limit(limit)
    return [alert_view(r) for r in rows]


def alert_view(row: LimitAlert) -> dict[str, Any]:
    return {
        "level": row.level,
        "kind": row.kind,
        "window": row.window,
        "window_start": row.window_start.isoformat(),
        "percent": row.percent,
        "used": str(row.used),
        "limit": str(row.limit),
        "recipient": row.recipient,
        "delivered": row.delivered,
        "error": row.error,
        "at": row.created_at.isoformat(),
    }


async def usage_view(tenant_slug: str, at: datetime | None = None) -> dict[str, Any]:
    """Each level's limits and what its collected records spent and numbered in the
    current windows (calls still in progress count once their records are collected)."""
    tenant = await get_tenant(tenant_slug)
    now = at or datetime.now(UTC)
    zone = limits.zone_of(tenant.timezone)
    records = await outside_calls_since(now - timedelta(days=8))
    mine = [r for r in records if r.tenant_id == tenant.id]  # type: ignore[attr-defined]
    trunk_rows = await Trunk.filter(tenant=tenant).order_by("name")
    rows = {
        r.trunk_id: r  # type: ignore[attr-defined]
        for r in await SpendLimit.filter(tenant=tenant)
    }
    levels = []
    for trunk in [None, *trunk_rows]:
        meter = limits.Meter()
        meter.seed(
            [(r.started_at, r.cost) for r in mine if trunk is None or r.trunk == trunk.name],
            now,
            zone,
        )
        row = rows.get(trunk.id if trunk else None)
        view = limits_view(
            _stored(row), tenant, trunk.name if trunk else None, row.alert_email if row else None
        )
        used = meter.usage(now, zone)
        view["usage"] = {
            w.value: {
                "since": used[w].start.isoformat(timespec="minutes"),
                "spend": f"{used[w].spend:.2f}",
                "calls": used[w].calls,
            }
            for w in limits.WINDOWS
        }
        levels.append(view)
    return {"tenant": tenant.slug, "timezone": tenant.timezone, "levels": levels}
