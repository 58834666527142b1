"""REST routes for firmware rollouts, and their live progress as server-sent events.

The engine that drives rollouts runs in ``provd serve``; these routes only create
and change rows, so they work the same whichever process serves them.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from provd.domain.errors import InvalidInput
from provd.services import rollouts
from provd.services.rollouts import progress
from provd.web import api_pbx
from provd.web.api import ACTOR, PREFIX, _body, _check_keys, _str

EVENTS_POLL_S = 0.5
HEARTBEAT_S = 15.0
_START_FIELDS = {
    "model",
    "tenant",
    "devices",
    "drifted",
    "version",
    "batch",
    "canary",
    "concurrency",
    "timeout",
}


def _int(data: dict[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(key, "must be a whole number")
    return value


def _devices(data: dict[str, Any]) -> tuple[str, ...]:
    value = data.get("devices")
    if value is None:
        return ()
    if isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        return rollouts.parse_device_list(value)
    raise InvalidInput("devices", "must be a list of MAC addresses")


async def start_rollout(request: web.Request) -> web.Response:
    data = await _body(request)
    _check_keys(data, _START_FIELDS)
    drifted = data.get("drifted", False)
    if not isinstance(drifted, bool):
        raise InvalidInput("drifted", "must be true or false")
    selection = rollouts.Selection(
        model=_str(data, "model", required=False),
        tenant=_str(data, "tenant", required=False),
        devices=_devices(data),
        drifted=drifted,
    )
    defaults = rollouts.Options()
    options = rollouts.Options(
        version=_str(data, "version", required=False),
        batch=_int(data, "batch", defaults.batch),
        canary=_int(data, "canary", defaults.canary),
        concurrency=_int(data, "concurrency", defaults.concurrency),
        timeout_s=_int(data, "timeout", defaults.timeout_s),
    )
    started = await rollouts.start_rollout(
        request[ACTOR], selection, options, (await api_pbx.all_registrations(request))[0]
    )
    view = await progress.rollout_view(started.rollout)
    return web.json_response(view | started.view_extra(), status=201)


async def list_rollouts(request: web.Request) -> web.Response:
    try:
        limit = min(max(int(request.query.get("limit", "50")), 1), 500)
    except ValueError:
        raise InvalidInput("limit", "must be a whole number") from None
    rows = await progress.list_rollouts(limit)
    return web.json_response([await progress.rollout_view(r, with_devices=False) for r in rows])


async def show_rollout(request: web.Request) -> web.Response:
    rollout = await progress.get_rollout(request.match_info["id"])
    return web.json_response(await progress.rollout_view(rollout))


async def pause_rollout(request: web.Request) -> web.Response:
    rollout = await rollouts.pause_rollout(request[ACTOR], request.match_info["id"])
    return web.json_response(await progress.rollout_view(rollout, with_devices=False))


async def resume_rollout(request: web.Request) -> web.Response:
    rollout = await rollouts.resume_rollout(request[ACTOR], request.match_info["id"])
    return web.json_response(await progress.rollout_view(rollout, with_devices=False))


async def cancel_rollout(request: web.Request) -> web.Response:
    rollout = await rollouts.cancel_rollout(request[ACTOR], request.match_info["id"])
    return web.json_response(await progress.rollout_view(rollout, with_devices=False))


def _event(name: str, data: Any, event_id: int | None = None) -> bytes:
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines += [f"event: {name}", f"data: {json.dumps(data, separators=(',', ':'))}"]
    return ("\n".join(lines) + "\n\n").encode()


def _last_event_id(request: web.Request) -> int | None:
    text = request.headers.get("Last-Event-ID", "").strip()
    return int(text) if text.isdigit() else None


async def rollout_events(request: web.Request) -> web.StreamResponse:
    """``snapshot`` first, then ``rollout`` and ``device`` per state change (``id`` is
    the audit row, so a client reconnecting with Last-Event-ID misses nothing),
    ``progress`` with the counts after changes and as a heartbeat, ``end`` when the
    rollout is over and no phone is still updating."""
    rollout = await progress.get_rollout(request.match_info["id"])
    # Read before the snapshot: a change made while it is built is sent again, not lost.
    last = _last_event_id(request)
    if last is None:
        last = await progress.latest_event_id()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            "X-Request-Id": request[ACTOR].request_id or "",
        }
    )
    await response.prepare(request)
    view = await progress.rollout_view(rollout)
    try:
        await response.write(_event("snapshot", view))
        beat = time.monotonic()
        finished = view["finished"]
        while True:
            events = await progress.rollout_events(rollout.id, last)
            for event in events:
                name = "device" if "mac" in event else "rollout"
                await response.write(_event(name, event, event["id"]))
                last = event["id"]
            # The last changes are read after the rollout was seen finished, so none is lost.
            if finished:
                break
            if events or time.monotonic() - beat >= HEARTBEAT_S:
                await rollout.refresh_from_db()
                view = await progress.rollout_view(rollout, with_devices=False)
                await response.write(_event("progress", view, last))
                beat = time.monotonic()
                finished = view["finished"]
                if finished:
                    continue
            await asyncio.sleep(EVENTS_POLL_S)
            if request.transport is None or request.transport.is_closing():
                return response  # the client went away
        await response.write(_event("end", {"id": rollout.id, "state": view["state"]}, last))
    except ConnectionError:
        pass  # the client went away
    return response


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(PREFIX + "/rollouts", list_rollouts)
    r.add_post(PREFIX + "/rollouts", start_rollout)
    r.add_get(PREFIX + "/rollouts/{id}", show_rollout)
    r.add_post(PREFIX + "/rollouts/{id}/pause", pause_rollout)
    r.add_post(PREFIX + "/rollouts/{id}/resume", resume_rollout)
    r.add_post(PREFIX + "/rollouts/{id}/cancel", cancel_rollout)
    r.add_get(PREFIX + "/rollouts/{id}/events", rollout_events)
