"""``provd menus …`` and ``provd sounds …``: a tenant's IVR menus and the sounds they
play (services.menus)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db, table
from provd.domain.destinations import FORMS as DESTINATION_FORMS
from provd.domain.errors import InvalidInput
from provd.services import menus
from provd.services.destinations import describe
from provd.services.menus import KEY_FORMS, sounds
from provd.services.platform import Platform

_DESTINATION = DESTINATION_FORMS
_KEY_HELP = f"KEY=ACTION, repeatable; ACTION: {KEY_FORMS}."


def _key_text(entry: dict[str, Any]) -> str:
    if entry["action"] == "transfer":
        return f"to {describe(entry['destination'])}"
    if entry["action"] == "submenu":
        return f"submenu {entry['menu']}"
    return str(entry["action"])


def _text(view: dict[str, Any]) -> str:
    keys = [f"  {k}: {_key_text(e)}" for k, e in view["keys"].items()] or ["  (none)"]
    return "\n".join(
        [
            f"menu: {view['extension']} ({view['name']}) in {view['tenant']}",
            f"greeting: {view['greeting']}",
            f"invalid_sound: {view['invalid_sound'] or 'none'}",
            f"timeout_seconds: {view['timeout_seconds']}",
            f"max_attempts: {view['max_attempts']}",
            f"dial_length: {view['dial_length']}",
            f"default: {describe(view['default'])}",
            f"numbers: {', '.join(view['numbers']) or 'none'}",
            "keys:",
            *keys,
        ]
    )


def _keys(given: tuple[str, ...]) -> dict[str, str | None]:
    """``1=user:201`` options as the service's keys."""
    out: dict[str, str | None] = {}
    for option in given:
        key, equals, action = option.partition("=")
        if not equals:
            raise InvalidInput("keys", f"{option!r} is not KEY=ACTION (1=user:201, 0=repeat)")
        out[key.strip()] = action
    return out


_menu_options = [
    click.option("--name", help="What admins call the menu."),
    click.option("--greeting", help="The sound the menu plays (a sound's name)."),
    click.option("--invalid-sound", help="Played after a key with no action (or none)."),
    click.option(
        "--timeout", "timeout_seconds", type=int, help="Seconds for a key after the greeting."
    ),
    click.option("--attempts", "max_attempts", type=int, help="Failed attempts, 1 to 9."),
    click.option("--dial-length", type=int, help="Most digits dial_extension collects, 2 to 5."),
    click.option("--default", help=f"After the last failed attempt: {_DESTINATION}."),
    click.option("--key", "keys", multiple=True, help=_KEY_HELP),
]


def _with_menu_options(f: Any) -> Any:
    for option in reversed(_menu_options):
        f = option(f)
    return f


@cli.group("menus")
def menus_group() -> None:
    """IVR menus: an extension that plays a greeting and acts on the caller's keys."""


@menus_group.command("list")
@click.argument("tenant")
@json_option
@click.pass_obj
def menus_list(state: CliState, tenant: str, as_json: bool) -> None:
    """List TENANT's menus."""

    async def work(p: Platform) -> None:
        views = await menus.list_menus(tenant)
        rows = [
            [v["extension"], v["name"], v["greeting"], len(v["keys"]), describe(v["default"])]
            for v in views
        ]
        text = table(["EXT", "NAME", "GREETING", "KEYS", "DEFAULT"], rows, right={3})
        emit(as_json, views, text)

    run_with_db(state, as_json, work)


@menus_group.command("show")
@click.argument("tenant")
@click.argument("extension")
@json_option
@click.pass_obj
def menus_show(state: CliState, tenant: str, extension: str, as_json: bool) -> None:
    """Show the menu at EXTENSION of TENANT."""

    async def work(p: Platform) -> None:
        view = await menus.show_menu(tenant, extension)
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)


@menus_group.command("add")
@click.argument("tenant")
@click.argument("extension")
@_with_menu_options
@json_option
@click.pass_obj
def menus_add(
    state: CliState,
    tenant: str,
    extension: str,
    name: str | None,
    greeting: str | None,
    invalid_sound: str | None,
    timeout_seconds: int | None,
    max_attempts: int | None,
    dial_length: int | None,
    default: str | None,
    keys: tuple[str, ...],
    as_json: bool,
) -> None:
    """Add a menu at EXTENSION of TENANT (--name and --greeting are required)."""

    async def work(p: Platform) -> None:
        if name is None:
            raise InvalidInput("name", "is required (--name)")
        if greeting is None:
            raise InvalidInput("greeting", "is required (--greeting)")
        view = await menus.add_menu(
            p,
            actor(),
            tenant,
            extension,
            name,
            greeting,
            invalid_sound=invalid_sound,
            timeout_seconds=5 if timeout_seconds is None else timeout_seconds,
            max_attempts=3 if max_attempts is None else max_attempts,
            dial_length=5 if dial_length is None else dial_length,
            default=default,
            keys=_keys(keys),
        )
        emit(as_json, view, f"Added menu {view['extension']} ({view['name']})\n{_text(view)}")

    run_with_db(state, as_json, work)


@menus_group.command("set")
@click.argument("tenant")
@click.argument("extension")
@_with_menu_options
@json_option
@click.pass_obj
def menus_set(
    state: CliState,
    tenant: str,
    extension: str,
    name: str | None,
    greeting: str | None,
    invalid_sound: str | None,
    timeout_seconds: int | None,
    max_attempts: int | None,
    dial_length: int | None,
    default: str | None,
    keys: tuple[str, ...],
    as_json: bool,
) -> None:
    """Change a menu; each --key changes that key only (KEY=none removes it)."""

    async def work(p: Platform) -> None:
        merged = None
        if keys:
            current = await menus.show_menu(tenant, extension)
            merged = {k: e["text"] for k, e in current["keys"].items()} | _keys(keys)
        view = await menus.update_menu(
            p,
            actor(),
            tenant,
            extension,
            name=name,
            greeting=greeting,
            invalid_sound=invalid_sound,
            timeout_seconds=timeout_seconds,
            max_attempts=max_attempts,
            dial_length=dial_length,
            default=default,
            keys=merged,
        )
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)


@menus_group.command("remove")
@click.argument("tenant")
@click.argument("extension")
@json_option
@click.pass_obj
def menus_remove(state: CliState, tenant: str, extension: str, as_json: bool) -> None:
    """Remove a menu (not while a number, a destination or another menu points at it)."""

    async def work(p: Platform) -> None:
        await menus.remove_menu(p, actor(), tenant, extension)
        emit(as_json, {"removed": extension, "tenant": tenant}, f"Removed menu {extension}")

    run_with_db(state, as_json, work)


@cli.group("sounds")
def sounds_group() -> None:
    """Sounds menus play: uploads converted to 8 kHz mono WAV."""


@sounds_group.command("list")
@click.argument("tenant")
@json_option
@click.pass_obj
def sounds_list(state: CliState, tenant: str, as_json: bool) -> None:
    """List TENANT's sounds with their length."""

    async def work(p: Platform) -> None:
        views = await sounds.list_sounds(tenant)
        rows = [[v["name"], f"{v['duration_ms'] / 1000:.1f}", v["size"]] for v in views]
        emit(as_json, views, table(["NAME", "SECONDS", "BYTES"], rows, right={1, 2}))

    run_with_db(state, as_json, work)


@sounds_group.command("add")
@click.argument("tenant")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
def sounds_add(state: CliState, tenant: str, name: str, file: Path, as_json: bool) -> None:
    """Convert FILE (WAV, MP3, OGG, …; up to 20 MB and 10 minutes) and store it as NAME."""

    async def work(p: Platform) -> None:
        try:
            with file.open("rb") as f:
                data = f.read(sounds.MAX_UPLOAD + 1)
        except OSError as e:
            raise InvalidInput("file", f"cannot read {file}: {e.strerror or e}") from None
        view = await sounds.add_sound(p, actor(), tenant, name, data, file.name)
        emit(
            as_json,
            view,
            f"Added sound {view['name']} ({view['duration_ms'] / 1000:.1f} s) to {tenant}",
        )

    run_with_db(state, as_json, work)


@sounds_group.command("remove")
@click.argument("tenant")
@click.argument("name")
@json_option
@click.pass_obj
def sounds_remove(state: CliState, tenant: str, name: str, as_json: bool) -> None:
    """Remove a sound and its file (not while a menu plays it)."""

    async def work(p: Platform) -> None:
        await sounds.remove_sound(p, actor(), tenant, name)
        emit(as_json, {"removed": name, "tenant": tenant}, f"Removed sound {name}")

    run_with_db(state, as_json, work)
