"""REST route for the audit log: recent changes, newest first."""

from __future__ import annotations

from aiohttp import web

from provd.services import audit
from provd.web.contract import Api, Param, Reply, query_limit
from provd.web.schemas.audit import AuditRow

api = Api()


@api.route(
    "GET",
    "/audit",
    "Recent changes, newest first",
    ok={200: Reply("Audit rows", list[AuditRow])},
    parameters=[Param("limit", type="integer", description="1 to 1000; default 100")],
)
async def list_audit(request: web.Request) -> web.Response:
    return web.json_response(await audit.recent(query_limit(request, 100, 1000)))


def add_routes(app: web.Application) -> None:
    api.add_to(app)
