"""Time schedules of a tenant: weekly rules, holidays and the night switch.

Rules and holidays are checked by provd.domain.schedules as a whole (no overlapping
rules, no holiday ending before it starts) and stored as the texts it formats, read in
the tenant's time zone. The night switch is the schedule's manual override: *on* is
closed, *off* is open, *auto* follows the rules, optionally until a time. A schedule's
view carries its state now and when that next changes (``state_at``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import IncomingBlock, Schedule, ScheduledRoute, Tenant
from provd.domain import schedules as rules
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.services import audit
from provd.services.destinations import MAX_NAME, refuse_if_used
from provd.services.directory.tenants import get_tenant
from provd.services.platform import Platform

OBJECT = "schedule"


class NightSwitch(StrEnum):
    """The night switch: on (closed whatever the rules say), off (open), auto (the rules)."""

    ON = "on"
    OFF = "off"
    AUTO = "auto"

    @property
    def override(self) -> rules.OverrideState | None:
        if self is NightSwitch.ON:
            return "closed"
        if self is NightSwitch.OFF:
            return "open"
        return None

    @classmethod
    def of(cls, override: str | None) -> NightSwitch:
        return {"closed": cls.ON, "open": cls.OFF}.get(override or "", cls.AUTO)


def check_night_switch(text: str, *, field: str = "state") -> NightSwitch:
    try:
        return NightSwitch(text.strip().lower())
    except ValueError:
        raise InvalidInput(
            field, f"{text!r} is not a night switch setting: on, off or auto"
        ) from None


async def get_schedule(tenant: Tenant, name: str, *, field: str = "schedule") -> Schedule:
    # Longer than the column names no schedule; the ORM would refuse the look-up (a 500).
    found = None if len(name) > MAX_NAME else await Schedule.get_or_none(tenant=tenant, name=name)
    if found is None:
        raise NotFound("schedule", f"{name} in tenant {tenant.slug}", field=field)
    return found


def domain_schedule(row: Schedule, tenant: Tenant) -> rules.Schedule:
    """The stored schedule as provd.domain.schedules reads it."""
    return rules.Schedule(
        row.name,
        tenant.timezone,
        tuple(rules.parse_rule(text) for text in row.rules),
        tuple(rules.parse_holiday(text) for text in row.holidays),
    )


def override_of(row: Schedule) -> rules.Override | None:
    if row.override_state is None:
        return None
    state: rules.OverrideState = "closed" if row.override_state == "closed" else "open"
    return rules.Override(state, row.override_until)


def schedule_view(row: Schedule, tenant: Tenant, now: datetime | None = None) -> dict[str, Any]:
    """The schedule with its state at ``now`` (default: now). An expired manual setting
    reads as auto: it no longer acts."""
    at = now or datetime.now(UTC)
    override = override_of(row)
    state = rules.state_at(domain_schedule(row, tenant), override, at)
    acting = override is not None and override.active_at(at)
    return {
        "tenant": tenant.slug,
        "name": row.name,
        "timezone": tenant.timezone,
        "rules": list(row.rules),
        "holidays": list(row.holidays),
        "night_switch": NightSwitch.of(row.override_state if acting else None).value,
        "until": _iso(row.override_until) if acting else None,
        "state": state.state,
        "cause": state.cause,
        "next_change": _iso(state.next_change),
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _checked(
    name: str, tenant: Tenant, rule_texts: Sequence[str], holiday_texts: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The rules and holidays in their formatted texts, checked as one schedule."""
    if isinstance(rule_texts, str) or isinstance(holiday_texts, str):
        raise InvalidInput("rules" if isinstance(rule_texts, str) else "holidays", "must be a list")
    parsed = rules.check_schedule(
        rules.Schedule(
            name,
            tenant.timezone,
            tuple(rules.parse_rule(t, field=f"rules[{i}]") for i, t in enumerate(rule_texts)),
            tuple(
                rules.parse_holiday(t, field=f"holidays[{i}]") for i, t in enumerate(holiday_texts)
            ),
        )
    )
    return (
        [rules.format_rule(r) for r in parsed.rules],
        [rules.format_holiday(h) for h in parsed.holidays],
    )


async def list_schedules(
    tenant_slug: str | None = None, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    query = Schedule.all().select_related("tenant").order_by("tenant__slug", "name")
    if tenant_slug is not None:
        query = query.filter(tenant=await get_tenant(tenant_slug))
    return [schedule_view(row, row.tenant, now) for row in await query]


async def show_schedule(
    tenant_slug: str, name: str, *, now: datetime | None = None
) -> dict[str, Any]:
    tenant = await get_tenant(tenant_slug)
    return schedule_view(await get_schedule(tenant, name, field="name"), tenant, now)


async def add_schedule(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    name: str,
    rule_texts: Sequence[str] = (),
    holiday_texts: Sequence[str] = (),
) -> dict[str, Any]:
    tenant = await get_tenant(tenant_slug)
    stored_rules, stored_holidays = _checked(name, tenant, rule_texts, holiday_texts)
    async with in_transaction():
        if await Schedule.exists(tenant=tenant, name=name):
            raise Conflict("name", f"a schedule named {name!r} already exists in {tenant.slug}")
        row = await Schedule.create(
            tenant=tenant, name=name, rules=stored_rules, holidays=stored_holidays
        )
        view = schedule_view(row, tenant)
        await audit.record(
            actor, AuditAction.SCHEDULE_ADD, OBJECT, f"{tenant.slug}/{name}", after=view
        )
    return view


async def update_schedule(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    name: str,
    *,
    new_name: str | None = None,
    rule_texts: Sequence[str] | None = None,
    holiday_texts: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Rename the schedule or replace its rules or its holidays (an empty list clears
    them); the result is checked as a whole before anything is saved."""
    if new_name is None and rule_texts is None and holiday_texts is None:
        raise InvalidInput("settings", "nothing to change")
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        row = await get_schedule(tenant, name, field="name")
        before = schedule_view(row, tenant)
        target = row.name if new_name is None else new_name
        row.rules, row.holidays = _checked(
            target,
            tenant,
            row.rules if rule_texts is None else rule_texts,
            row.holidays if holiday_texts is None else holiday_texts,
        )
        if target != row.name:
            if await Schedule.exists(tenant=tenant, name=target):
                raise Conflict(
                    "name", f"a schedule named {target!r} already exists in {tenant.slug}"
                )
            row.name = target
        await row.save()
        after = schedule_view(row, tenant)
        await audit.record(
            actor,
            AuditAction.SCHEDULE_SET,
            OBJECT,
            f"{tenant.slug}/{name}",
            before=before,
            after=after,
        )
    return after


async def remove_schedule(p: Platform, actor: audit.Actor, tenant_slug: str, name: str) -> None:
    """Refused while a scheduled route or an incoming block uses the schedule."""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        row = await get_schedule(tenant, name, field="name")
        routes = await ScheduledRoute.filter(schedule=row).order_by("name")
        blocks = await IncomingBlock.filter(schedule=row).order_by("id")
        uses = [f"route {r.name}" for r in routes] + [f"incoming block {b.id}" for b in blocks]
        refuse_if_used(f"schedule {row.name}", uses, field="name")
        before = schedule_view(row, tenant)
        await row.delete()
        await audit.record(
            actor, AuditAction.SCHEDULE_REMOVE, OBJECT, f"{tenant.slug}/{name}", before=before
        )


def parse_until(text: str, tenant: Tenant, *, field: str = "until") -> datetime:
    """``YYYY-MM-DD HH:MM`` on the tenant's clock (or ISO 8601 with its offset)."""
    cleaned = text.strip().replace("T", " ")
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise InvalidInput(field, f"{text!r} is not a time: write YYYY-MM-DD HH:MM") from None
    if value.tzinfo is None:
        # fold=0: a time the clock shows twice is its first pass, as the schedules read it.
        value = value.replace(tzinfo=rules.schedule_zone(tenant.timezone))
    return value.astimezone(UTC)


async def set_night_switch(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    name: str,
    setting: str,
    *,
    until: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Switch the schedule on (closed), off (open) or back to auto, optionally until a
    time ahead, after which it follows the rules again by itself."""
    switch = check_night_switch(setting)
    tenant = await get_tenant(tenant_slug)
    at = now or datetime.now(UTC)
    end = None
    if until is not None and until.strip():
        if switch is NightSwitch.AUTO:
            raise InvalidInput("until", "auto has no end: it is what a setting ends in")
        end = parse_until(until, tenant)
    override = switch.override
    if override is not None:
        rules.check_override(rules.Override(override, end), at, field="until")
    async with in_transaction():
        row = await get_schedule(tenant, name, field="name")
        before = schedule_view(row, tenant, at)
        row.override_state = override
        row.override_until = end
        await row.save(update_fields=["override_state", "override_until"])
        after = schedule_view(row, tenant, at)
        await audit.record(
            actor,
            AuditAction.SCHEDULE_NIGHT_SWITCH,
            OBJECT,
            f"{tenant.slug}/{row.name}",
            before=before,
            after=after,
        )
    return after
