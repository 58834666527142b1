"""Fleet view: every device with status, drift, search, filters and pages."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from aiohttp import web

from provd.domain.errors import InvalidInput, NotFound
from provd.services.devices import fleet
from provd.web import api_pbx, auth, pages
from provd.web.console import scope
from provd.web.console.helpers import mac_text, no_errors, when


def _href(query: fleet.FleetQuery, **changes: object) -> str:
    params = query.params(**changes)
    return "/console/?" + urlencode(params) if params else "/console/"


def _sort_links(query: fleet.FleetQuery) -> dict[str, tuple[str, str]]:
    """Per column, the link that sorts by it and the aria-sort of its header."""
    out = {}
    for column in fleet.Sort:
        if query.sort is column:
            href = _href(query, descending=not query.descending, page=1)
            state = "descending" if query.descending else "ascending"
        else:
            href = _href(query, sort=column, descending=False, page=1)
            state = "none"
        out[column.value] = (href, state)
    return out


@auth.tenant_admin_allowed
async def fleet_view(request: web.Request) -> web.StreamResponse:
    flashes: list[tuple[str, str]] = []
    errors = no_errors()
    try:
        query = fleet.parse_query(request.query)
    except InvalidInput as e:
        errors[e.field] = e.message
        query = fleet.FleetQuery()
    own = await scope.own_tenant(request)
    tenant_id = own.id if own is not None else None
    if own is not None:
        # A tenant admin's fleet is their tenant's: the tenant filter is not theirs to set.
        query = replace(query, tenant="")
    registrations, why = await api_pbx.all_registrations(request)
    if why:
        flashes.append(("warn", why))
    try:
        page = await fleet.fleet_page(query, registrations, tenant_id=tenant_id)
    except NotFound as e:
        errors[e.field or "tenant"] = f"{e.kind} {e.key!r} not found"
        query = fleet.FleetQuery()
        page = await fleet.fleet_page(query, registrations, tenant_id=tenant_id)
    flashes += [("warn", note) for note in page.notes]
    if request.query.get("removed"):
        flashes.append(("ok", "The device was removed."))
    tenants, models = await fleet.filter_choices()
    if own is not None:
        tenants = []
    rollout_filter = {k: v for k, v in (("model", query.model), ("tenant", query.tenant)) if v}
    return pages.render(
        request,
        "console/fleet.html",
        page=page,
        query=query,
        tenants=tenants,
        models=models,
        statuses=[s.value for s in fleet.Status],
        per_page_choices=fleet.PER_PAGE_CHOICES,
        sort_links=_sort_links(query),
        prev_href=_href(query, page=query.page - 1) if query.page > 1 else "",
        next_href=_href(query, page=query.page + 1) if query.page < page.pages else "",
        status_href={
            "registered": _href(
                fleet.FleetQuery(tenant=query.tenant, status=fleet.Status.REGISTERED)
            ),
            "unregistered": _href(
                fleet.FleetQuery(tenant=query.tenant, status=fleet.Status.UNREGISTERED)
            ),
            "never": _href(
                fleet.FleetQuery(tenant=query.tenant, status=fleet.Status.NEVER_FETCHED)
            ),
            "drift": _href(fleet.FleetQuery(tenant=query.tenant, drift=True)),
            "all": _href(fleet.FleetQuery(tenant=query.tenant)),
        },
        rollout_all_href="/console/rollouts/new?" + urlencode(rollout_filter)
        if rollout_filter and own is None
        else "",
        scoped=own is not None,
        errors=errors,
        flashes=flashes,
        when=when,
        mac_text=mac_text,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/", fleet_view)
