"""Who is asking: sessions for browsers, bearer tokens for scripts, CSRF, roles.

One middleware decides for every request outside the phone paths:

- ``/api/v1/…``: a bearer token, or a browser session (then unsafe methods need
  the session's CSRF token in ``X-CSRF-Token``). Admin only, unless the route's
  handler was marked with :func:`installer_allowed` (installers and tenant
  admins) or :func:`tenant_admin_allowed` (tenant admins): deny by default.
- ``/metrics``: as an API route (an admin's token, or an admin's browser session).
- ``/console/…``: a signed-in admin, or a tenant admin for a handler marked
  :func:`tenant_admin_allowed`; ``/install/…``: any signed-in role.
  Unsafe methods need the CSRF token (form field ``csrf_token`` or the header).

A marked handler is opened to a tenant-bound role; scoping every query to
``request[PRINCIPAL].tenant_id`` remains the handler's job.
- everything else (phones, ``/login``, ``/static``, ``/healthz``, ``/readyz``) passes
  through untouched.

Error responses of the API keep its JSON shape; pages redirect to the sign-in.
"""

from __future__ import annotations

import hmac
import string
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from aiohttp import web

from provd.domain.access import Principal, Role
from provd.services import audit
from provd.services.access import accounts, tokens

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_PREFIX = "/api/v1/"
METRICS_PATH = "/metrics"
SESSION_COOKIE = "provd_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

PRINCIPAL = web.RequestKey("principal", Principal)
SESSION = web.RequestKey("session", accounts.ActiveSession)
ACTOR = web.RequestKey("actor", audit.Actor)

_INSTALLER_HANDLERS: set[Handler] = set()
_TENANT_ADMIN_HANDLERS: set[Handler] = set()


def installer_allowed(handler: Handler) -> Handler:
    """Mark a route handler as open to installers (it must scope to their tenant).

    Tenant admins may call it too: they act for their tenant as installers do.
    """
    _INSTALLER_HANDLERS.add(handler)
    return handler


def installer_may_call(handler: object) -> bool:
    return handler in _INSTALLER_HANDLERS


def tenant_admin_allowed(handler: Handler) -> Handler:
    """Mark a console page or API handler as open to tenant admins.

    The handler must scope to ``request[PRINCIPAL].tenant_id``, and another
    tenant's object must look exactly like a missing one.
    """
    _TENANT_ADMIN_HANDLERS.add(handler)
    return handler


def tenant_admin_may_call(handler: object) -> bool:
    return handler in _TENANT_ADMIN_HANDLERS


def may_call(principal: Principal, handler: object, *, console: bool = False) -> bool:
    """Whether the role reaches the handler at all (deny by default).

    ``console``: a console page, which installers never open whatever the marks.
    """
    if principal.role is Role.ADMIN:
        return True
    if principal.role is Role.TENANT_ADMIN:
        return tenant_admin_may_call(handler) or (not console and installer_may_call(handler))
    return not console and installer_may_call(handler)


def api_error(status: int, message: str, field: str | None = None) -> web.Response:
    body: dict[str, object] = {"message": message}
    if field is not None:
        body["field"] = field
    return web.json_response({"error": body}, status=status)


def _same_origin(request: web.Request) -> bool:
    # Browsers send Origin on every cross-site POST; a mismatch is a forgery even
    # if the CSRF token somehow leaked. No Origin (curl, old browsers) falls back
    # to the token alone.
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.host


async def _csrf_ok(request: web.Request, expected: str) -> bool:
    if not _same_origin(request):
        return False
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else ""
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


REQUEST_ID = web.RequestKey("request_id", str)
_CLIENT_ID_CHARS = frozenset(string.ascii_letters + string.digits + "-_.:/+=@")


def request_id(request: web.Request) -> str:
    """provd's id for this request, always made here: an id the client chose could
    pass one request off as another in the audit log."""
    if REQUEST_ID not in request:
        request[REQUEST_ID] = uuid.uuid4().hex
    return request[REQUEST_ID]


def client_request_id(request: web.Request) -> str | None:
    """The client's own ``X-Request-Id``, kept beside ours if it is a plain token."""
    given = request.headers.get("X-Request-Id", "").strip()
    if not given or len(given) > 64 or not set(given) <= _CLIENT_ID_CHARS:
        return None
    return given


def _actor(request: web.Request, name: str) -> audit.Actor:
    return audit.Actor(name, request_id(request), client_request_id(request))


async def _session(request: web.Request) -> accounts.ActiveSession | None:
    token = request.cookies.get(SESSION_COOKIE, "")
    return await accounts.resume(token) if token else None


async def _api(request: web.Request, handler: Handler) -> web.StreamResponse:
    principal: Principal | None = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        row = await tokens.authenticate(header[7:])
        principal = tokens.principal_for(row) if row is not None else None
    elif (session := await _session(request)) is not None:
        if request.method not in _SAFE and not await _csrf_ok(request, session.csrf_token):
            return api_error(403, "CSRF token missing or wrong (send X-CSRF-Token)")
        request[SESSION] = session
        principal = session.principal
    if principal is None:
        response = api_error(401, "a valid API token is required (Authorization: Bearer …)")
        response.headers["WWW-Authenticate"] = 'Bearer realm="provd"'
        return response
    if not may_call(principal, request.match_info.handler):
        return api_error(403, f"the {principal.role} role may not do this")
    request[PRINCIPAL] = principal
    request[ACTOR] = _actor(request, principal.name)
    return await handler(request)


def _sign_in_redirect(request: web.Request) -> web.HTTPSeeOther:
    return web.HTTPSeeOther("/login?next=" + quote(request.path_qs, safe="/?=&"))


async def _page(request: web.Request, handler: Handler, console: bool) -> web.StreamResponse:
    session = await _session(request)
    if session is None:
        if request.method in _SAFE:
            raise _sign_in_redirect(request)
        raise web.HTTPForbidden(text="your session has ended: sign in again")
    principal = session.principal
    if console and not may_call(principal, request.match_info.handler, console=True):
        raise web.HTTPForbidden(text=f"the {principal.role} role may not open this page")
    if request.method not in _SAFE and not await _csrf_ok(request, session.csrf_token):
        raise web.HTTPForbidden(text="CSRF token missing or wrong: reload the page and try again")
    request[SESSION] = session
    request[PRINCIPAL] = session.principal
    request[ACTOR] = _actor(request, session.principal.name)
    return await handler(request)


# A year, without includeSubDomains or preload: provd may share its domain with hosts
# that are not its to put on HTTPS.
HSTS = "max-age=31536000"


def _harden(request: web.Request, response: web.StreamResponse) -> None:
    # Pages load only their own scripts and styles: no inline script can run even
    # if some value escaped escaping. Camera frames come in as blob:/mediastream.
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
        "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cache-Control", "no-store")
    if request.secure:
        # Sent only over TLS, as RFC 6797 says; a browser then never signs in over
        # plain HTTP (serve --http-port, meant for phones) nor clicks past a bad certificate.
        response.headers.setdefault("Strict-Transport-Security", HSTS)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if path.startswith(API_PREFIX):
        if path == API_PREFIX + "openapi.json":
            return await handler(request)
        return await _api(request, handler)
    if path == METRICS_PATH:
        return await _api(request, handler)
    console = path.startswith("/console/") or path == "/console"
    installer = path.startswith("/install/") or path == "/install"
    if not (console or installer or path in ("/", "/login", "/logout")):
        return await handler(request)  # phones, firmware, static files
    try:
        if console or installer:
            response = await _page(request, handler, console=console)
        else:
            response = await handler(request)
    except web.HTTPException as e:
        _harden(request, e)
        raise
    _harden(request, response)
    return response
