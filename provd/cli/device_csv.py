"""`provd device import|export` and `provd sheet`: devices as CSV, printable claim sheets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from provd.cli.devices import device
from provd.cli.main import CliState, actor, cli, emit, fail, json_option, run_with_db
from provd.domain.errors import InvalidInput
from provd.services.devices import csv_io as device_csv
from provd.services.installer import sheets
from provd.services.platform import Platform

_STDIO = Path("-")


def _read(file: Path, as_json: bool) -> bytes:
    if file == _STDIO:
        return sys.stdin.buffer.read(device_csv.MAX_BYTES + 1)
    try:
        with file.open("rb") as f:
            return f.read(device_csv.MAX_BYTES + 1)
    except OSError as e:
        fail(f"file: cannot read {file}: {e.strerror}", as_json=as_json)
        raise AssertionError("unreachable") from None


def _write(output: Path, text: str) -> None:
    if output == _STDIO:
        click.echo(text, nl=False)
    else:
        # newline="": the CRLF line ends of CSV stay as written.
        with output.open("w", encoding="utf-8", newline="") as f:
            f.write(text)


@device.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--tenant", "tenant_slug", help="Import into this tenant only (empty cells mean it).")
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@json_option
@click.pass_obj
def device_import(
    state: CliState, file: Path, tenant_slug: str | None, dry_run: bool, as_json: bool
) -> None:
    """Add or update the devices of a CSV file (- for stdin), all or nothing.

    Columns: mac,model,tenant,extension,lines,vlan_lan,vlan_pc,expansion_modules,name
    (header in any order; ; or tab separated works too). extension is the user on
    line 1 (empty: a spare phone), lines the further slots as 2=202;3=203, VLANs
    ID[:PRIO] or off (empty: the tenant's). Every error is printed by row and column.
    """
    data = _read(file, as_json)

    async def work(p: Platform) -> device_csv.ImportResult | device_csv.ImportRefused:
        try:
            return await device_csv.import_devices(
                p, actor(), data, tenant=tenant_slug, dry_run=dry_run
            )
        except device_csv.ImportRefused as refused:
            return refused  # reported with every error, not just the first

    result = run_with_db(state, as_json, work)
    if isinstance(result, device_csv.ImportRefused):
        _report(result, as_json)
        return
    emit(as_json, result.view(), result.summary)


def _report(refused: device_csv.ImportRefused, as_json: bool) -> None:
    errors = refused.errors
    if as_json:
        click.echo(
            json.dumps(
                {"error": refused.as_dict(), "errors": [e.as_dict() for e in errors]}, indent=2
            )
        )
    for e in errors:
        click.echo(str(e), err=True)
    click.echo(f"error: {len(errors)} error(s) in the file; nothing was imported", err=True)
    sys.exit(1)


@device.command("export")
@click.option("--tenant", "tenant_slug", help="Only this tenant's devices (default: all).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=_STDIO,
    help="Write to this file instead of stdout.",
)
@json_option
@click.pass_obj
def device_export(state: CliState, tenant_slug: str | None, output: Path, as_json: bool) -> None:
    """Write devices as CSV, sorted by MAC, in the columns `device import` reads."""

    async def work(p: Platform) -> tuple[str, int]:
        return await device_csv.export_devices(tenant_slug)

    text, count = run_with_db(state, as_json, work)
    if as_json and output == _STDIO:
        emit(True, {"devices": count, "csv": text}, "")
        return
    _write(output, text)
    if output != _STDIO:
        emit(
            as_json, {"devices": count, "file": str(output)}, f"Wrote {count} device(s) to {output}"
        )


@cli.command("sheet")
@click.argument("tenant_slug", metavar="TENANT")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="The HTML file to write (default: sheet-TENANT.html; - for stdout).",
)
@click.option("--model", help="The phone model planned for users who have none yet.")
@click.option("--unclaimed", is_flag=True, help="Only users whose phone is not claimed yet.")
@json_option
@click.pass_obj
def sheet(
    state: CliState,
    tenant_slug: str,
    output: Path | None,
    model: str | None,
    unclaimed: bool,
    as_json: bool,
) -> None:
    """Write a printable claim sheet: a card per user with a QR code to claim their phone."""

    async def work(p: Platform) -> sheets.Sheet:
        return await sheets.claim_sheet(p, tenant_slug, model=model, unclaimed_only=unclaimed)

    found = run_with_db(state, as_json, work)
    # The web package renders it, as it does the page: one template for both.
    from provd.web.install.sheet import standalone_html

    target = output or Path(f"sheet-{found.tenant}.html")
    try:
        _write(target, standalone_html(found))
    except OSError as e:
        fail(str(InvalidInput("output", f"cannot write {target}: {e.strerror}")), as_json=as_json)
    if target != _STDIO:
        emit(
            as_json,
            {"tenant": found.tenant, "cards": len(found.cards), "file": str(target)},
            f"Wrote {len(found.cards)} card(s) for {found.tenant} to {target}",
        )
