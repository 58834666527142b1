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
import re
import time
from datetime import UTC, datetime
from typing import Literal

from aiohttp import web

from provd.domain.routing import Failure, Reject, Route, Service, plan_to_json
from provd.domain.routing_table import CallRequest
from provd.services.routing import LiveTable
from provd.services.service_codes import ServiceCodes

log = logging.getLogger("provd.routing")

ROUTE_PATH = "/route"
ROUTE_USER = "kamailio"
MAX_BODY = 8192
_FIELDS = ("ru", "tu", "fu", "fn", "pai", "privacy", "domain", "ext")
_LIVE_TABLE = web.AppKey("live_table", LiveTable)
_TOKEN = web.AppKey("route_token", str)
_SERVICES = web.AppKey("service_codes", ServiceCodes)


def make_routing_app(
    table: LiveTable, token: str, services: ServiceCodes | None = None
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[_LIVE_TABLE] = table
    app[_TOKEN] = token
    if services is not None:
        app[_SERVICES] = services
    app.router.add_post(ROUTE_PATH, route_call)
    app.router.add_post(ANSWERED_PATH, member_answered)
    return app


ANSWERED_PATH = "/answered"
_EXTENSION = re.compile(r"[0-9]{2,5}")


async def member_answered(request: web.Request) -> web.Response:
    """Kamailio saw a hunt group's member answer (a 2xx on that member's step)."""
    if not _authorized(request):
        return web.Response(status=401, text="unauthorized")
    form = {k: str(v) for k, v in (await request.post()).items()}
    group = form.get("group", "")
    if not _EXTENSION.fullmatch(group):
        raise web.HTTPBadRequest(text="group must be an extension")
    domain = _hex(form.get("domain", ""), "domain")
    member = _hex(form.get("member", ""), "member")
    known = request.app[_LIVE_TABLE].record_answer(domain, group, member, datetime.now(UTC))
    return web.Response(status=204 if known else 404)


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
    source: Literal["user", "trunk", "peer", "media"]
    match form.get("src"):
        case "user":
            source = "user"
        case "trunk":
            source = "trunk"
        case "peer":
            source = "peer"
        case "media":
            source = "media"
        case _:
            raise web.HTTPBadRequest(text="src must be user, trunk, peer or media")
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
        failed=parse_history(form.get("h", "")),
    )


_FAILURE = re.compile(r"([1-6][0-9]{2})([tu]?)")
MAX_STEPS = 16


def parse_history(text: str) -> tuple[Failure, ...]:
    """``,486,408t,480u``: each earlier step's final status, ``t`` when its ring time ran
    out, ``u`` when nobody was registered to ring."""
    failures = []
    for token in text.split(","):
        if not token:
            continue
        match = _FAILURE.fullmatch(token)
        if match is None:
            raise web.HTTPBadRequest(text=f"h: {token!r} is not a step's failure")
        status, flag = match.groups()
        failures.append(Failure(int(status), timeout=flag == "t", unregistered=flag == "u"))
    if len(failures) > MAX_STEPS:
        raise web.HTTPBadRequest(text="h: too many steps")
    return tuple(failures)


async def route_call(request: web.Request) -> web.Response:
    if not _authorized(request):
        return web.Response(status=401, text="unauthorized")
    started = time.perf_counter()
    form = {k: str(v) for k, v in (await request.post()).items()}
    call = parse_request(form)
    live = request.app[_LIVE_TABLE]
    now = datetime.now(UTC)
    plan = live.plan(call, now)
    # What the call's record will say (tenant, type, who called whom), kept by Kamailio.
    account = live.table.account(call, plan, now)
    if isinstance(plan, Service):
        services = request.app.get(_SERVICES)
        if services is None:
            plan = Reject(503, "Service codes are not available here")
        else:
            done = await services.carry_out(plan)
            plan = Reject(done.code, done.reason)
    doc = plan_to_json(plan)
    if account is not None:
        doc.update(account.plan_keys())
    body = json.dumps(doc, separators=(",", ":"))
    if isinstance(plan, Reject):
        outcome = f"{plan.code} {plan.reason}"
    elif isinstance(plan, Route):
        outcome = f"{plan.kind} step {len(call.failed) + 1}"
    else:
        outcome = "relay the failure"
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
    table: LiveTable, token: str, address: str, port: int, services: ServiceCodes | None = None
) -> web.AppRunner:
    """Listen on ``address:port`` (loopback, or the address an external Kamailio uses)."""
    runner = web.AppRunner(make_routing_app(table, token, services), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, address, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
