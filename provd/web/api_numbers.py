"""REST routes for number blocks and the use of each number.

Tenant admins list, assign and release their own tenant's numbers: another tenant's
number answers exactly as one that does not exist. Adding and removing blocks is
the platform's (admins only), as numbers come from the platform's carriers.
"""

from __future__ import annotations

from aiohttp import web

from provd.domain.errors import InvalidInput
from provd.services import numbers
from provd.services.devices.csv_io import scope_tenant
from provd.services.directory.tenants import DEFAULT_TENANT
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.contract import Api, Param, Reply
from provd.web.schemas.numbers import AssignIn, Number, NumberBlock, NumberBlockIn

api = Api()
_NUMBER = Param("number", "path", required=True, description="E.164 or any notation")


async def _scope(request: web.Request, requested: str | None = None) -> str | None:
    """The caller's own tenant for a tenant admin, else what an admin named (or all)."""
    return await scope_tenant(request[auth.PRINCIPAL], requested)


def _flag(text: str | None, *, field: str) -> bool:
    if text is None or text.lower() in ("0", "false", "no"):
        return False
    if text.lower() in ("", "1", "true", "yes"):
        return True
    raise InvalidInput(field, f"{text!r}: use true or false")


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/numbers",
    "Numbers with what each is used for, by number (a tenant admin's own tenant only)",
    ok={200: Reply("Numbers", list[Number])},
    parameters=[
        Param("tenant", description="Only this tenant's"),
        Param("unused", type="boolean", description="Only numbers nothing uses"),
    ],
)
async def list_numbers(request: web.Request) -> web.Response:
    tenant = await _scope(request, request.query.get("tenant") or None)
    unused = _flag(request.query.get("unused"), field="unused")
    views = await numbers.list_numbers(tenant, unused=unused)
    return web.json_response([v.as_dict() for v in views])


@api.with_body(
    "POST",
    "/number-blocks",
    "Add a block of 1, 10 or 100 numbers to a tenant (all of them or none)",
    NumberBlockIn,
    ok={201: Reply("Added", NumberBlock)},
)
async def add_block(request: web.Request, body: NumberBlockIn) -> web.Response:
    tenant = body.tenant or DEFAULT_TENANT
    block = await numbers.add_block(
        request.app[PLATFORM], request[auth.ACTOR], body.first, body.count, tenant
    )
    view = {"tenant": tenant, "first": block.first, "last": block.last, "count": block.count}
    return web.json_response(view, status=201)


@api.route(
    "DELETE",
    "/number-blocks/{first}",
    "Remove the block starting at this number; refused while any of its numbers is in use",
    ok={204: Reply("Removed")},
    parameters=[Param("first", "path", required=True, description="The block's first number")],
)
async def remove_block(request: web.Request) -> web.Response:
    await numbers.remove_block(
        request.app[PLATFORM], request[auth.ACTOR], request.match_info["first"]
    )
    return web.Response(status=204)


@auth.tenant_admin_allowed
@api.with_body(
    "POST",
    "/numbers/{number}/assign",
    "Attach an unused number to a user, a hunt group, a scheduled route, an IVR menu, an"
    " announcement or a call queue of its tenant",
    AssignIn,
    ok={200: Reply("The number", Number)},
    parameters=[_NUMBER],
)
async def assign(request: web.Request, body: AssignIn) -> web.Response:
    view = await numbers.assign(
        request.app[PLATFORM],
        request[auth.ACTOR],
        request.match_info["number"],
        body.user,
        await _scope(request),
        group=body.group,
        route=body.route,
        menu=body.menu,
        announcement=body.announcement,
        queue=body.queue,
    )
    return web.json_response(view.as_dict())


@auth.tenant_admin_allowed
@api.route(
    "POST",
    "/numbers/{number}/release",
    "Detach a number from what uses it; it stays the tenant's, unused",
    ok={200: Reply("The number", Number)},
    parameters=[_NUMBER],
)
async def release(request: web.Request) -> web.Response:
    view = await numbers.release(
        request.app[PLATFORM],
        request[auth.ACTOR],
        request.match_info["number"],
        await _scope(request),
    )
    return web.json_response(view.as_dict())


add_routes = api.add_to
