"""REST routes for firmware rollouts, and their live progress as server-sent events.

The engine that drives rollouts runs in ``provd serve``; these routes only create
and change rows, so they work the same whichever process serves them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from provd.db.models import Rollout as RolloutRow
from provd.services import rollouts
from provd.services.audit import Actor
from provd.services.rollouts import progress
from provd.web import api_pbx
from provd.web.auth import ACTOR
from provd.web.contract import Api, Param, Reply, query_limit
from provd.web.schemas.rollouts import Rollout, RolloutDetail, RolloutIn, RolloutStarted

EVENTS_POLL_S = 0.5
HEARTBEAT_S = 15.0
api = Api()
_ID = Param("id", "path", type="integer", required=True)
_LIMIT = Param("limit", type="integer", description="1 to 500; default 50")
_ROLLOUT = {200: Reply("The rollout", Rollout)}


@api.with_body(
    "POST",
    "/rollouts",
    "Start a firmware rollout (the server's engine runs it); devices not "
    "registered now are listed and fail when their turn comes",
    RolloutIn,
    ok={201: Reply("Created, with its devices", RolloutStarted)},
)
async def start_rollout(request: web.Request, body: RolloutIn) -> web.Response:
    selection = rollouts.Selection(
        model=body.model,
        tenant=body.tenant,
        devices=() if body.devices is None else rollouts.parse_device_list(body.devices),
        drifted=body.drifted,
    )
    options = rollouts.Options(
        version=body.version,
        batch=body.batch,
        canary=body.canary,
        concurrency=body.concurrency,
        timeout_s=body.timeout,
    )
    started = await rollouts.start_rollout(
        request[ACTOR], selection, options, (await api_pbx.all_registrations(request))[0]
    )
    view = await progress.rollout_view(started.rollout)
    return web.json_response(view | started.view_extra(), status=201)


@api.route(
    "GET",
    "/rollouts",
    "Firmware rollouts, newest first, with counts per device state",
    ok={200: Reply("Rollouts", list[Rollout])},
    parameters=[_LIMIT],
)
async def list_rollouts(request: web.Request) -> web.Response:
    rows = await progress.list_rollouts(query_limit(request, 50, 500))
    return web.json_response([await progress.rollout_view(r, with_devices=False) for r in rows])


@api.route(
    "GET",
    "/rollouts/{id}",
    "A rollout: counts per state and every device's state and reason",
    ok={200: Reply("The rollout", RolloutDetail)},
    parameters=[_ID],
)
async def show_rollout(request: web.Request) -> web.Response:
    rollout = await progress.get_rollout(request.match_info["id"])
    return web.json_response(await progress.rollout_view(rollout))


@api.route(
    "POST",
    "/rollouts/{id}/pause",
    "Start no more devices; phones already updating are still followed",
    ok=_ROLLOUT,
    parameters=[_ID],
)
async def pause_rollout(request: web.Request) -> web.Response:
    return await _move(request, rollouts.pause_rollout)


@api.route(
    "POST", "/rollouts/{id}/resume", "Resume a paused rollout", ok=_ROLLOUT, parameters=[_ID]
)
async def resume_rollout(request: web.Request) -> web.Response:
    return await _move(request, rollouts.resume_rollout)


@api.route(
    "POST",
    "/rollouts/{id}/cancel",
    "Cancel: devices not started stay pending and are never notified",
    ok=_ROLLOUT,
    parameters=[_ID],
)
async def cancel_rollout(request: web.Request) -> web.Response:
    return await _move(request, rollouts.cancel_rollout)


async def _move(
    request: web.Request, move: Callable[[Actor, str], Awaitable[RolloutRow]]
) -> web.Response:
    """Pause, resume or cancel the rollout of the path; the answer is its summary."""
    rollout = await move(request[ACTOR], request.match_info["id"])
    return web.json_response(await progress.rollout_view(rollout, with_devices=False))


def _event(name: str, data: Any, event_id: int | None = None) -> bytes:
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines += [f"event: {name}", f"data: {json.dumps(data, separators=(',', ':'))}"]
    return ("\n".join(lines) + "\n\n").encode()


def _last_event_id(request: web.Request) -> int | None:
    text = request.headers.get("Last-Event-ID", "").strip()
    return int(text) if text.isdigit() else None


@api.route(
    "GET",
    "/rollouts/{id}/events",
    "Live progress as server-sent events: snapshot, then rollout and device "
    "per state change (id = audit row; Last-Event-ID resumes), progress "
    "(counts) after changes and every 15 s, end when nothing more will happen",
    ok={200: Reply("An event stream", media_type="text/event-stream", schema={"type": "string"})},
    parameters=[_ID, Param("Last-Event-ID", "header", type="integer")],
)
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


add_routes = api.add_to
