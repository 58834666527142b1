"""Numbers: the report of each number's use by block, assign (to a user, a hunt group, a
number plan or an IVR menu) and release, find a number typed in any notation, and (platform admins)
add and remove blocks.

A tenant admin sees and assigns their own tenant's numbers only: another tenant's
number in a path answers as a missing one. Blocks are added and removed by platform
admins, as over the API: numbers come from the platform's carriers.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from provd.domain.errors import InvalidInput, NotFound, ProvdError
from provd.domain.numbers import DEFAULT_COUNTRY, NumberBlock, national_form, parse_number
from provd.domain.routing import TenantRouting, UserRouting, caller_number
from provd.services import announcements, groups, menus, numbers, queues
from provd.services.directory import Tenant, User, tenants, users
from provd.services.numbers import NumberView, UseKind
from provd.services.schedules import routes
from provd.web import auth, pages
from provd.web.auth import ACTOR
from provd.web.console import scope
from provd.web.console.helpers import (
    Errors,
    field_errors,
    form,
    no_errors,
    platform,
    query_flashes,
)

Flashes = list[tuple[str, str]]
BLOCK_SIZES = ("1", "10", "100")
_REDIRECT_FLASHES = (
    ("assigned", "ok", "Number {} assigned."),
    ("released", "ok", "Number {} released: it is unused now."),
    ("added", "ok", "Block from {} added."),
    ("removed", "ok", "Block from {} removed."),
)


@dataclass(frozen=True, slots=True)
class Row:
    view: NumberView
    national: str
    """As dialled in the number's tenant's country."""


@dataclass(frozen=True, slots=True)
class Block:
    tenant: str
    first: str
    count: int
    rows: list[Row]

    @property
    def last(self) -> str:
        return NumberBlock(self.first, self.count).last

    @property
    def unused(self) -> int:
        return sum(1 for r in self.rows if r.view.use is None)


def _blocks(views: list[NumberView], countries: dict[str, str]) -> list[Block]:
    """The numbers grouped by their block, blocks in order of their first number."""
    grouped: dict[tuple[str, str], Block] = {}
    for v in sorted(views, key=lambda v: (v.block_first, v.e164)):
        key = (v.tenant, v.block_first)
        if key not in grouped:
            grouped[key] = Block(v.tenant, v.block_first, v.block_count, [])
        grouped[key].rows.append(Row(v, national_form(v.e164, countries[v.tenant])))
    return list(grouped.values())


async def _find(text: str, scope_slug: str | None, countries: set[str]) -> list[NumberView]:
    """The visible number ``text`` names, read in each country concerned (a tenant
    admin's own; for a platform admin, every tenant's): ``020 123 4567``,
    ``0031201234567`` and ``+31 20 1234567`` find the same number."""
    candidates: list[str] = []
    refusal: InvalidInput | None = None
    for country in sorted(countries):
        try:
            e164 = parse_number(text, country, "q", require_valid=False)
        except InvalidInput as e:
            refusal = refusal or e
            continue
        if e164 not in candidates:
            candidates.append(e164)
    if not candidates:
        raise refusal or InvalidInput("q", "is empty")
    found = []
    for e164 in candidates:
        try:
            found.append(await numbers.get_number(e164, scope_slug))
        except NotFound:
            continue
    return found


async def _page(
    request: web.Request,
    *,
    flashes: Flashes | None = None,
    errors: Errors | None = None,
    error_number: str = "",
    block_values: dict[str, str] | None = None,
) -> web.Response:
    """``error_number``: the number whose assign form ``errors`` belong to."""
    own = await scope.own_tenant(request)
    visible = [own] if own is not None else await tenants.list_tenants()
    countries = {t.slug: t.country for t in visible}
    search = request.query.get("q", "").strip()
    unused = bool(request.query.get("unused"))
    tenant = own.slug if own is not None else request.query.get("tenant", "").strip()
    list_errors = no_errors()
    if tenant and tenant not in countries:
        list_errors["tenant"] = f"tenant {tenant!r} not found"
        tenant = ""
    scope_slug = tenant or None
    if search:
        try:
            wanted = {countries[tenant]} if tenant else set(countries.values())
            views = await _find(search, scope_slug, wanted or {DEFAULT_COUNTRY})
        except InvalidInput as e:
            list_errors[e.field] = e.message
            views = []
    else:
        views = await numbers.list_numbers(scope_slug, unused=unused)
    blocks = _blocks(views, countries)
    shown = {b.tenant for b in blocks}
    users_of = {slug: [u for u, _ in await users.list_users(slug)] for slug in sorted(shown)}
    targets_of = {slug: await _targets(slug) for slug in sorted(shown)}
    return pages.render(
        request,
        "console/numbers.html",
        blocks=blocks,
        total=len(views),
        search=search,
        unused=unused,
        tenant=tenant,
        tenants=sorted(countries),
        users_of=users_of,
        targets_of=targets_of,
        block_sizes=BLOCK_SIZES,
        block_values=block_values or {"tenant": tenant or tenants.DEFAULT_TENANT, "count": "10"},
        errors=errors or no_errors(),
        error_number=error_number,
        list_errors=list_errors,
        flashes=(flashes or []) + query_flashes(request, _REDIRECT_FLASHES),
        kinds=UseKind,
    )


@auth.tenant_admin_allowed
async def numbers_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


async def _scope_slug(request: web.Request) -> str | None:
    own = await scope.own_tenant(request)
    return own.slug if own is not None else None


async def _number(request: web.Request) -> NumberView:
    """The number the path names, if visible; another tenant's is as missing as none."""
    text = request.match_info["number"]
    try:
        return await numbers.get_number(text, await _scope_slug(request))
    except (InvalidInput, NotFound):
        raise web.HTTPNotFound(text=f"no number {text!r}") from None


def _done(key: str, value: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther("/console/numbers?" + urlencode({key: value}))


def _refused(e: ProvdError, what: str) -> tuple[Flashes, Errors]:
    errors = field_errors(e)
    return [("error", f"{what}: {next(iter(errors.values()), '')}")], errors


async def _targets(tenant_slug: str) -> list[tuple[str, str]]:
    """The groups, number plans, menus, announcements and queues a number of the tenant
    can be assigned to, as the assign form's ``target`` values (``group:600``,
    ``route:NAME``, ``menu:700``, ``announcement:800``, ``queue:810``) and their labels."""
    found = [
        (f"{UseKind.GROUP.value}:{g['extension']}", f"group {g['extension']} {g['name']}")
        for g in await groups.list_groups(tenant_slug)
    ]
    found += [
        (f"{UseKind.ROUTE.value}:{r['name']}", f"number plan {r['name']}")
        for r in await routes.list_routes(tenant_slug)
    ]
    found += [
        (f"{UseKind.MENU.value}:{m['extension']}", f"menu {m['extension']} {m['name']}")
        for m in await menus.list_menus(tenant_slug)
    ]
    found += [
        (
            f"{UseKind.ANNOUNCEMENT.value}:{a['extension']}",
            f"announcement {a['extension']} {a['name']}",
        )
        for a in await announcements.list_announcements(tenant_slug)
    ]
    found += [
        (f"{UseKind.QUEUE.value}:{q['extension']}", f"queue {q['extension']} {q['name']}")
        for q in await queues.list_queues(tenant_slug)
    ]
    return found


def _use(values: dict[str, str]) -> dict[str, str | None]:
    """What the assign form names: a user typed, or a group, number plan, menu or queue
    picked."""
    user = values.get("user", "").strip()
    kind, _, key = values.get("target", "").partition(":")
    if not kind:
        return {"user_extension": user}
    if kind not in (
        UseKind.GROUP,
        UseKind.ROUTE,
        UseKind.MENU,
        UseKind.ANNOUNCEMENT,
        UseKind.QUEUE,
    ):
        raise InvalidInput(
            "target",
            f"{kind!r} is not a group, a number plan, a menu, an announcement or a queue",
        )
    if user:
        raise InvalidInput(
            "target", "assign to a user or to a group, plan, menu or queue, not both"
        )
    return {kind: key}


@auth.tenant_admin_allowed
async def assign(request: web.Request) -> web.StreamResponse:
    number = await _number(request)
    values = await form(request)
    try:
        await numbers.assign(
            platform(request),
            request[ACTOR],
            number.e164,
            tenant_slug=await _scope_slug(request),
            **_use(values),
        )
    except ProvdError as e:
        flashes, errors = _refused(e, f"{number.e164} was not assigned")
        return await _page(request, flashes=flashes, errors=errors, error_number=number.e164)
    raise _done("assigned", number.e164)


@auth.tenant_admin_allowed
async def release(request: web.Request) -> web.StreamResponse:
    number = await _number(request)
    try:
        await numbers.release(
            platform(request), request[ACTOR], number.e164, await _scope_slug(request)
        )
    except ProvdError as e:
        return await _page(request, flashes=_refused(e, f"{number.e164} was not released")[0])
    raise _done("released", number.e164)


def _block_size(text: str) -> int:
    if text.strip() not in BLOCK_SIZES:
        raise InvalidInput("count", f"{text!r} is not a block size: 1, 10 or 100")
    return int(text)


async def block_add(request: web.Request) -> web.StreamResponse:
    values = await form(request)
    try:
        tenant = await tenants.get_tenant(values.get("tenant", ""))
        block = await numbers.add_block(
            platform(request),
            request[ACTOR],
            values.get("first", ""),
            _block_size(values.get("count", "")),
            tenant.slug,
            country=tenant.country,
        )
    except ProvdError as e:
        flashes, errors = _refused(e, "The block was not added")
        return await _page(request, flashes=flashes, errors=errors, block_values=values)
    raise _done("added", block.first)


async def block_remove(request: web.Request) -> web.StreamResponse:
    first = request.match_info["first"]
    try:
        block = await numbers.remove_block(platform(request), request[ACTOR], first)
    except ProvdError as e:
        return await _page(request, flashes=_refused(e, f"The block from {first} was kept")[0])
    raise _done("removed", block.first)


# --- a user's numbers, for the user page ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallerId:
    """What a user's calls to the telephone network present."""

    numbers: list[Row]
    number: str | None
    national: str
    source: str
    """Where ``number`` comes from: the user's own number or the tenant's main number."""
    hidden: bool


async def caller_id(tenant: Tenant, user: User) -> CallerId:
    """The user's numbers and the caller ID they present, by routing's own rule."""
    owned = await numbers.list_numbers(tenant.slug)
    mine = [
        v
        for v in owned
        if v.use is not None and v.use.kind is UseKind.USER and v.use.key == user.extension
    ]
    number = caller_number(
        TenantRouting(
            tenant.slug,
            tenant.sip_domain,
            country=tenant.country,
            main_number=tenant.main_number,
            numbers={v.e164: None for v in owned},
        ),
        UserRouting(user.extension, numbers=tuple(v.e164 for v in mine)),
    )
    if number is None:
        source = ""
    elif number in {v.e164 for v in mine}:
        source = "the user's own number"
    else:
        source = "the tenant's main number"
    return CallerId(
        numbers=[Row(v, national_form(v.e164, tenant.country)) for v in mine],
        number=number,
        national=national_form(number, tenant.country) if number else "",
        source=source,
        hidden=user.hide_caller_id,
    )


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/numbers", numbers_page)
    r.add_post("/console/numbers/blocks", block_add)
    r.add_post("/console/numbers/blocks/{first}/remove", block_remove)
    r.add_post("/console/numbers/{number}/assign", assign)
    r.add_post("/console/numbers/{number}/release", release)
