"""The REST API under /api/v1: JSON in and out, bearer-token authentication.

What the ``api_<aggregate>`` modules share: the middleware that maps domain errors to
JSON 4xx answers, and the OpenAPI document made from every module's routes. Each
route is declared with its models (provd/web/contract.py, provd/web/schemas/).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from provd.domain.errors import Conflict, InvalidInput, NotFound, Throttled
from provd.web import auth, openapi
from provd.web.contract import PREFIX, error_response

__all__ = ["PREFIX", "add_routes", "api_middleware"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request ids and the mapping of domain errors to JSON 4xx (outside the auth check)."""
    if not request.path.startswith(PREFIX + "/"):
        return await handler(request)
    request_id = auth.request_id(request)
    response: web.StreamResponse
    try:
        response = await handler(request)
    except Throttled as e:
        response = error_response(429, e.message, e.field)
        response.headers["Retry-After"] = str(e.retry_after)
    except Conflict as e:
        response = error_response(409, e.message, e.field)
    except InvalidInput as e:
        row = {"row": e.row} if e.row is not None else {}
        response = error_response(400, e.message, e.field, **row)
    except NotFound as e:
        response = error_response(404, str(e), e.field)
    response.headers["X-Request-Id"] = request_id
    return response


async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(openapi.document())


def add_routes(app: web.Application) -> None:
    app.router.add_get(PREFIX + "/openapi.json", openapi_document)
