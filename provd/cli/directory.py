"""``provd tenant …`` and ``provd user …``: the directory (services.directory), with each
user's forwarding and do-not-disturb."""

from __future__ import annotations

from typing import Any

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db, table
from provd.domain.destinations import FORMS as DESTINATION_FORMS
from provd.services.destinations import describe
from provd.services.directory import forwarding, tenants, user_view, users
from provd.services.platform import Platform


def _emit_list(as_json: bool, rows: list[dict[str, Any]], columns: dict[str, str]) -> None:
    """The views as JSON, or as a table of ``columns`` (header → the view's key)."""
    emit(as_json, rows, table(list(columns), [[r[k] for k in columns.values()] for r in rows]))


def _emit_one(as_json: bool, view: dict[str, Any]) -> None:
    """One view as JSON, or a ``key: value`` line per field; an unset value reads as the
    word that unsets it (``main_number: none``)."""
    text = "\n".join(f"{k}: {tenants.NO_MAIN_NUMBER if v is None else v}" for k, v in view.items())
    emit(as_json, view, text)


@cli.group()
def tenant() -> None:
    """Customer accounts."""


@tenant.command("add")
@click.argument("slug")
@click.option("--name", help="Display name (default: the slug).")
@click.option(
    "--sip-domain", help="SIP domain of the tenant's users (default: <slug>.provd.internal)."
)
@click.option("--timezone", default="Europe/Amsterdam", show_default=True)
@json_option
@click.pass_obj
def tenant_add(
    state: CliState,
    slug: str,
    name: str | None,
    sip_domain: str | None,
    timezone: str,
    as_json: bool,
) -> None:
    """Add a tenant and print its bootstrap credential."""

    async def work(p: Platform) -> None:
        t, credential = await tenants.add_tenant(
            p, actor(), slug, name=name, sip_domain=sip_domain, timezone=timezone
        )
        view = tenants.tenant_view(t) | {"bootstrap_password": credential.password}
        emit(
            as_json,
            view,
            f"Added tenant {t.slug} (SIP domain {t.sip_domain})\n"
            f"  bootstrap username: {credential.username}\n"
            f"  bootstrap password: {credential.password}",
        )

    run_with_db(state, as_json, work)


@tenant.command("list")
@json_option
@click.pass_obj
def tenant_list(state: CliState, as_json: bool) -> None:
    """List tenants."""

    async def work(p: Platform) -> None:
        rows = [tenants.tenant_view(t) for t in await tenants.list_tenants()]
        _emit_list(
            as_json, rows, {"TENANT": "slug", "SIP DOMAIN": "sip_domain", "TIMEZONE": "timezone"}
        )

    run_with_db(state, as_json, work)


@tenant.command("show")
@click.argument("slug")
@click.option("--reveal", is_flag=True, help="Also print the bootstrap password.")
@json_option
@click.pass_obj
def tenant_show(state: CliState, slug: str, reveal: bool, as_json: bool) -> None:
    """Show a tenant (and, with --reveal, its bootstrap credential)."""

    async def work(p: Platform) -> None:
        t = await tenants.get_tenant(slug)
        view = tenants.tenant_view(t)
        if reveal:
            view["bootstrap_password"] = tenants.bootstrap_credential(p, t).password
        _emit_one(as_json, view)

    run_with_db(state, as_json, work)


@tenant.command("set")
@click.argument("slug")
@click.option("--vlan-lan", help="VLAN of the phones' LAN port: ID[:PRIORITY] or off.")
@click.option("--vlan-pc", help="VLAN of the phones' PC port: ID[:PRIORITY] or off.")
@click.option("--lldp", help="on or off.")
@click.option("--sip-proxy", help="HOST[:PORT] phones send SIP to, or 'default' (the platform's).")
@click.option("--pickup-code", help="Prefix dialled to pick up a watched call (e.g. *8).")
@click.option("--timezone", help="IANA time zone, e.g. Europe/Amsterdam.")
@click.option("--country", help="ISO 3166 region the users dial in, e.g. NL or BE.")
@click.option(
    "--number-display", help="How callers' numbers are shown: national (0201234567) or e164."
)
@click.option(
    "--main-number",
    help="Caller ID of users without a number of their own: one of the tenant's numbers,"
    " in any notation of its country; none to clear.",
)
@json_option
@click.pass_obj
def tenant_set(
    state: CliState,
    slug: str,
    vlan_lan: str | None,
    vlan_pc: str | None,
    lldp: str | None,
    sip_proxy: str | None,
    pickup_code: str | None,
    timezone: str | None,
    country: str | None,
    number_display: str | None,
    main_number: str | None,
    as_json: bool,
) -> None:
    """Change a tenant's defaults for its phones and how its numbers are read and shown."""

    async def work(p: Platform) -> None:
        t = await tenants.update_tenant(
            p,
            actor(),
            slug,
            vlan_lan=vlan_lan,
            vlan_pc=vlan_pc,
            lldp=lldp,
            sip_proxy=sip_proxy,
            pickup_code=pickup_code,
            timezone=timezone,
            country=country,
            number_display=number_display,
            main_number=main_number,
        )
        _emit_one(as_json, tenants.tenant_view(t))

    run_with_db(state, as_json, work)


@cli.group()
def user() -> None:
    """Users and their extensions."""


@user.command("add")
@click.option("--extension", required=True, help="Internal number, 2 to 5 digits.")
@click.option("--name", required=True, help="Display name.")
@click.option("--tenant", "tenant_slug", default=tenants.DEFAULT_TENANT, show_default=True)
@click.option("--sip-password", help="SIP password (default: a long random one).")
@json_option
@click.pass_obj
def user_add(
    state: CliState,
    extension: str,
    name: str,
    tenant_slug: str,
    sip_password: str | None,
    as_json: bool,
) -> None:
    """Add a user with a SIP account."""

    async def work(p: Platform) -> None:
        u, password = await users.add_user(
            p, actor(), tenant_slug, extension, name, sip_password=sip_password
        )
        await u.fetch_related("tenant")
        view = users.user_view(u, u.tenant) | {"sip_password": password}
        emit(
            as_json,
            view,
            f"Added user {u.extension} ({u.display_name}) in {u.tenant.slug}\n"
            f"  SIP user: {u.sip_username}@{u.tenant.sip_domain}\n"
            f"  SIP password: {password}",
        )

    run_with_db(state, as_json, work)


@user.command("list")
@click.option("--tenant", "tenant_slug", help="Only this tenant's users.")
@json_option
@click.pass_obj
def user_list(state: CliState, tenant_slug: str | None, as_json: bool) -> None:
    """List users."""

    async def work(p: Platform) -> None:
        rows = [users.user_view(u, t) for u, t in await users.list_users(tenant_slug)]
        _emit_list(as_json, rows, {"TENANT": "tenant", "EXT": "extension", "NAME": "name"})

    run_with_db(state, as_json, work)


@user.command("show")
@click.argument("extension")
@click.option("--tenant", "tenant_slug", default=tenants.DEFAULT_TENANT, show_default=True)
@json_option
@click.pass_obj
def user_show(state: CliState, extension: str, tenant_slug: str, as_json: bool) -> None:
    """Show a user."""

    async def work(p: Platform) -> None:
        t = await tenants.get_tenant(tenant_slug)
        _emit_one(
            as_json, users.user_view(await users.get_user(t, extension, field="extension"), t)
        )

    run_with_db(state, as_json, work)


@user.command("set")
@click.argument("extension")
@click.option("--tenant", "tenant_slug", default=tenants.DEFAULT_TENANT, show_default=True)
@click.option("--name", help="A new display name.")
@click.option(
    "--new-extension", help="A new extension (not while programmed keys point at the user)."
)
@click.option(
    "--hide-caller-id/--show-caller-id",
    "hide_caller_id",
    default=None,
    help="Hide or show the user's number on calls to the telephone network.",
)
@click.option(
    "--may-switch-night/--may-not-switch-night",
    "may_switch_night",
    default=None,
    help="Whether the user may flip the night switch from the phone (*915).",
)
@json_option
@click.pass_obj
def user_set(
    state: CliState,
    extension: str,
    tenant_slug: str,
    name: str | None,
    new_extension: str | None,
    hide_caller_id: bool | None,
    may_switch_night: bool | None,
    as_json: bool,
) -> None:
    """Rename a user, give it another extension, hide or show its number, or let it
    switch the night switch from its phone."""

    async def work(p: Platform) -> None:
        u = await user_view.update_user(
            p,
            actor(),
            tenant_slug,
            extension,
            name=name,
            new_extension=new_extension,
            hide_caller_id=hide_caller_id,
            may_switch_night=may_switch_night,
        )
        _emit_one(as_json, users.user_view(u, await tenants.get_tenant(tenant_slug)))

    run_with_db(state, as_json, work)


@user.command("remove")
@click.argument("extension")
@click.option("--tenant", "tenant_slug", default=tenants.DEFAULT_TENANT, show_default=True)
@json_option
@click.pass_obj
def user_remove(state: CliState, extension: str, tenant_slug: str, as_json: bool) -> None:
    """Remove a user (not while it is on a device)."""

    async def work(p: Platform) -> None:
        await users.remove_user(p, actor(), tenant_slug, extension)
        emit(as_json, {"removed": extension, "tenant": tenant_slug}, f"Removed user {extension}")

    run_with_db(state, as_json, work)


_DESTINATION = DESTINATION_FORMS


def _forwarding_text(view: dict[str, Any]) -> str:
    after = f" after {view['no_answer_seconds']} s"
    return "\n".join(
        [
            f"user: {view['extension']} in {view['tenant']}",
            f"always: {describe(view['always'])}",
            f"busy: {describe(view['busy'])}",
            f"no-answer: {describe(view['no_answer'])}{after if view['no_answer'] else ''}",
            f"unreachable: {describe(view['unreachable'])}",
            f"dnd: {'on' if view['dnd'] else 'off'}",
        ]
    )


@user.command("forward")
@click.argument("extension")
@click.option("--always", help=f"Every call, before the phones ring: {_DESTINATION}.")
@click.option("--busy", help="When busy or in do-not-disturb.")
@click.option("--no-answer", "no_answer", help="When no phone answers in time (see --after).")
@click.option(
    "--after",
    "--no-answer-seconds",
    "no_answer_seconds",
    type=int,
    help="Seconds the phones ring before --no-answer applies (5 to 120; default 20).",
)
@click.option("--unreachable", help="When no phone of the user is registered.")
@click.option(
    "--clear",
    multiple=True,
    help="always, busy, no-answer, unreachable or all. Repeat.",
)
@click.option("--tenant", "tenant_slug", default=tenants.DEFAULT_TENANT, show_default=True)
@json_option
@click.pass_obj
def user_forward(
    state: CliState,
    extension: str,
    always: str | None,
    busy: str | None,
    no_answer: str | None,
    no_answer_seconds: int | None,
    unreachable: str | None,
    clear: tuple[str, ...],
    tenant_slug: str,
    as_json: bool,
) -> None:
    """Set or clear the user's call forwarding; without options, show it."""

    async def work(p: Platform) -> None:
        changes = (always, busy, no_answer, no_answer_seconds, unreachable)
        if all(v is None for v in changes) and not clear:
            view = await forwarding.get_forwarding(tenant_slug, extension)
        else:
            view = await forwarding.set_forwarding(
                p,
                actor(),
                tenant_slug,
                extension,
                always=always,
                busy=busy,
                no_answer=no_answer,
                unreachable=unreachable,
                no_answer_seconds=no_answer_seconds,
                clear=clear,
            )
        emit(as_json, view, _forwarding_text(view))

    run_with_db(state, as_json, work)


@user.command("dnd")
@click.argument("extension")
@click.argument("setting", type=click.Choice(["on", "off"], case_sensitive=False))
@click.option("--tenant", "tenant_slug", default=tenants.DEFAULT_TENANT, show_default=True)
@json_option
@click.pass_obj
def user_dnd(
    state: CliState, extension: str, setting: str, tenant_slug: str, as_json: bool
) -> None:
    """Turn the user's do-not-disturb on or off (kept by provd, whatever the phone)."""

    async def work(p: Platform) -> None:
        view = await forwarding.set_dnd(p, actor(), tenant_slug, extension, setting.lower() == "on")
        emit(as_json, view, f"Do-not-disturb of {extension}: {'on' if view['dnd'] else 'off'}")

    run_with_db(state, as_json, work)
