"""The audit log: who changed what, when, before and after."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from provd.domain.errors import InvalidInput
from provd.services.audit import REDACTED
from provd.services.audit import log as audit_log
from provd.web import pages
from provd.web.console.helpers import field_errors, no_errors, when


def _href(f: audit_log.AuditFilter, **changes: object) -> str:
    params = f.params(**changes)
    return "/console/audit?" + urlencode(params) if params else "/console/audit"


async def audit_view(request: web.Request) -> web.StreamResponse:
    errors = no_errors()
    try:
        f = audit_log.parse_filter(request.query)
    except InvalidInput as e:
        errors = field_errors(e)
        f = audit_log.AuditFilter()
    rows, total = await audit_log.search(f)
    pages_count = max(1, -(-total // audit_log.PER_PAGE))
    return pages.render(
        request,
        "console/audit.html",
        f=f,
        values=request.query,
        rows=[(row, audit_log.diff(row.before, row.after)) for row in rows],
        total=total,
        pages_count=pages_count,
        object_types=await audit_log.object_types(),
        prev_href=_href(f, page=f.page - 1) if f.page > 1 else "",
        next_href=_href(f, page=f.page + 1) if f.page < pages_count else "",
        errors=errors,
        redacted=REDACTED,
        when=when,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/audit", audit_view)
