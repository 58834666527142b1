"""``/healthz`` and ``/readyz``: what a load balancer asks, without credentials.

``/healthz`` says the process answers and touches nothing else, so a slow database
never makes a supervisor restart a process that is fine. ``/readyz`` runs the checks
of :mod:`provd.services.health`: 200 when all pass, else 503 naming what did not.
"""

from __future__ import annotations

from aiohttp import web

from provd.services import health
from provd.web.api_pbx import PBX
from provd.web.contract import Api, Reply
from provd.web.schemas.health import Alive, Readiness

api = Api(prefix="")
CHECKS = web.AppKey("readiness_checks", health.ReadinessChecks)
_NO_STORE = {"Cache-Control": "no-store"}


@api.route(
    "GET",
    "/healthz",
    "Alive: the process answers (nothing else is checked); no credentials",
    ok={200: Reply("Alive", Alive)},
    errors=(),
    public=True,
)
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"}, headers=_NO_STORE)


@api.route(
    "GET",
    "/readyz",
    "Ready: the database answers and, with a PBX, Kamailio and rtpengine do; no credentials",
    ok={
        200: Reply("Ready", Readiness),
        503: Reply("Not ready: `not_ready` names the checks that failed", Readiness),
    },
    errors=(),
    public=True,
)
async def readyz(request: web.Request) -> web.Response:
    report = await request.app[CHECKS].run()
    return web.json_response(report.view(), status=200 if report.ready else 503, headers=_NO_STORE)


def add_routes(app: web.Application) -> None:
    app[CHECKS] = health.ReadinessChecks(app.get(PBX))
    api.add_to(app)
