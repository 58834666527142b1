"""The loopback endpoint Kamailio asks for each initial INVITE's route plan.

Kamailio's ``http_client`` POSTs the call's facts as a form (each value hex-encoded
by the cfg with ``{s.encode.hexa}``, so no header text can break the form) with
HTTP Basic credentials from ``provd-local.cfg``; the answer is the plan document of
:func:`provd.domain.routing.plan_to_json` on one line. Answered from the in-memory
routing table only: no database query per call.

A request without the token gets 401, a malformed one 400 (the cfg turns every
non-200 into ``503 Routing unavailable``: a call is never routed on a guess).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import time
from datetime import UTC, datetime
from typing import Literal

from aiohttp import web

from provd.domain.routing import Reject, plan_to_json
from provd.domain.routing_table import CallRequest
from provd.services.routing import LiveTable

log = logging.getLogger("provd.routing")

ROUTE_PATH = "/route"
ROUTE_USER = "kamailio"
MAX_BODY = 8192
_FIELDS = ("ru", "tu", "fu", "fn", "pai", "privacy", "domain", "ext")
_LIVE_TABLE = web.AppKey("live_table", LiveTable)
_TOKEN = web.AppKey("route_token", str)


def make_routing_app(table: LiveTable, token: str) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[_LIVE_TABLE] = table
    app[_TOKEN] = token
    app.router.add_post(ROUTE_PATH, route_call)
    return app


def _authorized(request: web.Request) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = request.app[_TOKEN]
    return hmac.compare_digest(f"{user}:{password}", f"{ROUTE_USER}:{expected}")


def _hex(value: str, name: str) -> str:
    try:
        return bytes.fromhex(value).decode("utf-8", errors="replace")
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} is not hex") from None


def parse_request(form: dict[str, str]) -> CallRequest:
    """The form Kamailio posts, as a :class:`CallRequest`; 400 on anything else."""
    source: Literal["user", "peer"]
    match form.get("src"):
        case "user":
            source = "user"
        case "peer":
            source = "peer"
        case _:
            raise web.HTTPBadRequest(text="src must be user or peer")
    values = {name: _hex(form.get(name, ""), name) for name in _FIELDS}
    return CallRequest(
        source=source,
        address=form.get("si", ""),
        dialled=values["ru"],
        domain=values["domain"],
        extension=values["ext"],
        from_user=values["fu"],
        from_display=values["fn"],
        pai_user=values["pai"] or None,
        privacy=values["privacy"] or None,
        to_user=values["tu"],
    )


async def route_call(request: web.Request) -> web.Response:
    if not _authorized(request):
        return web.Response(status=401, text="unauthorized")
    started = time.perf_counter()
    form = {k: str(v) for k, v in (await request.post()).items()}
    call = parse_request(form)
    plan = request.app[_LIVE_TABLE].table.plan(call, datetime.now(UTC))
    body = json.dumps(plan_to_json(plan), separators=(",", ":"))
    outcome = f"{plan.code} {plan.reason}" if isinstance(plan, Reject) else plan.kind
    # No numbers in the log line: they are personal data and the CDRs hold them.
    log.debug(
        "route plan for a %s call from %s: %s (%.2f ms)",
        call.source,
        call.address,
        outcome,
        (time.perf_counter() - started) * 1000,
    )
    return web.Response(text=body, content_type="application/json")


async def start_routing_site(
    table: LiveTable, token: str, address: str, port: int
) -> web.AppRunner:
    """Listen on ``address:port`` (loopback, or the address an external Kamailio uses)."""
    runner = web.AppRunner(make_routing_app(table, token), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, address, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
