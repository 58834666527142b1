"""``provd number …``: a tenant's number blocks and what each number is used for."""

from __future__ import annotations

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db, table
from provd.services import numbers
from provd.services.directory import tenants
from provd.services.platform import Platform


@cli.group()
def number() -> None:
    """Telephone numbers: blocks of 1, 10 or 100 owned by a tenant."""


@number.command("add")
@click.argument("first")
@click.option("--count", type=int, default=1, show_default=True, help="Block size: 1, 10 or 100.")
@click.option("--tenant", "tenant_slug", default=tenants.DEFAULT_TENANT, show_default=True)
@json_option
@click.pass_obj
def number_add(state: CliState, first: str, count: int, tenant_slug: str, as_json: bool) -> None:
    """Add the block of COUNT numbers starting at FIRST (any notation, e.g. 020 123 4500)."""

    async def work(p: Platform) -> None:
        block = await numbers.add_block(p, actor(), first, count, tenant_slug)
        view = {
            "tenant": tenant_slug,
            "first": block.first,
            "last": block.last,
            "count": block.count,
        }
        emit(as_json, view, f"Added {block.first}..{block.last} ({block.count}) to {tenant_slug}")

    run_with_db(state, as_json, work)


@number.command("list")
@click.option("--tenant", "tenant_slug", help="Only this tenant's numbers.")
@click.option("--unused", is_flag=True, help="Only numbers nothing uses.")
@json_option
@click.pass_obj
def number_list(state: CliState, tenant_slug: str | None, unused: bool, as_json: bool) -> None:
    """List numbers with what uses each: a user, a group, a route, or unused."""

    async def work(p: Platform) -> None:
        views = await numbers.list_numbers(tenant_slug, unused=unused)
        text = table(
            ["NUMBER", "NATIONAL", "TENANT", "USE"],
            [[v.e164, v.national, v.tenant, v.describe_use()] for v in views],
        )
        emit(as_json, [v.as_dict() for v in views], text)

    run_with_db(state, as_json, work)


@number.command("assign")
@click.argument("number_text", metavar="NUMBER")
@click.option("--user", "extension", help="A user's extension.")
@click.option("--group", help="A hunt group's extension.")
@click.option("--route", help="A scheduled route's name.")
@click.option("--menu", help="An IVR menu's extension.")
@click.option("--announcement", help="An announcement's extension.")
@click.option("--queue", help="A call queue's extension.")
@click.option("--tenant", "tenant_slug", help="The number's tenant (default: whichever owns it).")
@json_option
@click.pass_obj
def number_assign(
    state: CliState,
    number_text: str,
    extension: str | None,
    group: str | None,
    route: str | None,
    menu: str | None,
    announcement: str | None,
    queue: str | None,
    tenant_slug: str | None,
    as_json: bool,
) -> None:
    """Attach an unused NUMBER to a user, hunt group, scheduled route, IVR menu,
    announcement or call queue of its tenant."""

    async def work(p: Platform) -> None:
        view = await numbers.assign(
            p,
            actor(),
            number_text,
            extension,
            tenant_slug,
            group=group,
            route=route,
            menu=menu,
            announcement=announcement,
            queue=queue,
        )
        emit(as_json, view.as_dict(), f"{view.e164} is now {view.describe_use()}")

    run_with_db(state, as_json, work)


@number.command("release")
@click.argument("number_text", metavar="NUMBER")
@click.option("--tenant", "tenant_slug", help="The number's tenant (default: whichever owns it).")
@json_option
@click.pass_obj
def number_release(
    state: CliState, number_text: str, tenant_slug: str | None, as_json: bool
) -> None:
    """Detach NUMBER from what uses it; it stays the tenant's."""

    async def work(p: Platform) -> None:
        view = await numbers.release(p, actor(), number_text, tenant_slug)
        emit(as_json, view.as_dict(), f"{view.e164} is now unused")

    run_with_db(state, as_json, work)


@number.command("remove")
@click.argument("first")
@click.option("--tenant", "tenant_slug", help="The block's tenant (default: whichever owns it).")
@json_option
@click.pass_obj
def number_remove(state: CliState, first: str, tenant_slug: str | None, as_json: bool) -> None:
    """Remove the block starting at FIRST; refused while any of its numbers is in use."""

    async def work(p: Platform) -> None:
        block = await numbers.remove_block(p, actor(), first, tenant_slug)
        view = {"first": block.first, "last": block.last, "count": block.count}
        emit(as_json, view, f"Removed {block.first}..{block.last} ({block.count})")

    run_with_db(state, as_json, work)
