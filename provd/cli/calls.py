"""``provd calls …``: a tenant's call records (list, totals, CSV export) for a period."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from provd.cli.main import CliState, cli, emit, fail, json_option, run_with_db, table
from provd.domain.call_records import (
    CallFilter,
    csv_header,
    csv_rows,
    parse_call_types,
    parse_comparison,
    parse_partial_number,
    parse_period,
)
from provd.domain.errors import InvalidInput
from provd.services import calls as call_records
from provd.services.directory import tenants
from provd.services.platform import Platform

F = TypeVar("F", bound=Callable[..., Any])


@cli.group("calls")
def calls() -> None:
    """Call records: what was called, how it ended, for how long and what it cost."""


def _filter_options(fn: F) -> F:
    options = [
        click.option("--tenant", "tenant_slug", default=tenants.DEFAULT_TENANT, show_default=True),
        click.option("--from", "start", metavar="DATE", help="First day (2026-12-01)."),
        click.option("--to", "end", metavar="DATE", help="Last day, included."),
        click.option(
            "--month",
            help="current or previous (the default period is the current month).",
        ),
        click.option(
            "--type",
            "types",
            multiple=True,
            help="Call type(s): internal, inbound, national_fixed, mobile, international, "
            "premium, service, emergency (repeat or comma-separate).",
        ),
        click.option("--number", help="Part of the caller's or callee's number."),
        click.option("--cost", help="Cost comparison: >0.10, <1, =0."),
        click.option("--duration", help="Seconds comparison: <60, >300, =0."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _build_filter(
    tenant_slug: str,
    start: str | None,
    end: str | None,
    month: str | None,
    types: tuple[str, ...],
    number: str | None,
    cost: str | None,
    duration: str | None,
) -> CallFilter:
    return CallFilter(
        tenant=tenant_slug,
        period=parse_period(start=start, end=end, month=month),
        types=parse_call_types(types),
        number=parse_partial_number(number) if number is not None else None,
        cost=parse_comparison(cost, "cost") if cost is not None else None,
        duration=parse_comparison(duration, "duration", whole=True)
        if duration is not None
        else None,
    )


def _checked_filter(as_json: bool, *args: Any) -> CallFilter:
    """Validated before the database is opened: a bad option writes nothing, exits 1."""
    try:
        return _build_filter(*args)
    except InvalidInput as e:
        fail(str(e), as_json=as_json, details=e.as_dict())
        raise AssertionError("unreachable") from None


@calls.command("list")
@_filter_options
@click.option(
    "--limit", type=click.IntRange(1, call_records.MAX_PAGE), default=50, show_default=True
)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@json_option
@click.pass_obj
def calls_list(
    state: CliState,
    tenant_slug: str,
    start: str | None,
    end: str | None,
    month: str | None,
    types: tuple[str, ...],
    number: str | None,
    cost: str | None,
    duration: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """The period's calls, newest first."""
    flt = _checked_filter(as_json, tenant_slug, start, end, month, types, number, cost, duration)

    async def work(p: Platform) -> None:
        page = await call_records.list_calls(flt, offset=offset, limit=limit)
        text = table(
            ["START", "TYPE", "CALLER", "CALLEE", "DISPOSITION", "SECONDS", "COST"],
            [
                [
                    r.start.strftime("%Y-%m-%d %H:%M:%S"),
                    r.call_type,
                    r.caller,
                    r.callee,
                    r.disposition + (f" ({r.reason})" if r.reason else ""),
                    r.duration,
                    "" if r.cost is None else r.cost,
                ]
                for r in page.records
            ],
            right=(5, 6),
        )
        shown = f"{offset + 1}-{offset + len(page.records)}" if page.records else "none"
        text += f"\n{shown} of {page.total} calls, {flt.period.label}"
        data = {
            "total": page.total,
            "offset": page.offset,
            "limit": page.limit,
            "records": [r.as_dict() for r in page.records],
        }
        emit(as_json, data, text)

    run_with_db(state, as_json, work)


@calls.command("totals")
@_filter_options
@json_option
@click.pass_obj
def calls_totals(
    state: CliState,
    tenant_slug: str,
    start: str | None,
    end: str | None,
    month: str | None,
    types: tuple[str, ...],
    number: str | None,
    cost: str | None,
    duration: str | None,
    as_json: bool,
) -> None:
    """Calls, answered calls, seconds and cost: overall, per type, per number, both."""
    flt = _checked_filter(as_json, tenant_slug, start, end, month, types, number, cost, duration)

    async def work(p: Platform) -> None:
        t = await call_records.totals(flt)
        rows: list[list[object]] = [["overall", "", t.overall.calls, t.overall.answered,
                                     t.overall.seconds, t.overall.cost]]  # fmt: skip
        rows += [["type", k, v.calls, v.answered, v.seconds, v.cost] for k, v in t.by_type.items()]
        rows += [
            ["number", k, v.calls, v.answered, v.seconds, v.cost] for k, v in t.by_number.items()
        ]
        rows += [
            ["number+type", f"{n} {ty}", v.calls, v.answered, v.seconds, v.cost]
            for (n, ty), v in t.by_number_and_type.items()
        ]
        text = table(
            ["PER", "WHICH", "CALLS", "ANSWERED", "SECONDS", "COST"], rows, right=(2, 3, 4, 5)
        )
        emit(as_json, {"period": flt.period.label, **t.as_dict()}, f"{flt.period.label}\n{text}")

    run_with_db(state, as_json, work)


@calls.command("export")
@_filter_options
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the CSV here (default: standard output).",
)
@click.pass_obj
def calls_export(
    state: CliState,
    tenant_slug: str,
    start: str | None,
    end: str | None,
    month: str | None,
    types: tuple[str, ...],
    number: str | None,
    cost: str | None,
    duration: str | None,
    output: str | None,
) -> None:
    """The period's calls as CSV, newest first, in the columns the console exports."""
    flt = _checked_filter(False, tenant_slug, start, end, month, types, number, cost, duration)

    async def work(p: Platform) -> int:
        out = open(output, "w", newline="", encoding="utf-8") if output else None  # noqa: SIM115
        write = out.write if out else sys.stdout.write
        count = 0
        try:
            write(csv_header())
            async for batch in call_records.export(flt):
                write(csv_rows(batch))
                count += len(batch)
        finally:
            if out:
                out.close()
        return count

    count = run_with_db(state, False, work)
    if output:
        click.echo(f"{count} calls written to {output}", err=True)
