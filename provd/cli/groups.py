"""``provd group …``: hunt groups of a tenant and their members (services.groups)."""

from __future__ import annotations

from typing import Any

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db, table
from provd.domain.destinations import FORMS as DESTINATION_FORMS
from provd.domain.groups import DEFAULT_RING_SECONDS, Policy
from provd.services import groups
from provd.services.destinations import describe
from provd.services.directory.tenants import DEFAULT_TENANT
from provd.services.platform import Platform

_tenant = click.option("--tenant", "tenant_slug", default=DEFAULT_TENANT, show_default=True)
_POLICIES = ", ".join(p.value for p in Policy)
_DESTINATION = DESTINATION_FORMS


def _member(m: dict[str, Any]) -> str:
    return f"{m['position']}. {m['kind']} {m['key']}" + (f" ({m['name']})" if m["name"] else "")


def _text(view: dict[str, Any]) -> str:
    members = [f"  {_member(m)}" for m in view["members"]] or ["  (none)"]
    return "\n".join(
        [
            f"group: {view['extension']} ({view['name']}) in {view['tenant']}",
            f"policy: {view['policy']}",
            f"ring_seconds: {view['ring_seconds']}",
            f"total_wait_seconds: {view['total_wait_seconds']}"
            + (" (every member tried once)" if view["total_wait_seconds"] == 0 else ""),
            f"overflow: {describe(view['overflow'])}",
            f"numbers: {', '.join(view['numbers']) or 'none'}",
            "members:",
            *members,
        ]
    )


@cli.group()
def group() -> None:
    """Hunt groups: an extension that rings its members by a policy, then overflows."""


@group.command("add")
@click.argument("extension")
@click.option("--name", required=True, help="Shown before the caller on the member's phone.")
@click.option("--policy", required=True, help=f"{_POLICIES}.")
@click.option(
    "--ring",
    "--ring-seconds",
    "ring_seconds",
    type=int,
    default=DEFAULT_RING_SECONDS,
    show_default=True,
    help="Seconds each member rings (5 to 120).",
)
@click.option(
    "--wait",
    "--total-wait-seconds",
    "total_wait_seconds",
    type=int,
    default=0,
    show_default=True,
    help="Seconds before the overflow (up to 900); 0: once every member has been tried.",
)
@click.option("--overflow", help=f"Where calls go after the wait: {_DESTINATION}.")
@_tenant
@json_option
@click.pass_obj
def group_add(
    state: CliState,
    extension: str,
    name: str,
    policy: str,
    ring_seconds: int,
    total_wait_seconds: int,
    overflow: str | None,
    tenant_slug: str,
    as_json: bool,
) -> None:
    """Add a hunt group at EXTENSION (members are added with 'group member add')."""

    async def work(p: Platform) -> None:
        view = await groups.add_group(
            p,
            actor(),
            tenant_slug,
            extension,
            name,
            policy,
            ring_seconds=ring_seconds,
            total_wait_seconds=total_wait_seconds,
            overflow=overflow,
        )
        emit(as_json, view, f"Added group {view['extension']} ({view['name']})\n{_text(view)}")

    run_with_db(state, as_json, work)


@group.command("set")
@click.argument("extension")
@click.option("--name")
@click.option("--policy", help=f"{_POLICIES}.")
@click.option("--ring", "--ring-seconds", "ring_seconds", type=int, help="5 to 120.")
@click.option("--wait", "--total-wait-seconds", "total_wait_seconds", type=int, help="0 to 900.")
@click.option("--overflow", help=f"{_DESTINATION}.")
@_tenant
@json_option
@click.pass_obj
def group_set(
    state: CliState,
    extension: str,
    name: str | None,
    policy: str | None,
    ring_seconds: int | None,
    total_wait_seconds: int | None,
    overflow: str | None,
    tenant_slug: str,
    as_json: bool,
) -> None:
    """Change a group's name, policy, times or overflow."""

    async def work(p: Platform) -> None:
        view = await groups.update_group(
            p,
            actor(),
            tenant_slug,
            extension,
            name=name,
            policy=policy,
            ring_seconds=ring_seconds,
            total_wait_seconds=total_wait_seconds,
            overflow=overflow,
        )
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)


@group.command("list")
@click.option("--tenant", "tenant_slug", help="Only this tenant's groups.")
@json_option
@click.pass_obj
def group_list(state: CliState, tenant_slug: str | None, as_json: bool) -> None:
    """List hunt groups with their policy, members and overflow."""

    async def work(p: Platform) -> None:
        views = await groups.list_groups(tenant_slug)
        rows = [
            [
                v["tenant"],
                v["extension"],
                v["name"],
                v["policy"],
                len(v["members"]),
                describe(v["overflow"]),
            ]
            for v in views
        ]
        text = table(["TENANT", "EXT", "NAME", "POLICY", "MEMBERS", "OVERFLOW"], rows, right={4})
        emit(as_json, views, text)

    run_with_db(state, as_json, work)


@group.command("show")
@click.argument("extension")
@_tenant
@json_option
@click.pass_obj
def group_show(state: CliState, extension: str, tenant_slug: str, as_json: bool) -> None:
    """Show a group with its members in ring order."""

    async def work(p: Platform) -> None:
        view = await groups.show_group(tenant_slug, extension)
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)


@group.command("remove")
@click.argument("extension")
@_tenant
@json_option
@click.pass_obj
def group_remove(state: CliState, extension: str, tenant_slug: str, as_json: bool) -> None:
    """Remove a group and its members (not while a number or a destination points at it)."""

    async def work(p: Platform) -> None:
        await groups.remove_group(p, actor(), tenant_slug, extension)
        emit(as_json, {"removed": extension, "tenant": tenant_slug}, f"Removed group {extension}")

    run_with_db(state, as_json, work)


@group.group("member")
def member() -> None:
    """A group's members: users of its tenant or outside numbers, in ring order."""


@member.command("add")
@click.argument("extension")
@click.option("--user", help="A user's extension.")
@click.option("--external", help="An outside number, in any notation of the tenant's country.")
@click.option("--position", type=int, help="1 is first (default: last).")
@_tenant
@json_option
@click.pass_obj
def member_add(
    state: CliState,
    extension: str,
    user: str | None,
    external: str | None,
    position: int | None,
    tenant_slug: str,
    as_json: bool,
) -> None:
    """Add a user or an outside number to the group at EXTENSION."""

    async def work(p: Platform) -> None:
        view = await groups.add_member(
            p, actor(), tenant_slug, extension, user=user, external=external, position=position
        )
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)


@member.command("remove")
@click.argument("extension")
@click.option("--user", help="A member user's extension.")
@click.option("--external", help="A member outside number.")
@click.option("--position", type=int, help="The member's position.")
@_tenant
@json_option
@click.pass_obj
def member_remove(
    state: CliState,
    extension: str,
    user: str | None,
    external: str | None,
    position: int | None,
    tenant_slug: str,
    as_json: bool,
) -> None:
    """Remove a member (named by exactly one of --user, --external, --position)."""

    async def work(p: Platform) -> None:
        view = await groups.remove_member(
            p, actor(), tenant_slug, extension, user=user, external=external, position=position
        )
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)
