"""``provd rates list|import|export``: the platform's rate table and tenants' overrides."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from provd.cli.main import CliState, actor, cli, emit, fail, json_option, run_with_db, table
from provd.domain.device_csv import ImportRefused
from provd.services import rating
from provd.services.platform import Platform

_STDIO = Path("-")
_TENANT = click.option(
    "--tenant",
    "tenant_slug",
    help="This tenant's overrides (default: the platform's table).",
)


@cli.group()
def rates() -> None:
    """Rates: what outbound calls cost, the platform's and each tenant's overrides.

    A rate matches an E.164 prefix (+3197) or a call type (national_fixed, mobile,
    international, premium, service; internal, inbound and emergency are free unless
    rated). The longest prefix wins, then the call type; a tenant's rate comes before
    the platform's with the same match. See docs/rating.md.
    """


@rates.command("list")
@_TENANT
@json_option
@click.pass_obj
def rates_list(state: CliState, tenant_slug: str | None, as_json: bool) -> None:
    """List a table in the order a look-up tries it: prefixes, longest first, then types."""

    async def work(p: Platform) -> rating.RateList:
        return await rating.list_rates(tenant_slug)

    found = run_with_db(state, as_json, work)
    view = found.view()
    heading = {
        rating.Source.PLATFORM: "Platform rates",
        rating.Source.SHIPPED: "Platform rates: the example table shipped with provd"
        " (import your own with 'provd rates import FILE')",
        rating.Source.TENANT: f"Overrides of tenant {found.tenant}"
        " (calls they do not match use the platform's rates)",
    }[found.source]
    rows = [
        [
            r["match"],
            r["price_per_minute"],
            r["setup_fee"],
            r["increment"] or "1/1",
            r["currency"],
        ]
        for r in view["rates"]
    ]
    text = table(["MATCH", "PER MINUTE", "SETUP FEE", "INCREMENT", "CURRENCY"], rows, right=(1, 2))
    emit(as_json, view, heading + ("\n" + text if rows else "\n(none)"))


def _read(file: Path, as_json: bool) -> bytes:
    # One byte past the bound, so that a file over it is refused rather than cut.
    if file == _STDIO:
        return sys.stdin.buffer.read(rating.MAX_BYTES + 1)
    try:
        with file.open("rb") as f:
            return f.read(rating.MAX_BYTES + 1)
    except OSError as e:
        fail(f"file: cannot read {file}: {e.strerror}", as_json=as_json)
        raise AssertionError("unreachable") from None


@rates.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@_TENANT
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@json_option
@click.pass_obj
def rates_import(
    state: CliState, file: Path, tenant_slug: str | None, dry_run: bool, as_json: bool
) -> None:
    """Replace a table with the rates of a CSV file (- for stdin), all or nothing.

    Columns: match,price_per_minute,setup_fee,increment (header in any order; ; or tab
    separated works too). match is a prefix (+3197, or 097 read as Dutch) or a call
    type; prices in EUR with up to 4 decimals; increment FIRST/THEN seconds (60/1),
    empty for by the second. Every error is printed by row and column. An empty
    platform file goes back to the shipped example table.
    """
    data = _read(file, as_json)

    async def work(p: Platform) -> rating.ImportResult | ImportRefused:
        try:
            return await rating.import_table(actor(), data, tenant=tenant_slug, dry_run=dry_run)
        except ImportRefused as refused:
            return refused  # reported with every error, not just the first

    result = run_with_db(state, as_json, work)
    if isinstance(result, ImportRefused):
        if as_json:
            errors = [e.as_dict() for e in result.errors]
            click.echo(json.dumps({"error": result.as_dict(), "errors": errors}, indent=2))
        for e in result.errors:
            click.echo(str(e), err=True)
        click.echo(
            f"error: {len(result.errors)} error(s) in the file; nothing was imported", err=True
        )
        sys.exit(1)
    emit(as_json, result.view(), result.summary)


@rates.command("export")
@_TENANT
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=_STDIO,
    help="Write to this file instead of stdout.",
)
@json_option
@click.pass_obj
def rates_export(state: CliState, tenant_slug: str | None, output: Path, as_json: bool) -> None:
    """Write a table as CSV in the columns `rates import` reads."""

    async def work(p: Platform) -> tuple[str, int]:
        return await rating.export_table(tenant_slug)

    text, count = run_with_db(state, as_json, work)
    if output == _STDIO:
        if as_json:
            emit(True, {"rates": count, "csv": text}, "")
        else:
            click.echo(text, nl=False)
        return
    try:
        # newline="": the CRLF line ends of CSV stay as written.
        with output.open("w", encoding="utf-8", newline="") as f:
            f.write(text)
    except OSError as e:
        fail(f"output: cannot write {output}: {e.strerror}", as_json=as_json)
    emit(as_json, {"rates": count, "file": str(output)}, f"Wrote {count} rate(s) to {output}")
