"""Console accounts and API tokens (scoped, expiring, shown once).

Platform admins manage every account and token. A tenant admin manages the
installer and tenant-admin accounts of their own tenant and its installer
tokens (see :meth:`provd.domain.access.Principal.may_manage_token`); anything
else is as missing to them as an unknown name.
"""

from __future__ import annotations

from aiohttp import web

from provd.domain.access import Role
from provd.domain.errors import InvalidInput, ProvdError
from provd.domain.passwords import generate_password
from provd.services.access import accounts, tokens
from provd.services.directory import tenants
from provd.web import auth, pages
from provd.web.auth import ACTOR, SESSION
from provd.web.console import scope
from provd.web.console.helpers import Errors, field_errors, form, no_errors, when

Flashes = list[tuple[str, str]]
_PASSWORD_LENGTH = 20


def _default_role(request: web.Request) -> str:
    """What the forms offer first: the widest role this principal may hand out."""
    return Role.ADMIN.value if scope.principal(request).is_admin else Role.INSTALLER.value


async def _page(
    request: web.Request,
    *,
    flashes: Flashes | None = None,
    account_values: dict[str, str] | None = None,
    account_errors: Errors | None = None,
    token_values: dict[str, str] | None = None,
    token_errors: Errors | None = None,
    shown_once: tuple[str, str, str] | None = None,
) -> web.Response:
    """``shown_once``: (what, whose, the secret) to show this one time."""
    by = scope.principal(request)
    own = await scope.own_tenant(request)
    first = _default_role(request)
    return pages.render(
        request,
        "console/access.html",
        accounts=await accounts.list_accounts(by),
        tokens=await tokens.list_tokens(by),
        tenants=[t.slug for t in await tenants.list_tenants()] if own is None else [],
        account_roles=[r.value for r in Role if by.may_manage_account(r, by.tenant_id)],
        token_roles=[r.value for r in Role if by.may_manage_token(r, by.tenant_id)],
        me=request[SESSION].username,
        flashes=flashes or [],
        account_values=account_values or {"role": first},
        account_errors=account_errors or no_errors(),
        token_values=token_values or {"role": first, "days": "90"},
        token_errors=token_errors or no_errors(),
        shown_once=shown_once,
        when=when,
    )


@auth.tenant_admin_allowed
async def access_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def _refusal(e: ProvdError, what: str = "") -> tuple[Flashes, Errors]:
    """The flash saying why (``what`` did not happen), and the errors by field for a form."""
    errors = field_errors(e)
    return [("error", what + next(iter(errors.values()), ""))], errors


@auth.tenant_admin_allowed
async def account_add(request: web.Request) -> web.StreamResponse:
    values = await form(request)
    password = generate_password(_PASSWORD_LENGTH)
    try:
        account = await accounts.add_account(
            request[ACTOR],
            values.get("username", ""),
            password,
            role=values.get("role") or _default_role(request),
            tenant_slug=values.get("tenant") or None,
            display_name=values.get("display_name", ""),
            by=scope.principal(request),
        )
    except ProvdError as e:
        flashes, errors = _refusal(e, "The account was not added: ")
        return await _page(request, flashes=flashes, account_values=values, account_errors=errors)
    return await _page(
        request,
        flashes=[("ok", f"Account {account.username} added.")],
        shown_once=("Password", account.username, password),
    )


@auth.tenant_admin_allowed
async def account_password(request: web.Request) -> web.StreamResponse:
    username = request.match_info["username"]
    password = generate_password(_PASSWORD_LENGTH)
    try:
        await accounts.set_password(request[ACTOR], username, password, by=scope.principal(request))
    except ProvdError as e:
        return await _page(request, flashes=_refusal(e)[0])
    return await _page(
        request,
        flashes=[("ok", f"New password for {username}; its sessions were signed out.")],
        shown_once=("New password", username, password),
    )


@auth.tenant_admin_allowed
async def account_remove(request: web.Request) -> web.StreamResponse:
    username = request.match_info["username"]
    try:
        if accounts.check_username(username) == request[SESSION].username:
            raise InvalidInput("username", "you cannot remove your own account")
        await accounts.remove_account(request[ACTOR], username, by=scope.principal(request))
    except ProvdError as e:
        return await _page(request, flashes=_refusal(e)[0])
    return await _page(request, flashes=[("ok", f"Account {username} removed.")])


@auth.tenant_admin_allowed
async def token_create(request: web.Request) -> web.StreamResponse:
    values = await form(request)
    try:
        days_text = values.get("days", "").strip()
        if days_text and not days_text.isdigit():
            raise InvalidInput("days", "must be a number of days (empty: never expires)")
        name = values.get("name", "")
        value = await tokens.create_token(
            request[ACTOR],
            name,
            role=values.get("role") or _default_role(request),
            days=int(days_text) if days_text else None,
            tenant_slug=values.get("tenant") or None,
            by=scope.principal(request),
        )
    except ProvdError as e:
        flashes, errors = _refusal(e, "No token was created: ")
        return await _page(request, flashes=flashes, token_values=values, token_errors=errors)
    return await _page(
        request,
        flashes=[("ok", f"Token {name.strip()} created.")],
        shown_once=("API token", name.strip(), value),
    )


@auth.tenant_admin_allowed
async def token_revoke(request: web.Request) -> web.StreamResponse:
    token_id = request.match_info["token_id"]
    try:
        if not token_id.isdigit():
            raise InvalidInput("id", f"{token_id!r} is not a token id")
        await tokens.revoke_token(request[ACTOR], int(token_id), by=scope.principal(request))
    except ProvdError as e:
        return await _page(request, flashes=_refusal(e)[0])
    return await _page(request, flashes=[("ok", f"Token {token_id} revoked.")])


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/access", access_page)
    r.add_post("/console/access/accounts", account_add)
    r.add_post("/console/access/accounts/{username}/password", account_password)
    r.add_post("/console/access/accounts/{username}/remove", account_remove)
    r.add_post("/console/access/tokens", token_create)
    r.add_post("/console/access/tokens/{token_id}/revoke", token_revoke)
