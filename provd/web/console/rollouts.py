"""Rollouts: live progress over server-sent events, pause, resume, cancel.

``/console/rollouts/new`` takes the fleet view's selection as GET parameters
(repeated ``mac=``, or ``model=`` and ``tenant=``), shows what would be
updated and to which version, and starts the rollout on a confirmed POST.
``/console/rollouts/{id}`` renders the rollout as it stands; ``rollouts.js``
then follows ``/api/v1/rollouts/{id}/events`` to move the bar live.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from provd.domain.errors import InvalidInput, NotFound
from provd.domain.firmware import FINAL_DEVICE_STATES, DeviceState, RolloutState
from provd.drivers.registry import MODELS
from provd.pbx import PbxError
from provd.services import devices, pbx, rollouts
from provd.services.directory import tenants
from provd.services.rollouts import preview as rollout_preview
from provd.services.rollouts import progress
from provd.web import api_pbx, auth, pages
from provd.web.api_pbx import PBX

STATE_BADGES: dict[str, str] = {
    RolloutState.RUNNING: "ok",
    RolloutState.PAUSED: "warn",
    RolloutState.CANCELLED: "idle",
    RolloutState.HALTED: "bad",
    RolloutState.DONE: "ok",
    DeviceState.PENDING: "idle",
    DeviceState.NOTIFIED: "warn",
    DeviceState.FETCHED: "warn",
    DeviceState.FAILED: "bad",
    DeviceState.TIMED_OUT: "bad",
}
"""Rollout and device states share "done": both are "ok"."""
STATE_NAMES = {s: s.value.replace("_", " ") for s in DeviceState}
DEFAULTS = rollouts.Options()


def _text(values: Any, name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def _selection(values: Any) -> rollouts.Selection:
    macs = tuple(m for m in values.getall("mac", []) if isinstance(m, str) and m.strip())
    return rollouts.Selection(
        model=_text(values, "model") or None,
        tenant=_text(values, "tenant") or None,
        devices=rollouts.parse_device_list(macs, field="mac") if macs else (),
        drifted=_text(values, "drifted") in ("1", "on", "true"),
    )


def _number(values: Any, name: str, default: int) -> int:
    text = _text(values, name)
    if not text:
        return default
    if not text.isdigit():
        raise InvalidInput(name, "must be a whole number")
    return int(text)


def _options(values: Any) -> rollouts.Options:
    return rollouts.Options(
        version=_text(values, "version") or None,
        batch=_number(values, "batch", DEFAULTS.batch),
        canary=_number(values, "canary", DEFAULTS.canary),
        concurrency=_number(values, "concurrency", DEFAULTS.concurrency),
        timeout_s=_number(values, "timeout", DEFAULTS.timeout_s),
    )


async def _not_registered(request: web.Request, macs: list[str]) -> int | None:
    """How many of the devices have a line not registered now; None without a PBX."""
    control = request.app.get(PBX)
    if control is None or not macs:
        return None
    found = await devices.devices_with_macs(macs)
    try:
        lines = await pbx.device_registrations(control, found)
    except PbxError:
        return None
    return sum(pbx.registered_summary(lines.get(d.mac)) is False for d in found)


async def new_rollout(
    request: web.Request, *, error: str = "", values: Any = None
) -> web.StreamResponse:
    values = request.query if values is None else values
    context: dict[str, Any] = {
        "models": MODELS,
        "tenants": await tenants.list_tenants(),
        "values": values,
        "defaults": DEFAULTS,
        "preview": None,
        "not_registered": None,
        "macs": [m for m in values.getall("mac", []) if isinstance(m, str)],
    }
    chosen = any(_text(values, k) for k in ("mac", "model", "tenant"))
    flashes = [("error", error)] if error else []
    if chosen:
        try:
            found = await rollout_preview.preview(
                _selection(values), _text(values, "version") or None
            )
        except (InvalidInput, NotFound) as e:
            flashes.append(("error", str(e)))
        else:
            context["preview"] = found
            if found.to_update:
                macs = [d.mac for d in found.devices if d.target and d.target != d.running]
                context["not_registered"] = await _not_registered(request, macs)
    return pages.render(request, "console/rollout_new.html", flashes=flashes, **context)


async def start(request: web.Request) -> web.StreamResponse:
    values = await request.post()
    try:
        if _text(values, "confirm_reboot") != "on":
            raise InvalidInput(
                "confirm_reboot", "confirm that the phones may reboot to start the rollout"
            )
        started = await rollouts.start_rollout(
            request[auth.ACTOR],
            _selection(values),
            _options(values),
            (await api_pbx.all_registrations(request))[0],
        )
    except (InvalidInput, NotFound) as e:
        return await new_rollout(request, error=str(e), values=values)
    raise web.HTTPSeeOther(f"/console/rollouts/{started.rollout.id}")


async def index(request: web.Request) -> web.StreamResponse:
    rows = await progress.list_rollouts(100)
    views = [await progress.rollout_view(r, with_devices=False) for r in rows]
    return pages.render(
        request,
        "console/rollouts.html",
        rollouts=views,
        badges=STATE_BADGES,
        final_states=[s.value for s in FINAL_DEVICE_STATES],
    )


async def _detail(request: web.Request, *, error: str = "") -> web.StreamResponse:
    try:
        rollout = await progress.get_rollout(request.match_info["id"])
    except (InvalidInput, NotFound) as e:
        return pages.render(request, "console/rollout_missing.html", status=404, message=str(e))
    view = await progress.rollout_view(rollout)
    flashes = [("error", error)] if error else []
    done = request.query.get("done")
    if done in ("paused", "resumed", "cancelled"):
        flashes.append(("ok", f"Rollout {rollout.id} {done}."))
    return pages.render(
        request,
        "console/rollout.html",
        rollout=view,
        badges=STATE_BADGES,
        state_names=STATE_NAMES,
        device_states=[s.value for s in DeviceState],
        final=sum(view["counts"][s.value] for s in FINAL_DEVICE_STATES),
        flashes=flashes,
        may_pause=view["state"] == RolloutState.RUNNING,
        may_resume=view["state"] == RolloutState.PAUSED,
        may_cancel=view["state"] in (RolloutState.RUNNING, RolloutState.PAUSED),
    )


async def detail(request: web.Request) -> web.StreamResponse:
    return await _detail(request)


async def control(request: web.Request) -> web.StreamResponse:
    action = request.match_info["action"]
    change = {
        "pause": (rollouts.pause_rollout, "paused"),
        "resume": (rollouts.resume_rollout, "resumed"),
        "cancel": (rollouts.cancel_rollout, "cancelled"),
    }.get(action)
    if change is None:
        raise web.HTTPNotFound()
    move, done = change
    try:
        rollout = await move(request[auth.ACTOR], request.match_info["id"])
    except (InvalidInput, NotFound) as e:
        return await _detail(request, error=str(e))
    raise web.HTTPSeeOther(f"/console/rollouts/{rollout.id}?done={done}")


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/rollouts", index)
    r.add_get("/console/rollouts/new", new_rollout)
    r.add_post("/console/rollouts/new", start)
    r.add_get("/console/rollouts/{id:\\d+}", detail)
    r.add_post("/console/rollouts/{id:\\d+}/{action}", control)
