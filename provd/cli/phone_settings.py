"""``provd tenant set`` and ``provd device set``: network, proxy and module settings."""

from __future__ import annotations

import click

from provd.cli.devices import device
from provd.cli.inventory import tenant
from provd.cli.main import CliState, actor, emit, json_option, run_with_db
from provd.services import devices
from provd.services.directory import tenants
from provd.services.platform import Platform


@tenant.command("set")
@click.argument("slug")
@click.option("--vlan-lan", help="VLAN of the phones' LAN port: ID[:PRIORITY] or off.")
@click.option("--vlan-pc", help="VLAN of the phones' PC port: ID[:PRIORITY] or off.")
@click.option("--lldp", help="on or off.")
@click.option("--sip-proxy", help="HOST[:PORT] phones send SIP to, or 'default' (the platform's).")
@click.option("--pickup-code", help="Prefix dialled to pick up a watched call (e.g. *8).")
@click.option("--timezone", help="IANA time zone, e.g. Europe/Amsterdam.")
@json_option
@click.pass_obj
def tenant_set(
    state: CliState,
    slug: str,
    vlan_lan: str | None,
    vlan_pc: str | None,
    lldp: str | None,
    sip_proxy: str | None,
    pickup_code: str | None,
    timezone: str | None,
    as_json: bool,
) -> None:
    """Change a tenant's defaults for its phones."""

    async def work(p: Platform) -> None:
        t = await tenants.update_tenant(
            p,
            actor(),
            slug,
            vlan_lan=vlan_lan,
            vlan_pc=vlan_pc,
            lldp=lldp,
            sip_proxy=sip_proxy,
            pickup_code=pickup_code,
            timezone=timezone,
        )
        view = tenants.tenant_view(t)
        emit(as_json, view, "\n".join(f"{k}: {v}" for k, v in view.items()))

    run_with_db(state, as_json, work)


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
