"""The tenant an API request works in, for routes open to tenant admins.

A tenant admin works in its own tenant only: naming another one, in a path, a query
or a body, answers exactly as naming a tenant that does not exist (404). An admin
works in the tenant named, or in every tenant where none is.
"""

from __future__ import annotations

from aiohttp import web

from provd.services.devices.csv_io import scope_tenant
from provd.services.directory.tenants import DEFAULT_TENANT
from provd.web import auth


async def caller_tenant(request: web.Request) -> str | None:
    """A tenant admin's own tenant; None for an admin (every tenant)."""
    return await scope_tenant(request[auth.PRINCIPAL], None)


async def query_tenant(request: web.Request) -> str | None:
    """``?tenant=`` as the caller may see it; None: every tenant (admins only)."""
    return await scope_tenant(request[auth.PRINCIPAL], request.query.get("tenant") or None)


async def path_tenant(request: web.Request) -> str:
    """The ``{tenant}`` of the path, if the caller may see it."""
    scoped = await scope_tenant(request[auth.PRINCIPAL], request.match_info["tenant"])
    if scoped is None:  # pragma: no cover - a path always names one
        raise web.HTTPNotFound()
    return scoped


async def body_tenant(request: web.Request, named: str | None) -> str:
    """The tenant a new object goes to: a tenant admin's own, else the one named or the
    default tenant."""
    return await scope_tenant(request[auth.PRINCIPAL], named) or DEFAULT_TENANT
