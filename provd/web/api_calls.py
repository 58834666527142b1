"""REST routes for call records: a tenant's calls of a period, their totals, CSV.

Tenant admins see their own tenant's records only (another tenant answers 404, as
one that does not exist); an admin names the tenant (default: the default tenant).
Filters are the CLI's: ``from``/``to`` dates or ``month`` (current, previous), ``type``,
a partial ``number``, ``cost`` and ``duration`` comparisons (``>0.10``, ``<60``).
"""

from __future__ import annotations

from aiohttp import web

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
from provd.services import calls
from provd.services.directory.tenants import DEFAULT_TENANT
from provd.web import auth
from provd.web.contract import Api, Param, Reply
from provd.web.schemas.calls import CallPage, CallTotals
from provd.web.tenant_scope import query_tenant

api = Api()
_FILTERS = [
    Param("tenant", description="Default: the caller's tenant, else default"),
    Param("from", description="First day (2026-12-01); with to"),
    Param("to", description="Last day, included"),
    Param("month", description="current (the default) or previous"),
    Param("type", description="Call types, comma-separated (mobile,international)"),
    Param("number", description="Part of the caller's or callee's number"),
    Param("cost", description="Cost comparison: >0.10, <1, =0"),
    Param("duration", description="Seconds comparison: <60, >300"),
]


async def _filter(request: web.Request) -> CallFilter:
    q = request.query
    tenant = await query_tenant(request) or DEFAULT_TENANT
    number, cost, duration = q.get("number"), q.get("cost"), q.get("duration")
    return CallFilter(
        tenant=tenant,
        period=parse_period(start=q.get("from"), end=q.get("to"), month=q.get("month")),
        types=parse_call_types(q.getall("type", [])),
        number=parse_partial_number(number) if number else None,
        cost=parse_comparison(cost, "cost") if cost else None,
        duration=parse_comparison(duration, "duration", whole=True) if duration else None,
    )


def _int(text: str | None, field: str, default: int, low: int, high: int) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(field, f"{text!r} is not a whole number") from None
    if not low <= value <= high:
        raise InvalidInput(field, f"{value} is not between {low} and {high}")
    return value


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/calls",
    "A tenant's call records of a period, newest first, a page at a time",
    ok={200: Reply("The page", CallPage)},
    parameters=[
        *_FILTERS,
        Param("offset", type="integer", description="Records to skip (default 0)"),
        Param("limit", type="integer", description=f"Page size, 1-{calls.MAX_PAGE} (default 50)"),
    ],
)
async def list_calls(request: web.Request) -> web.Response:
    flt = await _filter(request)
    offset = _int(request.query.get("offset"), "offset", 0, 0, 10**9)
    limit = _int(request.query.get("limit"), "limit", 50, 1, calls.MAX_PAGE)
    page = await calls.list_calls(flt, offset=offset, limit=limit)
    return web.json_response(
        {
            "total": page.total,
            "offset": page.offset,
            "limit": page.limit,
            "records": [r.as_dict() for r in page.records],
        }
    )


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/calls/totals",
    "Calls, answered calls, seconds and cost of a period: overall, per type, per number,"
    " per number and type",
    ok={200: Reply("The totals", CallTotals)},
    parameters=_FILTERS,
)
async def call_totals(request: web.Request) -> web.Response:
    flt = await _filter(request)
    totals = await calls.totals(flt)
    return web.json_response({"period": flt.period.label, **totals.as_dict()})


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/calls/export",
    "A period's call records as CSV, newest first",
    ok={
        200: Reply(
            "The CSV file (Content-Disposition: attachment)",
            media_type="text/csv",
            schema={"type": "string"},
        )
    },
    parameters=_FILTERS,
)
async def export_calls(request: web.Request) -> web.StreamResponse:
    flt = await _filter(request)
    # Streamed a batch at a time: a month of a busy tenant need not fit in memory.
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": (
                f'attachment; filename="calls-{flt.tenant}-{flt.period.start.date()}.csv"'
            ),
        }
    )
    batches = calls.export(flt)
    first = await anext(batches, None)
    await response.prepare(request)
    await response.write(csv_header().encode())
    if first is not None:
        await response.write(csv_rows(first).encode())
        async for batch in batches:
            await response.write(csv_rows(batch).encode())
    await response.write_eof()
    return response


add_routes = api.add_to
