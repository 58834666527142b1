"""`provd discovered …`: phones seen on the network (DHCP, SIP PnP) but not claimed yet."""

from __future__ import annotations

import click

from provd.cli.main import CliState, actor, cli, emit, fail, json_option, run_with_db
from provd.domain.mac import with_colons
from provd.services import discovery
from provd.services.platform import Platform


@cli.group()
def discovered() -> None:
    """Phones seen by `serve --dhcp-observe` or `--pnp` that are not devices yet."""


@discovered.command("list")
@json_option
@click.pass_obj
def discovered_list(state: CliState, as_json: bool) -> None:
    """List unclaimed phones, most recently seen first."""

    async def work(p: Platform) -> None:
        rows = [discovery.discovered_view(d) for d in await discovery.list_unclaimed()]
        out = [
            f"{'MAC':<18} {'VENDOR':<8} {'MODEL':<12} {'IP':<16} {'SOURCE':<9} "
            f"{'SEEN':>5} {'WANTS 66/43':<11} LAST SEEN"
        ]
        for r in rows:
            wants = any(o in r["requested_options"] for o in (66, 43))
            out.append(
                f"{with_colons(r['mac']):<18} {r['vendor'] or '?':<8} {r['model'] or '?':<12} "
                f"{r['ip'] or '?':<16} {r['source']:<9} {r['seen_count']:>5} "
                f"{'yes' if wants else 'no':<11} {r['last_seen_at']}"
            )
        if not rows:
            out = ["No unclaimed phones seen (serve --dhcp-observe IFACE or --pnp finds them)."]
        emit(as_json, rows, "\n".join(out))

    run_with_db(state, as_json, work)


@discovered.command("forget")
@click.argument("mac", required=False)
@click.option("--all", "forget_all", is_flag=True, help="Forget every listed (unclaimed) phone.")
@json_option
@click.pass_obj
def discovered_forget(state: CliState, mac: str | None, forget_all: bool, as_json: bool) -> None:
    """Forget MAC (or --all); a phone seen again reappears."""
    if bool(mac) == forget_all:
        fail("mac: give a MAC or --all (not both)", as_json=as_json)

    async def work(p: Platform) -> None:
        if forget_all:
            count = await discovery.forget_all(actor())
            emit(as_json, {"forgotten": count}, f"forgot {count} discovered phone(s)")
            return
        assert mac is not None
        await discovery.forget(actor(), mac)
        emit(as_json, {"forgotten": 1}, f"forgot {mac}")

    run_with_db(state, as_json, work)
