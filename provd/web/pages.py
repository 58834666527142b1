"""Server-rendered pages: the Jinja2 environment, sign-in and sign-out, static files.

Console (``/console``) and installer (``/install``) pages live in their own
modules and render through :func:`render`, which hands every template the
principal, the CSRF token and the navigation its role may see.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from provd.domain.access import Principal, Role
from provd.security.ratelimit import client_key
from provd.services.access import accounts
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.phone import client_ip

_HERE = Path(__file__).parent
STATIC_DIR = _HERE / "static"
LOGIN_CSRF_COOKIE = "provd_login_csrf"
GUARD = web.AppKey("sign_in_guard", accounts.SignInGuard)

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

_ALL = frozenset(Role)
_ADMINS = frozenset({Role.ADMIN, Role.TENANT_ADMIN})
_PLATFORM = frozenset({Role.ADMIN})

# (path, label, the roles that see it); tenant admins' pages are scoped to their tenant.
NAVIGATION: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("/console/", "Fleet", _ADMINS),
    ("/console/users", "Users", _ADMINS),
    ("/console/numbers", "Numbers", _ADMINS),
    ("/console/groups", "Groups", _ADMINS),
    ("/console/menus", "Menus", _ADMINS),
    ("/console/announcements", "Announcements", _ADMINS),
    ("/console/queues", "Queues", _ADMINS),
    ("/console/sounds", "Sounds", _ADMINS),
    ("/console/voicemail", "Voicemail", _ADMINS),
    ("/console/schedules", "Schedules", _ADMINS),
    ("/console/codes", "Service codes", _ADMINS),
    ("/console/trunks", "Trunks", _ADMINS),
    ("/console/carriers", "Carriers", _PLATFORM),
    ("/console/rates", "Rates", _ADMINS),
    ("/console/calls", "Calls", _ADMINS),
    ("/console/tenants", "Tenants", _PLATFORM),
    ("/console/tenants", "Tenant", frozenset({Role.TENANT_ADMIN})),
    ("/console/layouts", "Key layouts", _ADMINS),
    ("/console/firmware", "Firmware", _PLATFORM),
    ("/console/rollouts", "Rollouts", _PLATFORM),
    ("/console/audit", "Audit log", _PLATFORM),
    ("/console/access", "Accounts & tokens", _ADMINS),
    ("/install/", "Installer", _ALL),
    ("/install/devices", "Devices CSV", _ALL),
    ("/install/sheet", "Claim sheet", _ALL),
)


def navigation(principal: Principal) -> list[tuple[str, str]]:
    return [(path, label) for path, label, roles in NAVIGATION if principal.role in roles]


def render(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    """A page for the signed-in principal (``auth`` put it on the request)."""
    session = request[auth.SESSION]
    body = environment.get_template(template).render(
        principal=session.principal,
        username=session.username,
        display_name=session.display_name or session.username,
        csrf_token=session.csrf_token,
        nav=navigation(session.principal),
        current_path=request.path,
        **context,
    )
    return web.Response(text=body, content_type="text/html", status=status)


def _safe_next(value: str | None, fallback: str) -> str:
    # Only local paths: "next" must not turn the sign-in into an open redirect.
    if not value or not value.startswith("/") or value.startswith("//"):
        return fallback
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or "\\" in value:
        return fallback
    return value


def _home(principal: Principal) -> str:
    return "/install/" if principal.role is Role.INSTALLER else "/console/"


def _login_page(
    request: web.Request, *, error: str = "", username: str = "", status: int = 200
) -> web.Response:
    token = secrets.token_urlsafe(24)
    body = environment.get_template("login.html").render(
        error=error,
        username=username,
        csrf_token=token,
        next=_safe_next(request.query.get("next"), ""),
    )
    response = web.Response(text=body, content_type="text/html", status=status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, secure=True, httponly=True, samesite="Strict", path="/login"
    )
    return response


async def root(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(auth.SESSION_COOKIE, "")
    session = await accounts.resume(token) if token else None
    raise web.HTTPSeeOther(_home(session.principal) if session else "/login")


async def login_form(request: web.Request) -> web.StreamResponse:
    return _login_page(request)


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = form.get("username")
    password = form.get("password")
    given = form.get(auth.CSRF_FIELD)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if (
        not isinstance(given, str)
        or not expected
        or not secrets.compare_digest(given, expected)
        or request.headers.get("Origin", f"https://{request.host}").split("://", 1)[-1]
        != request.host
    ):
        return _login_page(request, error="The form expired: please sign in again.")
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        return _login_page(request, error="Enter a username and a password.")
    try:
        signed_in = await accounts.sign_in(
            request.app[GUARD], username, password, client_key(client_ip(request))
        )
    except accounts.SignInRefused as e:
        # 200 with the reason on the form: an error status would only add a console
        # error in the browser; the session cookie is what tells success.
        response = _login_page(request, error=e.message, username=username)
        if e.retry_after:
            response.headers["Retry-After"] = str(e.retry_after)
        return response
    next_value = form.get("next")
    target = _safe_next(next_value if isinstance(next_value, str) else None, "")
    response = web.HTTPSeeOther(target or _home(signed_in.principal))
    response.set_cookie(
        auth.SESSION_COOKIE,
        signed_in.session_token,
        secure=True,
        httponly=True,
        samesite="Strict",
        path="/",
        max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
    )
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(auth.SESSION_COOKIE, "")
    session = await accounts.resume(token) if token else None
    if session is not None:
        form = await request.post()
        given = form.get(auth.CSRF_FIELD)
        if not isinstance(given, str) or not secrets.compare_digest(given, session.csrf_token):
            raise web.HTTPForbidden(text="CSRF token missing or wrong: reload the page")
        await accounts.sign_out(token)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(auth.SESSION_COOKIE, path="/")
    raise response


@auth.tenant_admin_allowed
async def _to_console(request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect("/console/")


async def _to_install(request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect("/install/")


def add_routes(app: web.Application) -> None:
    app[GUARD] = accounts.SignInGuard(app[PLATFORM].limiters)
    r = app.router
    r.add_get("/", root)
    r.add_get("/login", login_form)
    r.add_post("/login", login)
    r.add_post("/logout", logout)
    # Registered before the phone routes, whose one-segment pattern would take these.
    r.add_get("/console", _to_console)
    r.add_get("/install", _to_install)
    r.add_static("/static/", STATIC_DIR, append_version=True)
