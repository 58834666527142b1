"""``provd trunk …``: customer SIP trunks, their numbers and account passwords
(services.trunks)."""

from __future__ import annotations

from typing import Any

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db, table
from provd.domain.destinations import FORMS as DESTINATION_FORMS
from provd.domain.trunks import ACCOUNT_ROLES, BRANDS, CALLER_ID_POLICIES, NUMBER_FORMATS
from provd.services.destinations import describe
from provd.services.directory.tenants import DEFAULT_TENANT
from provd.services.platform import Platform
from provd.services.trunks import (
    AUTH_ACCOUNTS,
    AUTH_IP,
    DEFAULT_RING_SECONDS,
    NumberOnTrunk,
    list_trunks,
    show_trunk,
)
from provd.services.trunks.create import add_trunk
from provd.services.trunks.numbers import add_number, remove_number
from provd.services.trunks.passwords import regenerate_password
from provd.services.trunks.remove import remove_trunk
from provd.services.trunks.update import update_trunk

_tenant = click.option("--tenant", "tenant_slug", default=DEFAULT_TENANT, show_default=True)
_DESTINATION = DESTINATION_FORMS
_ALLOW_IP = (
    "An address or network the PBX sends from (repeat for more): 192.0.2.10, 198.51.100.0/24."
)


def _flags(n: dict[str, Any]) -> str:
    flags = [f for f, on in (("inbound", n["inbound"]), ("caller ID", n["caller_id"])) if on]
    return f"{n['number']} ({', '.join(flags)})"


def _text(view: dict[str, Any]) -> str:
    accounts = [f"  {a['role']}: {a['username']}" for a in view["accounts"]]
    reached = (
        [f"address: {view['address']}"] if view["auth"] == AUTH_IP else ["accounts:", *accounts]
    )
    numbers = [f"  {_flags(n)}" for n in view["numbers"]] or ["  (none)"]
    return "\n".join(
        [
            f"trunk: {view['name']} in {view['tenant']}"
            + ("" if view["enabled"] else " (disabled)"),
            f"brand: {view['brand']}",
            f"channels: {view['channels']}",
            f"format: {view['format']}",
            f"allowed: {', '.join(view['allow_ips'])}",
            f"authentication: {'address only' if view['auth'] == AUTH_IP else 'accounts'}",
            *reached,
            f"caller ID outside its numbers: {view['caller_id_policy']}",
            f"main number: {view['main_number'] or 'none'}",
            f"failover: {describe(view['failover'])} after {view['ring_seconds']} s",
            "numbers:",
            *numbers,
        ]
    )


def _passwords(passwords: dict[str, str], view: dict[str, Any]) -> str:
    """The new passwords, with the one warning they get."""
    users = {a["role"]: a["username"] for a in view["accounts"]}
    lines = [f"  {users[role]}: {password}" for role, password in passwords.items()]
    return "\n".join(["Password(s), shown this once:", *lines])


@cli.group()
def trunk() -> None:
    """Customer SIP trunks: a tenant's own PBX connected in place of phones."""


@trunk.command("add")
@click.argument("name")
@click.option("--channels", type=int, required=True, help="Concurrent calls, in and out.")
@click.option("--allow-ip", "allow_ips", multiple=True, required=True, help=_ALLOW_IP)
@click.option(
    "--format",
    "number_format",
    type=click.Choice(NUMBER_FORMATS),
    default="e164",
    show_default=True,
    help="How numbers cross the trunk: +31…, 0031… or 020….",
)
@click.option("--brand", type=click.Choice(BRANDS), default="other", show_default=True)
@click.option("--ip-auth", is_flag=True, help="Known by its address alone: no accounts.")
@click.option("--address", help="HOST[:PORT] inbound calls go to (with --ip-auth).")
@click.option(
    "--caller-id-policy",
    type=click.Choice(CALLER_ID_POLICIES),
    default="replace",
    show_default=True,
    help="A caller ID outside the trunk's numbers: replaced by its main number, or refused.",
)
@click.option("--failover", help=f"Where inbound calls go when the PBX does not: {_DESTINATION}.")
@click.option(
    "--ring-seconds",
    type=int,
    default=DEFAULT_RING_SECONDS,
    show_default=True,
    help="How long the PBX has to answer before the failover (5 to 300).",
)
@_tenant
@json_option
@click.pass_obj
def trunk_add(
    state: CliState,
    name: str,
    channels: int,
    allow_ips: tuple[str, ...],
    number_format: str,
    brand: str,
    ip_auth: bool,
    address: str | None,
    caller_id_policy: str,
    failover: str | None,
    ring_seconds: int,
    tenant_slug: str,
    as_json: bool,
) -> None:
    """Add a trunk NAME; prints its accounts' passwords once (numbers: 'trunk number add')."""

    async def work(p: Platform) -> None:
        made = await add_trunk(
            p,
            actor(),
            tenant_slug,
            name,
            channels=channels,
            allow_ips=list(allow_ips),
            number_format=number_format,
            brand=brand,
            auth=AUTH_IP if ip_auth else AUTH_ACCOUNTS,
            address=address,
            caller_id_policy=caller_id_policy,
            failover=failover,
            ring_seconds=ring_seconds,
        )
        text = f"Added trunk {made.view['name']}\n{_text(made.view)}"
        if made.passwords:
            text += "\n" + _passwords(made.passwords, made.view)
        emit(as_json, made.as_dict(), text)

    run_with_db(state, as_json, work)


@trunk.command("set")
@click.argument("name")
@click.option("--channels", type=int)
@click.option("--allow-ip", "allow_ips", multiple=True, help=_ALLOW_IP + " Replaces the list.")
@click.option("--format", "number_format", type=click.Choice(NUMBER_FORMATS))
@click.option("--brand", type=click.Choice(BRANDS))
@click.option("--address", help="HOST[:PORT] (IP-authenticated trunks).")
@click.option("--caller-id-policy", type=click.Choice(CALLER_ID_POLICIES))
@click.option("--main-number", help="One of its caller-ID numbers, or none.")
@click.option("--failover", help=f"{_DESTINATION}.")
@click.option("--ring-seconds", type=int, help="5 to 300.")
@click.option("--enable/--disable", "enabled", default=None)
@_tenant
@json_option
@click.pass_obj
def trunk_set(
    state: CliState,
    name: str,
    channels: int | None,
    allow_ips: tuple[str, ...],
    number_format: str | None,
    brand: str | None,
    address: str | None,
    caller_id_policy: str | None,
    main_number: str | None,
    failover: str | None,
    ring_seconds: int | None,
    enabled: bool | None,
    tenant_slug: str,
    as_json: bool,
) -> None:
    """Change a trunk's settings."""

    async def work(p: Platform) -> None:
        view = await update_trunk(
            p,
            actor(),
            tenant_slug,
            name,
            channels=channels,
            allow_ips=list(allow_ips) if allow_ips else None,
            number_format=number_format,
            brand=brand,
            address=address,
            caller_id_policy=caller_id_policy,
            main_number=main_number,
            failover=failover,
            ring_seconds=ring_seconds,
            enabled=enabled,
        )
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)


@trunk.command("list")
@click.option("--tenant", "tenant_slug", help="Only this tenant's trunks.")
@json_option
@click.pass_obj
def trunk_list(state: CliState, tenant_slug: str | None, as_json: bool) -> None:
    """List trunks with their channels, numbers and failover."""

    async def work(p: Platform) -> None:
        views = await list_trunks(tenant_slug)
        rows = [
            [
                v["tenant"],
                v["name"],
                v["channels"],
                v["format"],
                "address" if v["auth"] == AUTH_IP else "accounts",
                len(v["numbers"]),
                describe(v["failover"]),
            ]
            for v in views
        ]
        headers = ["TENANT", "NAME", "CHANNELS", "FORMAT", "AUTH", "NUMBERS", "FAILOVER"]
        emit(as_json, views, table(headers, rows, right={2, 5}))

    run_with_db(state, as_json, work)


@trunk.command("show")
@click.argument("name")
@_tenant
@json_option
@click.pass_obj
def trunk_show(state: CliState, name: str, tenant_slug: str, as_json: bool) -> None:
    """Show a trunk (never its passwords)."""

    async def work(p: Platform) -> None:
        emit(as_json, view := await show_trunk(tenant_slug, name), _text(view))

    run_with_db(state, as_json, work)


@trunk.command("remove")
@click.argument("name")
@_tenant
@json_option
@click.pass_obj
def trunk_remove(state: CliState, name: str, tenant_slug: str, as_json: bool) -> None:
    """Remove a trunk and its accounts; its inbound numbers are left unused."""

    async def work(p: Platform) -> None:
        await remove_trunk(p, actor(), tenant_slug, name)
        emit(as_json, {"removed": name, "tenant": tenant_slug}, f"Removed trunk {name}")

    run_with_db(state, as_json, work)


@trunk.command("password")
@click.argument("name")
@click.option("--account", type=click.Choice(ACCOUNT_ROLES), required=True)
@_tenant
@json_option
@click.pass_obj
def trunk_password(
    state: CliState, name: str, account: str, tenant_slug: str, as_json: bool
) -> None:
    """Give one of the trunk's accounts a new password, printed this once."""

    async def work(p: Platform) -> None:
        made = await regenerate_password(p, actor(), tenant_slug, name, account)
        emit(as_json, made.as_dict(), _passwords(made.passwords, made.view))

    run_with_db(state, as_json, work)


@trunk.group("number")
def number() -> None:
    """The tenant's numbers on a trunk: inbound (its DIDs) and caller IDs it may send."""


@number.command("add")
@click.argument("name")
@click.argument("number_text", metavar="NUMBER")
@click.option(
    "--inbound/--no-inbound",
    default=True,
    show_default=True,
    help="Calls to the number go to the trunk (moved from a user, group or plan).",
)
@click.option(
    "--caller-id/--no-caller-id",
    default=True,
    show_default=True,
    help="The PBX may present the number.",
)
@_tenant
@json_option
@click.pass_obj
def number_add(
    state: CliState,
    name: str,
    number_text: str,
    inbound: bool,
    caller_id: bool,
    tenant_slug: str,
    as_json: bool,
) -> None:
    """Put NUMBER on trunk NAME (or change its flags there)."""

    async def work(p: Platform) -> None:
        given = NumberOnTrunk(number_text, inbound=inbound, caller_id=caller_id)
        view = await add_number(p, actor(), tenant_slug, name, given)
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)


@number.command("remove")
@click.argument("name")
@click.argument("number_text", metavar="NUMBER")
@_tenant
@json_option
@click.pass_obj
def number_remove(
    state: CliState, name: str, number_text: str, tenant_slug: str, as_json: bool
) -> None:
    """Take NUMBER off trunk NAME (an inbound number is left unused)."""

    async def work(p: Platform) -> None:
        view = await remove_number(p, actor(), tenant_slug, name, number_text)
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)
