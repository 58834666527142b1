"""Where a rollout stands: counts per state, every device's state and reason, and
its state changes as events (the audit rows the changes wrote, in order)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count

from provd.db.models import AuditEntry, Rollout, RolloutDevice
from provd.domain.errors import InvalidInput, NotFound
from provd.domain.firmware import (
    FINAL_DEVICE_STATES,
    FINAL_ROLLOUT_STATES,
    DeviceState,
    RolloutState,
    counts,
)

IN_FLIGHT = (DeviceState.NOTIFIED, DeviceState.FETCHED)
"""A phone told to update and not back yet."""


OPEN = (RolloutState.RUNNING, RolloutState.PAUSED)
"""A rollout that is not over: its devices still move."""


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def device_row_view(rollout: Rollout, row: RolloutDevice) -> dict[str, Any]:
    return {
        "mac": row.mac,
        "position": row.position,
        "batch": row.batch,
        "canary": rollout.canary_size > 0 and row.batch == 0,
        "state": row.state,
        "target_version": row.target_version or None,
        "reason": row.reason,
        "notified_at": _iso(row.notified_at),
        "fetched_at": _iso(row.fetched_at),
        "updated_at": _iso(row.updated_at),
    }


def is_finished(state: str, in_flight: int) -> bool:
    """Nothing more will happen: the rollout is over and no phone is still updating."""
    return RolloutState(state) in FINAL_ROLLOUT_STATES and in_flight == 0


async def rollout_view(rollout: Rollout, *, with_devices: bool = True) -> dict[str, Any]:
    rows = await RolloutDevice.filter(rollout_id=rollout.id).order_by("position")
    tally = counts([DeviceState(r.state) for r in rows])
    in_flight = sum(tally[s.value] for s in IN_FLIGHT)
    final = sum(tally[s.value] for s in FINAL_DEVICE_STATES)
    end = rollout.finished_at or datetime.now(UTC)
    minutes = max((end - rollout.created_at).total_seconds(), 1.0) / 60
    view: dict[str, Any] = {
        "id": rollout.id,
        "state": rollout.state,
        "reason": rollout.reason,
        "selection": rollout.selection,
        "versions": sorted({r.target_version for r in rows if r.target_version}),
        "created_by": rollout.created_by,
        "created_at": _iso(rollout.created_at),
        "finished_at": _iso(rollout.finished_at),
        "batch_size": rollout.batch_size,
        "canary": rollout.canary_size,
        "concurrency": rollout.concurrency,
        "timeout_seconds": rollout.timeout_seconds,
        "total": len(rows),
        "counts": tally,
        "in_flight": in_flight,
        "finished": is_finished(rollout.state, in_flight),
        "devices_per_minute": round(final / minutes, 1),
    }
    if with_devices:
        view["devices"] = [device_row_view(rollout, r) for r in rows]
    return view


async def open_device_states() -> dict[str, int]:
    """How many devices of the rollouts not over yet are in each state, every state
    named (0 included): one grouped query, cheap enough for every metrics scrape."""
    rows = (
        await RolloutDevice.filter(rollout__state__in=[s.value for s in OPEN])
        .annotate(n=Count("id"))
        .group_by("state")
        .values_list("state", "n")
    )
    tally = counts(())
    for state, n in rows:
        if state in tally:
            tally[state] = int(n)
    return tally


def parse_rollout_id(text: str | int, *, field: str = "id") -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise InvalidInput(field, f"{text!r} is not a rollout id (a whole number)") from None
    if value < 1:
        raise InvalidInput(field, f"{text!r} is not a rollout id (a whole number)")
    return value


async def get_rollout(rollout_id: str | int, *, field: str = "id") -> Rollout:
    value = parse_rollout_id(rollout_id, field=field)
    rollout = await Rollout.get_or_none(id=value)
    if rollout is None:
        raise NotFound("rollout", str(value), field=field)
    return rollout


async def list_rollouts(limit: int = 50) -> list[Rollout]:
    return list(await Rollout.all().order_by("-id").limit(limit))


async def latest_event_id() -> int:
    """The newest audit row: a stream of events starts after it."""
    newest = await AuditEntry.all().order_by("-id").only("id").first()
    return int(newest.id) if newest else 0


async def rollout_events(
    rollout_id: int, after_id: int = 0, limit: int = 500
) -> list[dict[str, Any]]:
    """The rollout's state changes after audit row ``after_id``, oldest first."""
    rows = (
        await AuditEntry.filter(id__gt=after_id)
        .filter(
            Q(object_type="rollout", object_key=str(rollout_id))
            | Q(object_type="rollout_device", object_key__startswith=f"{rollout_id}/")
        )
        .order_by("id")
        .limit(limit)
    )
    out = []
    for r in rows:
        event: dict[str, Any] = {
            "id": r.id,
            "at": r.at.isoformat(),
            "actor": r.actor,
            "action": r.action,
            "rollout": rollout_id,
        }
        if r.object_type == "rollout_device":
            event["mac"] = r.object_key.split("/", 1)[1]
        event["before"] = r.before
        event["after"] = r.after
        out.append(event)
    return out
