"""Confining console pages to what the signed-in principal administers.

Platform admins see every tenant. A tenant admin reaches only the handlers
marked :func:`provd.web.auth.tenant_admin_allowed`, and those ask here for the
tenant, device or user a path names: another tenant's object is answered with
the very error an unknown one gets, so a path tells nothing about other tenants.
"""

from __future__ import annotations

from aiohttp import web

from provd.domain.access import Principal
from provd.domain.errors import NotFound
from provd.services.directory import Tenant, tenants
from provd.web import auth


def principal(request: web.Request) -> Principal:
    return request[auth.PRINCIPAL]


def administers(request: web.Request, tenant_id: int | None) -> bool:
    return principal(request).administers(tenant_id)


async def own_tenant(request: web.Request) -> Tenant | None:
    """The tenant a tenant admin is confined to; None for a platform admin."""
    who = principal(request)
    if who.is_admin:
        return None
    if who.tenant_id is None:  # check_scope makes this impossible; refuse, not widen
        raise web.HTTPForbidden(text="this account belongs to no tenant")
    return await tenants.tenant_by_id(who.tenant_id)


async def tenant_named(request: web.Request, slug: str, *, field: str = "tenant") -> Tenant:
    """The tenant ``slug`` names, if the principal administers it; else as if unknown."""
    own = await own_tenant(request)
    if own is None:
        return await tenants.get_tenant(slug, field=field)
    # Compared before any look-up: the answer is the same whether the slug exists.
    if slug.strip().lower() != own.slug:
        raise NotFound("tenant", slug, field=field)
    return own


async def shown_tenant(request: web.Request) -> tuple[Tenant, str]:
    """The tenant a page of one tenant's things shows, and why another was not: a
    tenant admin's own whatever is asked; for a platform admin the ``?tenant=`` named,
    else (or if it does not exist) the default tenant."""
    own = await own_tenant(request)
    if own is not None:
        return own, ""
    named = request.query.get("tenant", "").strip()
    if named:
        try:
            return await tenants.get_tenant(named), ""
        except NotFound as e:
            return await tenants.get_tenant(tenants.DEFAULT_TENANT), f"{e.kind} {e.key!r} not found"
    return await tenants.get_tenant(tenants.DEFAULT_TENANT), ""


async def path_tenant(request: web.Request) -> Tenant:
    """The ``{tenant}`` of a console path, if the principal administers it; else 404, as
    a tenant that does not exist."""
    try:
        return await tenant_named(request, request.match_info["tenant"])
    except NotFound as e:
        raise web.HTTPNotFound(text=str(e)) from e
