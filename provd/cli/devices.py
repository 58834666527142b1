"""``provd device …``."""

from __future__ import annotations

from typing import Any

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db
from provd.services import devices, rendering, tenants
from provd.services.platform import Platform


def _device_text(view: dict[str, Any]) -> str:
    lines = [f"{k}: {v}" for k, v in view.items() if k not in ("lines", "provisioning")]
    for line in view["lines"]:
        lines.append(f"line {line['slot']}: {line['extension']} {line['name']}")
    return "\n".join(lines)


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
        rows = [await devices.device_view(d) for d in await devices.list_devices(tenant_slug)]
        out = [f"{'MAC':<13} {'MODEL':<14} {'TENANT':<12} {'LINES':<16} {'SEALED':<7} LAST FETCH"]
        for r in rows:
            exts = ",".join(line["extension"] for line in r["lines"]) or "-"
            out.append(
                f"{r['mac']:<13} {r['model']:<14} {r['tenant']:<12} {exts:<16} "
                f"{'yes' if r['sealed'] else 'no':<7} {r['last_fetch_at'] or 'never'}"
            )
        emit(as_json, rows, "\n".join(out))

    run_with_db(state, as_json, work)


@device.command("show")
@click.argument("mac")
@json_option
@click.pass_obj
def device_show(state: CliState, mac: str, as_json: bool) -> None:
    """Show one phone."""

    async def work(p: Platform) -> None:
        view = await devices.device_view(await devices.get_device(mac))
        emit(as_json, view, _device_text(view))

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
        files = await rendering.render_all(p, await devices.get_device(mac), reveal=reveal)
        for name, body in files.items():
            if filename in (None, name):
                click.echo(f"===== {name}" if filename is None else "", nl=filename is None)
                click.echo(body.decode())

    run_with_db(state, False, work)
