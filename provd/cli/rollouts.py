"""``provd rollout …``: bulk firmware updates. ``provd serve --pbx`` runs them; these
commands start, watch and steer them through the database, from any process."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db, table
from provd.domain.firmware import FINAL_DEVICE_STATES, DeviceState
from provd.services.platform import Platform

if TYPE_CHECKING:
    from provd.pbx import Registration

WATCH_POLL_S = 0.5
_BAR_WIDTH = 24


async def _registrations(p: Platform) -> tuple[dict[str, Registration] | None, str]:
    """Every registration from the PBX ``serve`` runs, or None and why it is unknown."""
    from provd.pbx import PbxError
    from provd.services import pbx

    control = pbx.open_control(p.data_dir, p.settings.db_url)
    if control is None:
        return None, pbx.NOT_RUNNING
    try:
        return await control.registrations(), ""
    except PbxError as e:
        return None, f"{pbx.NOT_RUNNING}: {e}"
    finally:
        await control.close()


def _updating(counts: dict[str, int]) -> int:
    return counts[DeviceState.NOTIFIED] + counts[DeviceState.FETCHED]


def summary_line(view: dict[str, Any]) -> str:
    """``25/50 done 23  failed 1 …``: one line, also what ``--watch`` redraws."""
    c = view["counts"]
    final = sum(c[s] for s in FINAL_DEVICE_STATES)
    total = view["total"] or 1
    filled = round(_BAR_WIDTH * final / total)
    bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
    return (
        f"rollout {view['id']} {view['state']:<9} [{bar}] {final}/{view['total']}  "
        f"done {c[DeviceState.DONE]}  failed {c[DeviceState.FAILED]}  "
        f"timed out {c[DeviceState.TIMED_OUT]}  "
        f"updating {_updating(c)}  pending {c[DeviceState.PENDING]}  "
        f"{view['devices_per_minute']}/min"
    )


def _options_text(view: dict[str, Any]) -> str:
    canary = f"canary {view['canary']}, then " if view["canary"] else ""
    return (
        f"{canary}batches of {view['batch_size']}, {view['concurrency']} at a time, "
        f"{view['timeout_seconds']} s per phone"
    )


def status_text(view: dict[str, Any]) -> str:
    versions = ", ".join(view["versions"]) or "-"
    lines = [
        f"Rollout {view['id']}: {view['state']}"
        + (f" ({view['reason']})" if view["reason"] else ""),
        f"  selection: {view['selection']} → {versions}",
        f"  started {view['created_at']} by {view['created_by']}; {_options_text(view)}",
        f"  {summary_line(view)}",
    ]
    rows = view.get("devices") or []
    if rows:
        cells = [
            [
                d["mac"],
                f"{d['batch']}{'*' if d['canary'] else ''}",
                d["state"],
                d["target_version"] or "-",
                d["reason"],
            ]
            for d in rows
        ]
        lines.append(table(["MAC", "BATCH", "STATE", "TARGET", "REASON"], cells))
        if view["canary"]:
            lines.append("(* canary)")
    return "\n".join(lines)


def _started_text(view: dict[str, Any], why: str) -> str:
    c = view["counts"]
    todo = c[DeviceState.PENDING]
    already = c[DeviceState.DONE]
    lines = [
        f"Rollout {view['id']} started: {view['total']} devices, {todo} to update "
        f"({', '.join(view['versions'])}), {already} already on it",
        f"  {_options_text(view)}",
    ]
    if c[DeviceState.FAILED]:
        lines.append(
            f"  {c[DeviceState.FAILED]} cannot be updated (see provd rollout status {view['id']})"
        )
    missing = view["not_registered_now"]
    if missing is None:
        lines.append(f"  registration unknown: {why}")
    elif missing:
        lines.append(
            "  not registered now (they fail when their turn comes): " + ", ".join(missing)
        )
    lines.append(
        f"  provd serve --pbx runs it; follow it with: provd rollout status {view['id']} --watch"
    )
    return "\n".join(lines)


async def _watch(rollout_id: int, *, draw: bool) -> dict[str, Any]:
    """Redraw the progress line until nothing more will happen; the final view."""
    from provd.services.rollouts import progress

    rollout = await progress.get_rollout(rollout_id)
    tty = sys.stdout.isatty()
    shown = ""
    while True:
        await rollout.refresh_from_db()
        view = await progress.rollout_view(rollout, with_devices=False)
        line = summary_line(view)
        if draw and line != shown:
            if tty:
                click.echo(f"\r{line}\x1b[K", nl=False)
            else:
                click.echo(line)
            shown = line
        if view["finished"]:
            if draw and tty:
                click.echo()
            return await progress.rollout_view(rollout)
        await asyncio.sleep(WATCH_POLL_S)


def _exit_for(view: dict[str, Any]) -> None:
    """After --watch: 0 when every device ended done, 1 otherwise (scripts can tell)."""
    if view["counts"][DeviceState.DONE] != view["total"]:
        sys.exit(1)


@cli.group()
def rollout() -> None:
    """Bulk firmware updates: start, watch, pause, resume, cancel."""


@rollout.command("start")
@click.option("--model", help="Devices of this model (e.g. yealink-t46g).")
@click.option(
    "--drifted", is_flag=True, help="Only devices reporting another version than their pin."
)
@click.option("--devices", "device_list", help="These devices: MAC,MAC,…")
@click.option("--tenant", help="Devices of this tenant.")
@click.option("--version", help="A tested version for all (default: each device's pinned one).")
@click.option("--batch", type=int, default=10, show_default=True, help="Devices per batch.")
@click.option(
    "--canary",
    type=int,
    default=0,
    show_default=True,
    help="Update the first N devices alone first; unless all end done, the rollout halts.",
)
@click.option("--concurrency", type=int, default=10, show_default=True, help="Phones at once.")
@click.option(
    "--timeout",
    type=int,
    default=900,
    show_default=True,
    help="Seconds a phone has to come back on the new version.",
)
@click.option("--watch", is_flag=True, help="Follow the progress until the rollout ends.")
@json_option
@click.pass_obj
def rollout_start(
    state: CliState,
    model: str | None,
    drifted: bool,
    device_list: str | None,
    tenant: str | None,
    version: str | None,
    batch: int,
    canary: int,
    concurrency: int,
    timeout: int,
    watch: bool,
    as_json: bool,
) -> None:
    """Start updating devices' firmware; the phones reboot.

    Select --model M [--drifted], --devices MAC,MAC or --tenant T. Devices not
    registered now are listed, and fail ("not registered") when their turn comes.
    With --watch the exit status is 0 only when every device ended done.
    """
    from provd.services import rollouts
    from provd.services.rollouts import progress

    async def work(p: Platform) -> dict[str, Any]:
        selection = rollouts.Selection(
            model=model,
            tenant=tenant,
            devices=rollouts.parse_device_list(device_list) if device_list is not None else (),
            drifted=drifted,
        )
        options = rollouts.Options(
            version=version,
            batch=batch,
            canary=canary,
            concurrency=concurrency,
            timeout_s=timeout,
        )
        registrations, why = await _registrations(p)
        started = await rollouts.start_rollout(actor(), selection, options, registrations)
        view = await progress.rollout_view(started.rollout) | started.view_extra()
        if not watch:
            emit(as_json, view, _started_text(view, why))
            return view
        if not as_json:
            click.echo(_started_text(view, why))
        final = await _watch(started.rollout.id, draw=not as_json)
        emit(as_json, final, status_text(final))
        return final

    view = _interruptible(state, as_json, work)
    if watch:
        _exit_for(view)


def _interruptible(state: CliState, as_json: bool, work: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = run_with_db(state, as_json, work)
    except KeyboardInterrupt:
        click.echo("\nstopped watching; the rollout goes on in provd serve", err=True)
        sys.exit(130)
    return result


@rollout.command("status")
@click.argument("rollout_id")
@click.option("--watch", is_flag=True, help="Follow the progress until the rollout ends.")
@json_option
@click.pass_obj
def rollout_status(state: CliState, rollout_id: str, watch: bool, as_json: bool) -> None:
    """Counts per state and every device's state and reason."""
    from provd.services.rollouts import progress

    async def work(p: Platform) -> dict[str, Any]:
        found = await progress.get_rollout(rollout_id, field="rollout_id")
        view = await (_watch(found.id, draw=not as_json) if watch else progress.rollout_view(found))
        emit(as_json, view, status_text(view))
        return view

    view = _interruptible(state, as_json, work)
    if watch:
        _exit_for(view)


@rollout.command("list")
@click.option("--limit", type=int, default=20, show_default=True)
@json_option
@click.pass_obj
def rollout_list(state: CliState, limit: int, as_json: bool) -> None:
    """Rollouts, newest first."""
    from provd.services.rollouts import progress

    async def work(p: Platform) -> None:
        views = [
            await progress.rollout_view(r, with_devices=False)
            for r in await progress.list_rollouts(max(1, min(limit, 500)))
        ]
        cells = [
            [
                v["id"],
                v["state"],
                v["total"],
                v["counts"][DeviceState.DONE],
                v["counts"][DeviceState.FAILED] + v["counts"][DeviceState.TIMED_OUT],
                f"{v['created_at']} {v['selection']}",
            ]
            for v in views
        ]
        text = table(["ID", "STATE", "DEVICES", "DONE", "FAILED", "CREATED / SELECTION"], cells)
        emit(as_json, views, text)

    run_with_db(state, as_json, work)


def _control(state: CliState, rollout_id: str, as_json: bool, verb: str) -> None:
    from provd.services import rollouts
    from provd.services.rollouts import progress

    change = {
        "pause": rollouts.pause_rollout,
        "resume": rollouts.resume_rollout,
        "cancel": rollouts.cancel_rollout,
    }[verb]

    async def work(p: Platform) -> None:
        found = await progress.get_rollout(rollout_id, field="rollout_id")
        changed = await change(actor(), found.id)
        view = await progress.rollout_view(changed, with_devices=False)
        emit(as_json, view, f"Rollout {changed.id} {changed.state}.\n  {summary_line(view)}")

    run_with_db(state, as_json, work)


@rollout.command("pause")
@click.argument("rollout_id")
@json_option
@click.pass_obj
def rollout_pause(state: CliState, rollout_id: str, as_json: bool) -> None:
    """Start no more devices; phones already updating are still followed."""
    _control(state, rollout_id, as_json, "pause")


@rollout.command("resume")
@click.argument("rollout_id")
@json_option
@click.pass_obj
def rollout_resume(state: CliState, rollout_id: str, as_json: bool) -> None:
    """Carry on with a paused rollout."""
    _control(state, rollout_id, as_json, "resume")


@rollout.command("cancel")
@click.argument("rollout_id")
@json_option
@click.pass_obj
def rollout_cancel(state: CliState, rollout_id: str, as_json: bool) -> None:
    """Stop for good; devices not started are never notified."""
    _control(state, rollout_id, as_json, "cancel")
