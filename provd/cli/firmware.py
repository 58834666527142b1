"""``provd firmware …``: the firmware catalogue, pins per level, and what a device runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db
from provd.firmware.store import file_chunks
from provd.services import firmware
from provd.services.platform import Platform


def _size(size: int) -> str:
    return f"{size / 1024**2:.1f} MiB" if size >= 1024**2 else f"{size} bytes"


def _image_text(view: dict[str, Any]) -> str:
    tested = "tested" if view["tested"] else "untested"
    lines = [
        f"{view['version']}  {view['vendor']}  {', '.join(view['models'])}  ({tested})",
        f"  file:   {view['filename']}, {_size(view['size'])}",
        f"  sha256: {view['sha256']}",
    ]
    if view["release_notes"]:
        lines.append(f"  notes:  {view['release_notes']}")
    for pin in view.get("pins", []):
        where = pin["device"] or pin["tenant"] or ""
        lines.append(f"  pinned: {pin['level']} {where}".rstrip() + f" for {pin['model']}")
    return "\n".join(lines)


@cli.group("firmware")
def firmware_group() -> None:
    """Firmware images, which version each model runs, and where that comes from."""


@firmware_group.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--model", "models", multiple=True, required=True, help="A model it fits; repeat for more."
)
@click.option("--version", required=True, help="The firmware version, e.g. 28.83.0.120.")
@click.option("--tested", is_flag=True, help="Mark it tested: it may be pinned straight away.")
@click.option("--sha256", help="The checksum the vendor published; a mismatch is refused.")
@click.option("--notes", default="", help="Release notes.")
@click.option("--filename", help="The name phones see (default: FILE's name).")
@json_option
@click.pass_obj
def firmware_add(
    state: CliState,
    file: Path,
    models: tuple[str, ...],
    version: str,
    tested: bool,
    sha256: str | None,
    notes: str,
    filename: str | None,
    as_json: bool,
) -> None:
    """Import FILE into the store (by SHA-256). The same file imported again with the
    same version and models changes nothing; anything else already there is refused."""

    async def work(p: Platform) -> None:
        new = firmware.check_new_image(
            models, version, filename or file.name, notes=notes, tested=tested, sha256=sha256
        )
        added = await firmware.add_image(p, actor(), new, file_chunks(file))
        view = firmware.image_view(added.image) | {"created": added.created}
        head = "Added" if added.created else "Already stored, nothing changed:"
        emit(as_json, view, f"{head} {_image_text(view)}")

    run_with_db(state, as_json, work)


@firmware_group.command("list")
@click.option("--model", help="Only images that fit this model.")
@json_option
@click.pass_obj
def firmware_list(state: CliState, model: str | None, as_json: bool) -> None:
    """Stored images, oldest version first, with where each is pinned."""

    async def work(p: Platform) -> None:
        views = await firmware.list_images_view(model)
        text = "\n".join(_image_text(v) for v in views) or "(no firmware stored)"
        emit(as_json, views, text)

    run_with_db(state, as_json, work)


@firmware_group.command("tested")
@click.option("--version", help="The image's version.")
@click.option("--sha256", help="The image's SHA-256 (8 or more leading hex digits).")
@click.option("--model", help="Which image, when a version exists for several models.")
@click.option("--untested", is_flag=True, help="Withdraw the mark (refused while pinned).")
@json_option
@click.pass_obj
def firmware_tested(
    state: CliState,
    version: str | None,
    sha256: str | None,
    model: str | None,
    untested: bool,
    as_json: bool,
) -> None:
    """Mark an image tested, so that it may be pinned."""

    async def work(p: Platform) -> None:
        image = await firmware.set_tested(
            actor(), version=version, sha256=sha256, model=model, tested=not untested
        )
        view = firmware.image_view(image)
        emit(as_json, view, _image_text(view))

    run_with_db(state, as_json, work)


def _scope_text(view: dict[str, Any]) -> str:
    return f"{view['level']} {view['device'] or view['tenant'] or ''}".rstrip()


@firmware_group.command("pin")
@click.option("--model", help="Model id, e.g. yealink-t46g (implied by --device).")
@click.option("--version", help="A tested version stored for the model.")
@click.option("--sha256", help="Or the image's SHA-256 (8 or more leading hex digits).")
@click.option("--tenant", help="The tenant's override.")
@click.option("--device", help="One device's pin, by MAC.")
@json_option
@click.pass_obj
def firmware_pin(
    state: CliState,
    model: str | None,
    version: str | None,
    sha256: str | None,
    tenant: str | None,
    device: str | None,
    as_json: bool,
) -> None:
    """Choose the firmware of a model: platform default, or a tenant's or device's own.
    Phones pick it up at their next configuration fetch."""

    async def work(p: Platform) -> None:
        scope = await firmware.pin_scope(tenant=tenant, device=device)
        pin = await firmware.set_pin(actor(), scope, model=model, version=version, sha256=sha256)
        view = firmware.pin_view(pin)
        emit(
            as_json,
            view,
            f"{_scope_text(view)}: {view['model']} runs {view['version']}"
            f" (sha256 {view['sha256']})",
        )

    run_with_db(state, as_json, work)


@firmware_group.command("unpin")
@click.option("--model", help="Model id, e.g. yealink-t46g (implied by --device).")
@click.option("--tenant", help="The tenant's override.")
@click.option("--device", help="One device's pin, by MAC.")
@json_option
@click.pass_obj
def firmware_unpin(
    state: CliState, model: str | None, tenant: str | None, device: str | None, as_json: bool
) -> None:
    """Remove a pin: the level above applies again (or none: provd leaves firmware alone)."""

    async def work(p: Platform) -> None:
        scope = await firmware.pin_scope(tenant=tenant, device=device)
        model_id = await firmware.remove_pin(actor(), scope, model=model)
        emit(
            as_json,
            {"unpinned": scope.label, "model": model_id},
            f"{scope.label}: {model_id} unpinned",
        )

    run_with_db(state, as_json, work)


def _resolution_text(view: dict[str, Any]) -> str:
    expected = view["expected"]
    lines = [f"{view['mac']} ({view['model']}, tenant {view['tenant']})"]
    if expected:
        lines.append(f"  expected: {expected['version']} ({expected['level']} pin)")
        lines.append(f"  url:      {expected['url']}")
    else:
        lines.append("  expected: none")
    lines += [f"    {line}" for line in view["explanation"]]
    if view["rollout_target"]:
        lines.append(f"  rollout:  being updated to {view['rollout_target']['version']}")
    for channel, label in (("http", "HTTP User-Agent"), ("sip", "SIP REGISTER")):
        seen = view["reported"][channel]
        at = f" at {seen['at']}" if seen["at"] else ""
        lines.append(f"  reported by {label}: {seen['version'] or 'nothing yet'}{at}")
    lines.append(f"  drifted:  {'yes' if view['drifted'] else 'no'}")
    return "\n".join(lines)


@firmware_group.command("resolve")
@click.argument("mac")
@json_option
@click.pass_obj
def firmware_resolve(state: CliState, mac: str, as_json: bool) -> None:
    """Which firmware MAC should run, where that comes from, and what it reports."""

    async def work(p: Platform) -> None:
        view = await firmware.device_firmware_view(p, mac)
        emit(as_json, view, _resolution_text(view))

    run_with_db(state, as_json, work)
