"""``provd announcements …``: a tenant's announcements, extensions that play a sound and
hang up (services.announcements)."""

from __future__ import annotations

from typing import Any

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db, table
from provd.domain.errors import InvalidInput
from provd.services import announcements
from provd.services.platform import Platform


def _text(view: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"announcement: {view['extension']} ({view['name']}) in {view['tenant']}",
            f"sound: {view['sound']}",
            f"plays: {view['plays']}",
            f"numbers: {', '.join(view['numbers']) or 'none'}",
        ]
    )


_options = [
    click.option("--name", help="What admins call the announcement."),
    click.option("--sound", help="The sound it plays (a sound's name)."),
    click.option(
        "--plays",
        type=int,
        help="How many times the sound plays before the call ends,"
        f" 1 to {announcements.MAX_PLAYS}.",
    ),
]


def _with_options(f: Any) -> Any:
    for option in reversed(_options):
        f = option(f)
    return f


@cli.group("announcements")
def announcements_group() -> None:
    """Announcements: an extension that plays a sound and hangs up (auto-answer)."""


@announcements_group.command("list")
@click.argument("tenant")
@json_option
@click.pass_obj
def announcements_list(state: CliState, tenant: str, as_json: bool) -> None:
    """List TENANT's announcements."""

    async def work(p: Platform) -> None:
        views = await announcements.list_announcements(tenant)
        rows = [
            [v["extension"], v["name"], v["sound"], v["plays"], ", ".join(v["numbers"])]
            for v in views
        ]
        text = table(["EXT", "NAME", "SOUND", "PLAYS", "NUMBERS"], rows, right={3})
        emit(as_json, views, text)

    run_with_db(state, as_json, work)


@announcements_group.command("show")
@click.argument("tenant")
@click.argument("extension")
@json_option
@click.pass_obj
def announcements_show(state: CliState, tenant: str, extension: str, as_json: bool) -> None:
    """Show the announcement at EXTENSION of TENANT."""

    async def work(p: Platform) -> None:
        view = await announcements.show_announcement(tenant, extension)
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)


@announcements_group.command("add")
@click.argument("tenant")
@click.argument("extension")
@_with_options
@json_option
@click.pass_obj
def announcements_add(
    state: CliState,
    tenant: str,
    extension: str,
    name: str | None,
    sound: str | None,
    plays: int | None,
    as_json: bool,
) -> None:
    """Add an announcement at EXTENSION of TENANT (--name and --sound are required)."""

    async def work(p: Platform) -> None:
        if name is None:
            raise InvalidInput("name", "is required (--name)")
        if sound is None:
            raise InvalidInput("sound", "is required (--sound)")
        view = await announcements.add_announcement(
            p,
            actor(),
            tenant,
            extension,
            name,
            sound,
            plays=announcements.DEFAULT_PLAYS if plays is None else plays,
        )
        emit(
            as_json,
            view,
            f"Added announcement {view['extension']} ({view['name']})\n{_text(view)}",
        )

    run_with_db(state, as_json, work)


@announcements_group.command("set")
@click.argument("tenant")
@click.argument("extension")
@_with_options
@json_option
@click.pass_obj
def announcements_set(
    state: CliState,
    tenant: str,
    extension: str,
    name: str | None,
    sound: str | None,
    plays: int | None,
    as_json: bool,
) -> None:
    """Change an announcement's name, sound or plays."""

    async def work(p: Platform) -> None:
        view = await announcements.update_announcement(
            p, actor(), tenant, extension, name=name, sound=sound, plays=plays
        )
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)


@announcements_group.command("remove")
@click.argument("tenant")
@click.argument("extension")
@json_option
@click.pass_obj
def announcements_remove(state: CliState, tenant: str, extension: str, as_json: bool) -> None:
    """Remove an announcement (not while a number or a destination points at it)."""

    async def work(p: Platform) -> None:
        await announcements.remove_announcement(p, actor(), tenant, extension)
        emit(as_json, {"removed": extension, "tenant": tenant}, f"Removed announcement {extension}")

    run_with_db(state, as_json, work)
