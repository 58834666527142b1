"""`provd discovered …`: phones seen on the network (DHCP, SIP PnP) but not claimed yet."""

from __future__ import annotations

import click

from provd.cli.main import CliState, actor, cli, emit, fail, json_option, run_with_db, table
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
        headers = ["MAC", "VENDOR", "MODEL", "IP", "SOURCE", "SEEN", "WANTS 66/43", "LAST SEEN"]
        cells = [
            [
                with_colons(r["mac"]),
                r["vendor"] or "?",
                r["model"] or "?",
                r["ip"] or "?",
                r["source"],
                r["seen_count"],
                "yes" if any(o in r["requested_options"] for o in (66, 43)) else "no",
                r["last_seen_at"],
            ]
            for r in rows
        ]
        out = [table(headers, cells, right={5})]
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
