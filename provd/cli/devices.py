"""``provd device …``: phones by MAC, their lines, settings and state (services.devices)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from provd.cli.main import CliState, actor, cli, emit, fail, json_option, run_with_db, table
from provd.services import devices
from provd.services.directory import tenants
from provd.services.platform import Platform
from provd.services.provisioning import rendering

if TYPE_CHECKING:
    from provd.services.devices import Device
    from provd.services.pbx import DeviceCheckSync, LineRegistration

Status = dict[str, list["LineRegistration"]]


def _device_text(view: dict[str, Any]) -> str:
    lines = [f"{k}: {v}" for k, v in view.items() if k not in ("lines", "provisioning")]
    for line in view["lines"]:
        lines.append(f"line {line['slot']}: {line['extension']} {line['name']}")
    return "\n".join(lines)


async def _registrations(p: Platform, rows: Sequence[Device]) -> tuple[Status | None, str]:
    """Registration state from the PBX ``serve`` runs, or None and why it is unknown."""
    from provd.pbx import PbxError
    from provd.services import pbx

    control = pbx.open_control(p.data_dir, p.settings.db_url)
    try:
        return await pbx.device_registrations(control, rows), ""
    except PbxError as e:
        return None, str(e)
    finally:
        if control is not None:
            await control.close()


def _registered_cell(lines: list[LineRegistration] | None) -> str:
    if lines is None:
        return "?"
    if not lines:
        return "-"
    up = sum(line.registered for line in lines)
    return "yes" if up == len(lines) else "no" if up == 0 else f"{up}/{len(lines)}"


def _registration_text(lines: list[LineRegistration] | None, why: str) -> str:
    if lines is None:
        return f"registration: unknown ({why})"
    out = []
    for line in lines:
        v = line.view()
        if not line.registered:
            out.append(f"line {line.slot} ({line.aor}): not registered")
            continue
        out += [
            f"line {line.slot} ({line.aor}): registered until {v['expires_at']}",
            f"  user agent:  {v['user_agent']}",
            f"  contact:     {v['contact']}",
            f"  WAN address: {v['wan_address']}   LAN address: {v['lan_address']}",
        ]
    return "\n".join(out)


@cli.group()
def device() -> None:
    """Phones, by MAC address."""


@device.command("add")
@click.option("--mac", required=True, help="MAC from the phone's label, any common notation.")
@click.option("--model", required=True, help="Model id, e.g. yealink-t46g or snom-d785.")
@click.option(
    "--user", "user_exts", multiple=True, help="Extension for line 1; repeat for lines 2, 3, …"
)
@click.option("--tenant", "tenant_slug", default=tenants.DEFAULT_TENANT, show_default=True)
@click.option("--password", help="Provisioning password (default: a long random one).")
@click.option("--name", default="", help="A name for the device.")
@json_option
@click.pass_obj
def device_add(
    state: CliState,
    mac: str,
    model: str,
    user_exts: tuple[str, ...],
    tenant_slug: str,
    password: str | None,
    name: str,
    as_json: bool,
) -> None:
    """Add a phone and print its provisioning URL, username and password."""

    async def work(p: Platform) -> None:
        d, credential = await devices.add_device(
            p,
            actor(),
            mac,
            model,
            tenant_slug=tenant_slug,
            users=user_exts,
            password=password,
            name=name,
        )
        view = await devices.device_view(d)
        view["provisioning"] = {
            "url": credential.url,
            "username": credential.username,
            "password": credential.password,
        }
        emit(
            as_json,
            view,
            f"Added {d.model} {d.mac}\n"
            f"  provisioning URL:      {credential.url}\n"
            f"  provisioning username: {credential.username}\n"
            f"  provisioning password: {credential.password}",
        )

    run_with_db(state, as_json, work)


@device.command("list")
@click.option("--tenant", "tenant_slug", help="Only this tenant's devices.")
@json_option
@click.pass_obj
def device_list(state: CliState, tenant_slug: str | None, as_json: bool) -> None:
    """List phones."""

    async def work(p: Platform) -> None:
        from provd.services.pbx import registration_view

        found = await devices.list_devices(tenant_slug)
        status, why = await _registrations(p, found)
        rows = []
        for d in found:
            lines = status[d.mac] if status is not None else None
            view = await devices.device_view(d) | registration_view(d.mac, lines)
            view["registered_text"] = _registered_cell(lines)
            rows.append(view)
        cells = [
            [
                r["mac"],
                r["model"],
                r["tenant"],
                ",".join(line["extension"] for line in r["lines"]) or "-",
                "yes" if r["sealed"] else "no",
                r.pop("registered_text"),  # text only: --json has "registered"
                r["last_fetch_at"] or "never",
            ]
            for r in rows
        ]
        out = [
            table(["MAC", "MODEL", "TENANT", "LINES", "SEALED", "REGISTERED", "LAST FETCH"], cells)
        ]
        if status is None and why:
            out.append(f"(REGISTERED unknown: {why})")
        emit(as_json, rows, "\n".join(out))

    run_with_db(state, as_json, work)


@device.command("show")
@click.argument("mac")
@json_option
@click.pass_obj
def device_show(state: CliState, mac: str, as_json: bool) -> None:
    """Show one phone."""

    async def work(p: Platform) -> None:
        from provd.services.pbx import registration_view

        d = await devices.get_device(mac)
        status, why = await _registrations(p, [d])
        lines = status[d.mac] if status is not None else None
        view = await devices.device_view(d)
        text = _device_text(view) + "\n" + _registration_text(lines, why or "no PBX")
        emit(as_json, view | registration_view(d.mac, lines), text)

    run_with_db(state, as_json, work)


@device.command("remove")
@click.argument("mac")
@json_option
@click.pass_obj
def device_remove(state: CliState, mac: str, as_json: bool) -> None:
    """Remove a phone; it can no longer fetch anything."""

    async def work(p: Platform) -> None:
        await devices.remove_device(actor(), mac)
        emit(as_json, {"removed": mac}, f"Removed {mac}")

    run_with_db(state, as_json, work)


@device.command("reset")
@click.argument("mac")
@json_option
@click.pass_obj
def device_reset(state: CliState, mac: str, as_json: bool) -> None:
    """Unseal a phone so that its tenant's bootstrap credential works for it again."""

    async def work(p: Platform) -> None:
        d = await devices.reset_device(actor(), mac)
        emit(
            as_json,
            await devices.device_view(d),
            f"Reset {d.mac}: bootstrap credential accepted again",
        )

    run_with_db(state, as_json, work)


@device.command("credentials")
@click.argument("mac")
@json_option
@click.pass_obj
def device_credentials(state: CliState, mac: str, as_json: bool) -> None:
    """Print a phone's provisioning URL, username and password."""

    async def work(p: Platform) -> None:
        c = devices.provisioning_credential(p, await devices.get_device(mac))
        view = {"url": c.url, "username": c.username, "password": c.password}
        emit(as_json, view, "\n".join(f"{k}: {v}" for k, v in view.items()))

    run_with_db(state, as_json, work)


@device.command("config")
@click.argument("mac")
@click.argument("filename", required=False)
@click.option("--reveal", is_flag=True, help="Show secrets instead of ********.")
@click.pass_obj
def device_config(state: CliState, mac: str, filename: str | None, reveal: bool) -> None:
    """Print the files a phone would receive (all of them, or FILENAME)."""

    async def work(p: Platform) -> None:
        from provd.services.pbx import effective_settings, load_runtime

        # As serve --pbx renders it: phones are sent to its PBX unless a proxy is set.
        p.settings = effective_settings(p.settings, load_runtime(p.data_dir, p.settings.db_url))
        files = await rendering.render_all(p, await devices.get_device(mac), reveal=reveal)
        for name, body in files.items():
            if filename in (None, name):
                click.echo(f"===== {name}" if filename is None else "", nl=filename is None)
                click.echo(body.decode())

    run_with_db(state, False, work)


def _check_sync(state: CliState, mac: str, as_json: bool, *, reboot: bool) -> None:
    async def work(p: Platform) -> DeviceCheckSync:
        from provd.services import pbx

        control = pbx.open_control(p.data_dir, p.settings.db_url)
        try:
            return await pbx.check_sync_device(control, actor(), mac, reboot=reboot)
        finally:
            if control is not None:
                await control.close()

    outcome = run_with_db(state, as_json, work)
    text = "\n".join(f"line {line.slot} ({line.result.aor}): {line.text}" for line in outcome.lines)
    if not outcome.delivered:
        if not as_json:
            click.echo(text)
        fail(
            outcome.failure,
            as_json=as_json,
            details={"field": "mac", "message": outcome.failure, **outcome.view()},
        )
    emit(as_json, outcome.view(), text)


@device.command("resync")
@click.argument("mac")
@json_option
@click.pass_obj
def device_resync(state: CliState, mac: str, as_json: bool) -> None:
    """Make a registered phone fetch its configuration now (SIP NOTIFY check-sync)."""
    _check_sync(state, mac, as_json, reboot=False)


@device.command("reboot")
@click.argument("mac")
@json_option
@click.pass_obj
def device_reboot(state: CliState, mac: str, as_json: bool) -> None:
    """Reboot a registered phone (SIP NOTIFY check-sync;reboot=true)."""
    _check_sync(state, mac, as_json, reboot=True)


@device.command("set")
@click.argument("mac")
@click.option("--expansion-modules", type=int, help="How many key modules are attached.")
@click.option("--vlan-lan", help="ID[:PRIORITY], off, or inherit (the tenant's).")
@click.option("--vlan-pc", help="ID[:PRIORITY], off, or inherit (the tenant's).")
@click.option("--lldp", help="on, off, or inherit.")
@json_option
@click.pass_obj
def device_set(
    state: CliState,
    mac: str,
    expansion_modules: int | None,
    vlan_lan: str | None,
    vlan_pc: str | None,
    lldp: str | None,
    as_json: bool,
) -> None:
    """Change one phone's hardware and network overrides."""

    async def work(p: Platform) -> None:
        d = await devices.update_device(
            actor(),
            mac,
            expansion_modules=expansion_modules,
            vlan_lan=vlan_lan,
            vlan_pc=vlan_pc,
            lldp=lldp,
        )
        view = await devices.device_view(d)
        emit(as_json, view, "\n".join(f"{k}: {v}" for k, v in view.items() if k != "lines"))

    run_with_db(state, as_json, work)
