"""``provd limits …``: spend and call-count limits of a tenant or one of its trunks
(services.limits)."""

from __future__ import annotations

from typing import Any

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db
from provd.services import limits as service
from provd.services.directory.tenants import DEFAULT_TENANT
from provd.services.platform import Platform


@cli.group()
def limits() -> None:
    """Spend and call limits per hour, day and week (the brake on toll fraud)."""


def _level_options(fn: Any) -> Any:
    fn = click.option("--trunk", help="One trunk's own limits.")(fn)
    fn = click.option("--tenant", "tenant_slug", default=DEFAULT_TENANT, show_default=True)(fn)
    return fn


def _value(view: dict[str, Any], name: str, unit: str) -> str:
    value = view[name]
    if value is None:
        return "no limit"
    return f"EUR {value}" if unit == "EUR" else f"{value} calls"


def _text(view: dict[str, Any]) -> str:
    whose = f"trunk {view['trunk']}" if view["trunk"] else f"tenant {view['tenant']}"
    lines = [f"Limits of {whose}:"]
    for window in ("hour", "day", "week"):
        lines.append(
            f"  per {window:<5} spend: {_value(view, window, 'EUR'):<14}"
            f" calls: {_value(view, f'calls_{window}', 'calls')}"
        )
    if view["trunk"]:
        lines.append(f"  (tenant {view['tenant']}'s limits apply as well)")
    else:
        lines.append(f"  alerts to: {view.get('alert_email') or '-'}")
    return "\n".join(lines)


@limits.command("show")
@_level_options
@json_option
@click.pass_obj
def limits_show(state: CliState, tenant_slug: str, trunk: str | None, as_json: bool) -> None:
    """Show the limits of the tenant or of one of its trunks."""

    async def work(p: Platform) -> None:
        view = await service.show_limits(tenant_slug, trunk=trunk)
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)


@limits.command("set")
@_level_options
@click.option("--hour", help="Spend per hour in EUR ('none': no limit).")
@click.option("--day", help="Spend per day in EUR.")
@click.option("--week", help="Spend per week (Monday to Sunday) in EUR.")
@click.option("--calls-hour", help="Calls out per hour ('none': no limit).")
@click.option("--calls-day", help="Calls out per day.")
@click.option("--calls-week", help="Calls out per week.")
@click.option("--alert-email", help="Where the tenant's 80 % and 95 % alerts go ('none').")
@json_option
@click.pass_obj
def limits_set(
    state: CliState,
    tenant_slug: str,
    trunk: str | None,
    hour: str | None,
    day: str | None,
    week: str | None,
    calls_hour: str | None,
    calls_day: str | None,
    calls_week: str | None,
    alert_email: str | None,
    as_json: bool,
) -> None:
    """Set the limits given; the others are kept. Windows follow the tenant's time zone
    and reset on their boundary; emergency calls are never refused."""
    given = {
        "hour": hour,
        "day": day,
        "week": week,
        "calls_hour": calls_hour,
        "calls_day": calls_day,
        "calls_week": calls_week,
        "alert_email": alert_email,
    }
    changes = {name: value for name, value in given.items() if value is not None}

    async def work(p: Platform) -> None:
        view = await service.set_limits(p, actor(), tenant_slug, changes, trunk=trunk)
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)
