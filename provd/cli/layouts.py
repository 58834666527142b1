"""``provd keys …``: key layouts at the platform, tenant, user or device level."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from provd.cli.main import CliState, actor, cli, emit, fail, json_option, run_with_db, table
from provd.services import layouts
from provd.services.platform import Platform

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Selector:
    """Which layout a command works on: one of the levels, and the phone model."""

    platform: bool
    tenant: str | None
    user: str | None
    device: str | None
    model: str | None

    async def scope(self) -> layouts.Scope:
        return await layouts.resolve_scope(
            platform=self.platform, tenant=self.tenant, user=self.user, device=self.device
        )


def scope_options(f: F) -> F:
    """The selectors every keys command takes, handed over as one ``selector``."""

    @functools.wraps(f)
    def wrapper(
        *args: Any,
        platform: bool,
        tenant: str | None,
        user: str | None,
        device: str | None,
        model: str | None,
        **kwargs: Any,
    ) -> Any:
        return f(*args, selector=Selector(platform, tenant, user, device, model), **kwargs)

    command: Any = wrapper
    for option in reversed(
        [
            click.option("--platform", is_flag=True, help="The platform-wide default."),
            click.option(
                "--tenant", "tenant", help="The tenant's default (or the tenant of --user)."
            ),
            click.option("--user", "user", help="A user's personal layout: EXT or TENANT/EXT."),
            click.option("--device", "device", help="One device's override, by MAC."),
            click.option("--model", help="Model id, e.g. yealink-t46g (implied by --device)."),
        ]
    ):
        command = option(command)
    return cast(F, command)


@cli.group()
def keys() -> None:
    """Programmable keys: line keys and expansion-module keys."""


@keys.command("set")
@scope_options
@click.option("--key", "location", required=True, help="line:N or exp:MODULE:N (1-based).")
@click.option("--function", required=True, help="line, blf, speed_dial, park, pickup, … or none.")
@click.option(
    "--target", default="", help="Extension, number, URL or tones, as the function needs."
)
@click.option("--label", default="", help="Text shown beside the key.")
@click.option(
    "--lock", is_flag=True, help="Platform and tenant only: lower levels cannot change it."
)
@json_option
@click.pass_obj
def keys_set(
    state: CliState,
    selector: Selector,
    location: str,
    function: str,
    target: str,
    label: str,
    lock: bool,
    as_json: bool,
) -> None:
    """Program one key."""

    async def work(p: Platform) -> None:
        scope = await selector.scope()
        spec = await layouts.set_key(
            actor(),
            scope,
            selector.model,
            location,
            function,
            target=target,
            label=label,
            locked=lock,
        )
        view = {
            "scope": scope.label,
            "key": str(spec.location),
            "function": spec.function.value,
            "target": spec.target,
            "label": spec.label,
            "locked": spec.locked,
        }
        emit(
            as_json,
            view,
            f"{scope.label}: {spec.location} = {spec.function} {spec.target}".rstrip(),
        )

    run_with_db(state, as_json, work)


@keys.command("show")
@scope_options
@json_option
@click.pass_obj
def keys_show(
    state: CliState,
    selector: Selector,
    as_json: bool,
) -> None:
    """Show a layout; for a device, the effective keys and where each comes from."""

    async def work(p: Platform) -> None:
        scope = await selector.scope()
        own = await layouts.export_layout(scope, selector.model)
        view: dict[str, Any] = {"scope": scope.label, **own}
        if scope.device is not None:
            effective = await layouts.effective_keys_view(scope.device)
            view["effective"] = effective
        lines = [f"{scope.label}, {own['model']}:"]
        cells = []
        for k in view.get("effective", own["keys"]):
            notes = ["(locked)"] if k["locked"] else []
            notes += [f"[{k['from']}]"] if "from" in k else []
            cells.append([k["key"], k["function"], k["target"], k["label"], " ".join(notes)])
        if cells:
            lines += ["  " + row for row in table([], cells).splitlines()]
        for page in own["pages"]:
            lines.append(f"  exp:{page['module']} page {page['page']}: {page['description']}")
        if len(lines) == 1:
            lines.append("  (no keys set at this level)")
        emit(as_json, view, "\n".join(lines))

    run_with_db(state, as_json, work)


@keys.command("clear")
@scope_options
@click.option("--key", "location", help="One key (line:N or exp:M:N); all keys when left out.")
@json_option
@click.pass_obj
def keys_clear(
    state: CliState,
    selector: Selector,
    location: str | None,
    as_json: bool,
) -> None:
    """Clear one key or a whole layout at one level."""

    async def work(p: Platform) -> None:
        scope = await selector.scope()
        count = await layouts.clear_keys(actor(), scope, selector.model, location)
        emit(
            as_json,
            {"scope": scope.label, "cleared": count},
            f"{scope.label}: cleared {count} key(s)",
        )

    run_with_db(state, as_json, work)


@keys.command("page")
@scope_options
@click.option("--module", type=int, required=True, help="Expansion module, 1-based.")
@click.option("--page", type=int, required=True, help="Page of the module, 1-based.")
@click.option("--description", required=True, help="Text for the page; empty to remove.")
@json_option
@click.pass_obj
def keys_page(
    state: CliState,
    selector: Selector,
    module: int,
    page: int,
    description: str,
    as_json: bool,
) -> None:
    """Describe one page of an expansion module."""

    async def work(p: Platform) -> None:
        scope = await selector.scope()
        await layouts.set_page_label(actor(), scope, selector.model, module, page, description)
        view = {"scope": scope.label, "module": module, "page": page, "description": description}
        emit(as_json, view, f"{scope.label}: exp:{module} page {page} = {description!r}")

    run_with_db(state, as_json, work)


@keys.command("export")
@scope_options
@click.pass_obj
def keys_export(
    state: CliState,
    selector: Selector,
) -> None:
    """Print a level's layout as JSON (what ``keys import`` reads)."""

    async def work(p: Platform) -> None:
        scope = await selector.scope()
        click.echo(json.dumps(await layouts.export_layout(scope, selector.model), indent=2))

    run_with_db(state, True, work)


@keys.command("import")
@scope_options
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@json_option
@click.pass_obj
def keys_import(
    state: CliState,
    selector: Selector,
    file: Path,
    as_json: bool,
) -> None:
    """Replace a level's layout with FILE (JSON; - for stdin). All or nothing."""
    raw = sys.stdin.read() if str(file) == "-" else file.read_text()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        fail(f"file: not valid JSON ({e.msg} at line {e.lineno})", as_json=as_json)
    if selector.model and isinstance(data, dict):
        data.setdefault("model", selector.model)

    async def work(p: Platform) -> None:
        scope = await selector.scope()
        count = await layouts.import_layout(actor(), scope, data)
        emit(
            as_json,
            {"scope": scope.label, "keys": count},
            f"{scope.label}: imported {count} key(s)",
        )

    run_with_db(state, as_json, work)
