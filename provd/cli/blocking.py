"""``provd block …``: incoming calls a tenant or one of its users refuses (services.blocking)."""

from __future__ import annotations

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db, table
from provd.services import blocking
from provd.services.directory.tenants import DEFAULT_TENANT
from provd.services.platform import Platform


@cli.group()
def block() -> None:
    """Incoming blocks: anonymous callers, a number or a prefix, optionally by schedule."""


@block.command("add")
@click.option("--user", help="Only calls to this user (default: the whole tenant).")
@click.option("--anonymous", is_flag=True, help="Callers who hide or have no number.")
@click.option("--number", help="One caller's number, in any notation of the tenant's country.")
@click.option("--prefix", help="Every number starting so: +31900 or 0900.")
@click.option("--when", help="Only in one state of a schedule: SCHEDULE:open|closed|holiday.")
@click.option("--tenant", "tenant_slug", default=DEFAULT_TENANT, show_default=True)
@json_option
@click.pass_obj
def block_add(
    state: CliState,
    user: str | None,
    anonymous: bool,
    number: str | None,
    prefix: str | None,
    when: str | None,
    tenant_slug: str,
    as_json: bool,
) -> None:
    """Block one kind of caller: exactly one of --anonymous, --number, --prefix."""

    async def work(p: Platform) -> None:
        view = await blocking.add_block(
            p,
            actor(),
            tenant_slug,
            user=user,
            anonymous=anonymous,
            number=number,
            prefix=prefix,
            when=when,
        )
        whom = f"user {view['user']}" if view["user"] else f"tenant {view['tenant']}"
        emit(as_json, view, f"Added block {view['id']} for {whom}: {view['description']}")

    run_with_db(state, as_json, work)


@block.command("list")
@click.option("--tenant", "tenant_slug", help="Only this tenant's blocks.")
@json_option
@click.pass_obj
def block_list(state: CliState, tenant_slug: str | None, as_json: bool) -> None:
    """List incoming blocks: the tenant's own, then each user's."""

    async def work(p: Platform) -> None:
        views = await blocking.list_blocks(tenant_slug)
        rows = [[v["id"], v["tenant"], v["user"] or "all", v["description"]] for v in views]
        emit(as_json, views, table(["ID", "TENANT", "USER", "BLOCKS"], rows, right={0}))

    run_with_db(state, as_json, work)


@block.command("remove")
@click.argument("block_id", metavar="ID")
@click.option("--tenant", "tenant_slug", help="The block's tenant (default: whichever owns it).")
@json_option
@click.pass_obj
def block_remove(state: CliState, block_id: str, tenant_slug: str | None, as_json: bool) -> None:
    """Remove the block with this ID (from 'block list')."""

    async def work(p: Platform) -> None:
        view = await blocking.remove_block(p, actor(), block_id, tenant_slug)
        emit(as_json, view, f"Removed block {view['id']}: {view['description']}")

    run_with_db(state, as_json, work)
