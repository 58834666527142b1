"""``/metrics`` for Prometheus, and the hooks that count every request.

``/metrics`` takes an admin's API token (``Authorization: Bearer …``), checked by the
auth middleware like any API call: Prometheus scrapes from another host as a rule,
and provd's tokens can be named, expired and revoked, with an audit row each time.
What it shows is defined in :mod:`provd.services.metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from provd.services import metrics
from provd.services.metrics import RouteClass
from provd.services.queues.media import media_dir_of
from provd.web import auth, phone
from provd.web.api_pbx import PBX
from provd.web.app_keys import PLATFORM
from provd.web.contract import Api, Reply

PATH = auth.METRICS_PATH
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

api = Api(prefix="")
_PHONE_HANDLERS = frozenset({phone.phone_file, phone.firmware_file})
_CONSOLE_PATHS = frozenset({"/", "/login", "/logout", "/console", "/install"})


@api.route(
    "GET",
    PATH,
    "Prometheus metrics, in the text exposition format (OpenMetrics when asked for); "
    "an admin's API token",
    ok={200: Reply("The metrics", media_type="text/plain", schema={"type": "string"})},
    errors=(401, 403),
)
async def scrape(request: web.Request) -> web.Response:
    body, content_type = await metrics.exposition(
        request.app.get(PBX),
        request.headers.get("Accept", ""),
        media_dir=media_dir_of(request.app[PLATFORM]),
    )
    return web.Response(body=body, headers={"Content-Type": content_type})


def route_class(request: web.Request) -> RouteClass:
    """What the request was for, by the route that took it (a phone's file) or its path."""
    if request.match_info.handler in _PHONE_HANDLERS:
        return RouteClass.PHONE
    path = request.path
    if path.startswith("/api/"):
        return RouteClass.API
    if path.startswith("/static/"):
        return RouteClass.STATIC
    if path in _CONSOLE_PATHS or path.startswith(("/console/", "/install/")):
        return RouteClass.CONSOLE
    return RouteClass.OTHER


_STARTED = web.RequestKey("started", float)


@web.middleware
async def stamp_start(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost, so the time it keeps covers every other middleware too."""
    request[_STARTED] = time.perf_counter()
    return await handler(request)


async def count_response(request: web.Request, response: web.StreamResponse) -> None:
    """On response prepare: the status as sent, whatever produced it (a handler, an
    HTTP exception, aiohttp's own 500, a firmware file's 206 or 304 settled only now)."""
    metrics.http_request(route_class(request), response.status)
    if (
        response.status == 200
        and request.match_info.handler is phone.phone_file
        and _STARTED in request
    ):
        metrics.phone_fetch(time.perf_counter() - request[_STARTED])


add_routes = api.add_to
