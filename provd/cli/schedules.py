"""``provd schedule …``, ``provd nightswitch`` and ``provd route …``: a tenant's opening
hours, its night switch, and the number plans that follow them (services.schedules)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db, table
from provd.domain.destinations import FORMS as DESTINATION_FORMS
from provd.domain.errors import InvalidInput
from provd.services import schedules
from provd.services.destinations import describe
from provd.services.directory.tenants import DEFAULT_TENANT
from provd.services.platform import Platform
from provd.services.schedules import routes

_tenant = click.option("--tenant", "tenant_slug", default=DEFAULT_TENANT, show_default=True)
_DESTINATION = DESTINATION_FORMS


def _local(iso: str | None, zone: str) -> str:
    if iso is None:
        return "none"
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _now_text(view: dict[str, Any]) -> str:
    """``open (rule) until 2026-03-02 17:00``: the state now and when it next changes."""
    text = f"{view['state']} ({view['cause']})"
    if view["next_change"] is not None:
        text += f" until {_local(view['next_change'], view['timezone'])}"
    return text


def _switch_text(view: dict[str, Any]) -> str:
    if view["until"] is None:
        return str(view["night_switch"])
    return f"{view['night_switch']} until {_local(view['until'], view['timezone'])}"


def _schedule_text(view: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"schedule: {view['name']} in {view['tenant']} ({view['timezone']})",
            f"rules: {'; '.join(view['rules']) or 'none (always closed)'}",
            f"holidays: {'; '.join(view['holidays']) or 'none'}",
            f"night switch: {_switch_text(view)}",
            f"now: {_now_text(view)}",
        ]
    )


@cli.group()
def schedule() -> None:
    """Opening hours: weekly rules and holidays in the tenant's time zone."""


@schedule.command("add")
@click.argument("name")
@click.option("--rule", "rules", multiple=True, help="When open: 'mon-fri 08:00-17:00'. Repeat.")
@click.option(
    "--holiday",
    "holidays",
    multiple=True,
    help="'2026-12-25' or 'Xmas=2026-12-24 12:00..2026-12-27'.",
)
@_tenant
@json_option
@click.pass_obj
def schedule_add(
    state: CliState,
    name: str,
    rules: tuple[str, ...],
    holidays: tuple[str, ...],
    tenant_slug: str,
    as_json: bool,
) -> None:
    """Add a schedule: open while a rule holds, closed otherwise, holiday on holidays."""

    async def work(p: Platform) -> None:
        view = await schedules.add_schedule(p, actor(), tenant_slug, name, rules, holidays)
        emit(as_json, view, f"Added schedule {view['name']}\n{_schedule_text(view)}")

    run_with_db(state, as_json, work)


@schedule.command("set")
@click.argument("name")
@click.option("--name", "new_name", help="A new name.")
@click.option("--rule", "rules", multiple=True, help="Replaces every rule. Repeat.")
@click.option("--no-rules", is_flag=True, help="Remove every rule (always closed).")
@click.option("--holiday", "holidays", multiple=True, help="Replaces every holiday. Repeat.")
@click.option("--no-holidays", is_flag=True, help="Remove every holiday.")
@_tenant
@json_option
@click.pass_obj
def schedule_set(
    state: CliState,
    name: str,
    new_name: str | None,
    rules: tuple[str, ...],
    no_rules: bool,
    holidays: tuple[str, ...],
    no_holidays: bool,
    tenant_slug: str,
    as_json: bool,
) -> None:
    """Rename a schedule or replace its rules or holidays."""

    async def work(p: Platform) -> None:
        if rules and no_rules:
            raise InvalidInput("rules", "give --rule or --no-rules, not both")
        if holidays and no_holidays:
            raise InvalidInput("holidays", "give --holiday or --no-holidays, not both")
        view = await schedules.update_schedule(
            p,
            actor(),
            tenant_slug,
            name,
            new_name=new_name,
            rule_texts=rules if rules or no_rules else None,
            holiday_texts=holidays if holidays or no_holidays else None,
        )
        emit(as_json, view, _schedule_text(view))

    run_with_db(state, as_json, work)


@schedule.command("list")
@click.option("--tenant", "tenant_slug", help="Only this tenant's schedules.")
@json_option
@click.pass_obj
def schedule_list(state: CliState, tenant_slug: str | None, as_json: bool) -> None:
    """List schedules with their state now and their night switch."""

    async def work(p: Platform) -> None:
        views = await schedules.list_schedules(tenant_slug)
        rows = [
            [v["tenant"], v["name"], _now_text(v), _switch_text(v), "; ".join(v["rules"])]
            for v in views
        ]
        emit(as_json, views, table(["TENANT", "SCHEDULE", "NOW", "NIGHT SWITCH", "RULES"], rows))

    run_with_db(state, as_json, work)


@schedule.command("show")
@click.argument("name")
@_tenant
@json_option
@click.pass_obj
def schedule_show(state: CliState, name: str, tenant_slug: str, as_json: bool) -> None:
    """Show a schedule, its state now and when that next changes."""

    async def work(p: Platform) -> None:
        view = await schedules.show_schedule(tenant_slug, name)
        emit(as_json, view, _schedule_text(view))

    run_with_db(state, as_json, work)


@schedule.command("remove")
@click.argument("name")
@_tenant
@json_option
@click.pass_obj
def schedule_remove(state: CliState, name: str, tenant_slug: str, as_json: bool) -> None:
    """Remove a schedule (not while a route or an incoming block uses it)."""

    async def work(p: Platform) -> None:
        await schedules.remove_schedule(p, actor(), tenant_slug, name)
        emit(as_json, {"removed": name, "tenant": tenant_slug}, f"Removed schedule {name}")

    run_with_db(state, as_json, work)


@cli.command("nightswitch")
@click.argument("name")
@click.argument("setting", metavar="on|off|auto")
@click.option("--until", help="When a manual setting ends: 'YYYY-MM-DD HH:MM' (tenant's clock).")
@_tenant
@json_option
@click.pass_obj
def nightswitch(
    state: CliState, name: str, setting: str, until: str | None, tenant_slug: str, as_json: bool
) -> None:
    """Set schedule NAME's night switch: on (closed), off (open) or auto (its rules)."""

    async def work(p: Platform) -> None:
        view = await schedules.set_night_switch(p, actor(), tenant_slug, name, setting, until=until)
        text = f"Night switch of {view['name']}: {_switch_text(view)}; now {_now_text(view)}"
        emit(as_json, view, text)

    run_with_db(state, as_json, work)


# ---- scheduled routes ----------------------------------------------------------------


def _route_text(view: dict[str, Any]) -> str:
    holiday = describe(view["holiday"]) if view["holiday"] else "as closed"
    return "\n".join(
        [
            f"route: {view['name']} in {view['tenant']}, by schedule {view['schedule']}",
            f"open: {describe(view['open'])}",
            f"closed: {describe(view['closed'])}",
            f"holiday: {holiday}",
            f"numbers: {', '.join(view['numbers']) or 'none'}",
        ]
    )


@cli.group()
def route() -> None:
    """Number plans: where calls go in each state of a schedule (open, closed, holiday)."""


@route.command("add")
@click.argument("name")
@click.option("--schedule", "schedule_name", required=True, help="The schedule it follows.")
@click.option("--open", "open_", required=True, help=f"While open: {_DESTINATION}.")
@click.option("--closed", required=True, help=f"While closed: {_DESTINATION}.")
@click.option("--holiday", help="On holidays (default: as closed).")
@_tenant
@json_option
@click.pass_obj
def route_add(
    state: CliState,
    name: str,
    schedule_name: str,
    open_: str,
    closed: str,
    holiday: str | None,
    tenant_slug: str,
    as_json: bool,
) -> None:
    """Add a scheduled route NAME (assign numbers to it with 'number assign --route')."""

    async def work(p: Platform) -> None:
        view = await routes.add_route(
            p, actor(), tenant_slug, name, schedule_name, open_, closed, holiday
        )
        emit(as_json, view, f"Added route {view['name']}\n{_route_text(view)}")

    run_with_db(state, as_json, work)


@route.command("set")
@click.argument("name")
@click.option("--schedule", "schedule_name", help="Another schedule to follow.")
@click.option("--open", "open_", help=f"{_DESTINATION}.")
@click.option("--closed", help=f"{_DESTINATION}.")
@click.option("--holiday", help="A destination, or none: as closed.")
@_tenant
@json_option
@click.pass_obj
def route_set(
    state: CliState,
    name: str,
    schedule_name: str | None,
    open_: str | None,
    closed: str | None,
    holiday: str | None,
    tenant_slug: str,
    as_json: bool,
) -> None:
    """Change a route's schedule or destinations."""

    async def work(p: Platform) -> None:
        view = await routes.update_route(
            p,
            actor(),
            tenant_slug,
            name,
            schedule=schedule_name,
            open_destination=open_,
            closed_destination=closed,
            holiday_destination=holiday,
        )
        emit(as_json, view, _route_text(view))

    run_with_db(state, as_json, work)


@route.command("list")
@click.option("--tenant", "tenant_slug", help="Only this tenant's routes.")
@json_option
@click.pass_obj
def route_list(state: CliState, tenant_slug: str | None, as_json: bool) -> None:
    """List scheduled routes with their destinations."""

    async def work(p: Platform) -> None:
        views = await routes.list_routes(tenant_slug)
        rows = [
            [
                v["tenant"],
                v["name"],
                v["schedule"],
                describe(v["open"]),
                describe(v["closed"]),
                describe(v["holiday"]) if v["holiday"] else "as closed",
            ]
            for v in views
        ]
        headers = ["TENANT", "ROUTE", "SCHEDULE", "OPEN", "CLOSED", "HOLIDAY"]
        emit(as_json, views, table(headers, rows))

    run_with_db(state, as_json, work)


@route.command("show")
@click.argument("name")
@_tenant
@json_option
@click.pass_obj
def route_show(state: CliState, name: str, tenant_slug: str, as_json: bool) -> None:
    """Show a route and the numbers assigned to it."""

    async def work(p: Platform) -> None:
        view = await routes.show_route(tenant_slug, name)
        emit(as_json, view, _route_text(view))

    run_with_db(state, as_json, work)


@route.command("remove")
@click.argument("name")
@_tenant
@json_option
@click.pass_obj
def route_remove(state: CliState, name: str, tenant_slug: str, as_json: bool) -> None:
    """Remove a route (not while a number or a destination points at it)."""

    async def work(p: Platform) -> None:
        await routes.remove_route(p, actor(), tenant_slug, name)
        emit(as_json, {"removed": name, "tenant": tenant_slug}, f"Removed route {name}")

    run_with_db(state, as_json, work)
