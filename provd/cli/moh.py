"""``provd moh …``: a tenant's music on hold, a playlist of its sounds (services.moh)."""

from __future__ import annotations

from typing import Any

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db
from provd.services import moh
from provd.services.directory.tenants import DEFAULT_TENANT
from provd.services.platform import Platform

_tenant = click.option("--tenant", "tenant_slug", default=DEFAULT_TENANT, show_default=True)


def _text(view: dict[str, Any]) -> str:
    if not view["sounds"]:
        return f"music on hold of {view['tenant']}: the default"
    seconds = view["duration_ms"] / 1000
    return f"music on hold of {view['tenant']}: {', '.join(view['sounds'])} ({seconds:.1f} s)"


@cli.group("moh")
def moh_group() -> None:
    """Music on hold: the tenant's sounds a caller on hold hears, in order."""


@moh_group.command("show")
@_tenant
@json_option
@click.pass_obj
def moh_show(state: CliState, tenant_slug: str, as_json: bool) -> None:
    """Show the tenant's music on hold."""

    async def work(p: Platform) -> None:
        view = await moh.show_moh(tenant_slug)
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)


@moh_group.command("set")
@_tenant
@click.option(
    "--sound",
    "names",
    multiple=True,
    help=f"A sound of the tenant, by name; repeat for more, in the order they play"
    f" (at most {moh.MAX_SOUNDS}).",
)
@json_option
@click.pass_obj
def moh_set(state: CliState, tenant_slug: str, names: tuple[str, ...], as_json: bool) -> None:
    """Make the --sound options, in order, the tenant's music on hold."""

    async def work(p: Platform) -> None:
        view = await moh.set_moh(p, actor(), tenant_slug, list(names))
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)


@moh_group.command("clear")
@_tenant
@json_option
@click.pass_obj
def moh_clear(state: CliState, tenant_slug: str, as_json: bool) -> None:
    """Go back to the default music on hold."""

    async def work(p: Platform) -> None:
        view = await moh.clear_moh(p, actor(), tenant_slug)
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)
