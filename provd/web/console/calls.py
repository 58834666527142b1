"""Calls: a tenant's call records of a period, their totals (overall, per call type, per
number, per number and type), the detail list newest first with the filters, and the
list as CSV. The filters are the API's and the CLI's (``provd.domain.call_records``);
a bad one is shown on its field and the page lists nothing rather than a guess.

A tenant admin sees their own tenant's calls only, whatever the query names; a
platform admin picks the tenant (default: the default tenant).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlencode

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
from provd.domain.call_types import CallType
from provd.domain.errors import InvalidInput
from provd.services import calls
from provd.services.directory import tenants
from provd.web import auth, pages
from provd.web.console import scope
from provd.web.console.helpers import Errors, no_errors

PAGE = 50
T = TypeVar("T")
_FIELDS = ("month", "from", "to", "type", "number", "cost", "duration")


def _read(parse: Callable[[], T], errors: Errors) -> T | None:
    try:
        return parse()
    except InvalidInput as e:
        errors[e.field] = e.message
        return None


def _filter(tenant: str, q: dict[str, str], errors: Errors) -> CallFilter | None:
    """The query's filter; None (with ``errors`` by field) when any part is wrong."""
    # Dates typed in win over the month picked.
    month = None if q.get("from") or q.get("to") else q.get("month") or None
    period = _read(lambda: parse_period(start=q.get("from"), end=q.get("to"), month=month), errors)
    types = _read(lambda: parse_call_types([q.get("type", "")]), errors)
    number = _read(lambda: parse_partial_number(q["number"]) if q.get("number") else None, errors)
    cost = _read(lambda: parse_comparison(q["cost"], "cost") if q.get("cost") else None, errors)
    duration = _read(
        lambda: (
            parse_comparison(q["duration"], "duration", whole=True) if q.get("duration") else None
        ),
        errors,
    )
    if period is None or types is None or errors:
        return None
    return CallFilter(tenant, period, types, number, cost, duration)


async def _tenant(request: web.Request) -> tuple[str, list[str], str]:
    """The tenant shown, the ones a platform admin may pick, and why another was not."""
    own = await scope.own_tenant(request)
    if own is not None:
        return own.slug, [], ""
    shown, refused = await scope.shown_tenant(request)
    return shown.slug, [t.slug for t in await tenants.list_tenants()], refused


@auth.tenant_admin_allowed
async def calls_page(request: web.Request) -> web.StreamResponse:
    tenant, choices, refused = await _tenant(request)
    q = {k: request.query.get(k, "").strip() for k in _FIELDS}
    errors = no_errors()
    flt = _filter(tenant, q, errors)
    try:
        offset = max(0, int(request.query.get("offset", "0") or 0))
    except ValueError:
        offset = 0
    page = totals = None
    if flt is not None:
        page = await calls.list_calls(flt, offset=offset, limit=PAGE)
        totals = await calls.totals(flt)
    keep = {k: v for k, v in q.items() if v}
    if len(choices) > 0:
        keep["tenant"] = tenant
    return pages.render(
        request,
        "console/calls.html",
        tenant=tenant,
        tenants=choices,
        refused=refused,
        q=q,
        types=[t.value for t in CallType],
        errors=errors,
        period=flt.period.label if flt else "",
        page=page,
        totals=totals,
        offset=offset,
        size=PAGE,
        query=urlencode(keep),
        prev_query=urlencode({**keep, "offset": max(0, offset - PAGE)}),
        next_query=urlencode({**keep, "offset": offset + PAGE}),
    )


@auth.tenant_admin_allowed
async def calls_export(request: web.Request) -> web.StreamResponse:
    tenant, _, refused = await _tenant(request)
    if refused:
        raise web.HTTPNotFound(text=refused)
    q = {k: request.query.get(k, "").strip() for k in _FIELDS}
    errors = no_errors()
    flt = _filter(tenant, q, errors)
    if flt is None:
        field, message = next(iter(errors.items()))
        raise web.HTTPBadRequest(text=f"{field}: {message}")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": (
                f'attachment; filename="calls-{tenant}-{flt.period.start.date()}.csv"'
            ),
        }
    )
    await response.prepare(request)
    await response.write(csv_header().encode())
    async for batch in calls.export(flt):
        await response.write(csv_rows(batch).encode())
    await response.write_eof()
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/calls", calls_page, name="console-calls")
    app.router.add_get("/console/calls/export", calls_export)
