"""``provd outbound …``: what a tenant, a user or a trunk may call outside
(services.outbound)."""

from __future__ import annotations

from typing import Any

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db
from provd.domain.outbound_policy import Category, Preset
from provd.services import outbound as service
from provd.services.directory.tenants import DEFAULT_TENANT
from provd.services.platform import Platform

CLEAR = "none"


@cli.group()
def outbound() -> None:
    """Outbound policy: blocked categories and a destination whitelist."""


def _level_options(fn: Any) -> Any:
    fn = click.option("--trunk", help="One trunk's own policy.")(fn)
    fn = click.option("--user", help="One user's own policy (by extension).")(fn)
    fn = click.option("--tenant", "tenant_slug", default=DEFAULT_TENANT, show_default=True)(fn)
    return fn


def _text(view: dict[str, Any]) -> str:
    whose = (
        f"user {view['user']}"
        if view["user"]
        else f"trunk {view['trunk']}"
        if view["trunk"]
        else f"tenant {view['tenant']}"
    )
    lines = [
        f"Outbound policy of {whose}: {view['description']}",
        f"  blocked:         {', '.join(view['block']) or '-'}",
        f"  allowed presets: {', '.join(view['allow_presets']) or '-'}",
        f"  allowed prefixes: {', '.join(view['allow_prefixes']) or '-'}",
    ]
    if view["user"] or view["trunk"]:
        lines.append(f"  (tenant {view['tenant']}'s policy applies as well)")
    return "\n".join(lines)


@outbound.command("show")
@_level_options
@json_option
@click.pass_obj
def outbound_show(
    state: CliState, tenant_slug: str, user: str | None, trunk: str | None, as_json: bool
) -> None:
    """Show the policy of the tenant, or of one of its users or trunks."""

    async def work(p: Platform) -> None:
        view = await service.show_policy(tenant_slug, user=user, trunk=trunk)
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)


def _list(values: tuple[str, ...]) -> list[str] | None:
    """Repeated and comma-separated values; not given: None (kept); 'none': empty."""
    if not values:
        return None
    items = [v.strip() for value in values for v in value.split(",")]
    if items == [CLEAR]:
        return []
    return items


@outbound.command("set")
@_level_options
@click.option(
    "--block",
    multiple=True,
    help=f"Categories to block, comma-separated: {', '.join(Category)}; 'none' clears.",
)
@click.option(
    "--allow-preset",
    multiple=True,
    help=f"Whitelist presets: {', '.join(Preset)}; 'none' clears.",
)
@click.option(
    "--allow-prefix",
    multiple=True,
    help="Whitelisted number prefixes (+32, 0044, 0900); 'none' clears.",
)
@json_option
@click.pass_obj
def outbound_set(
    state: CliState,
    tenant_slug: str,
    user: str | None,
    trunk: str | None,
    block: tuple[str, ...],
    allow_preset: tuple[str, ...],
    allow_prefix: tuple[str, ...],
    as_json: bool,
) -> None:
    """Set the parts of a policy given; the others are kept. With a whitelist (presets
    or prefixes) only numbers it matches may be called. Fraud-prone destinations stay
    blocked unless a prefix names them (+4487, +870); emergency numbers never are."""

    async def work(p: Platform) -> None:
        view = await service.set_policy(
            p,
            actor(),
            tenant_slug,
            user=user,
            trunk=trunk,
            block=_list(block),
            allow_presets=_list(allow_preset),
            allow_prefixes=_list(allow_prefix),
        )
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)
