"""``provd codes``: the service codes users dial on their phones."""

from __future__ import annotations

import json
from typing import Any

import click
from tabulate import tabulate

from provd.cli.main import CliState, cli, emit, json_option, run_with_db
from provd.domain.service_codes import CODES
from provd.services.platform import Platform
from provd.services.service_codes import tenant_codes


def _tenant_text(view: dict[str, Any]) -> str:
    codes = tabulate(
        [(c["code"], c["meaning"]) for c in view["codes"]], headers=("CODE", "MEANING")
    )
    switches = tabulate(
        [(s["code"], s["schedule"], "on" if s["on"] else "off") for s in view["night_switches"]],
        headers=("NIGHT SWITCH", "SCHEDULE", "NOW"),
    )
    allowed = ", ".join(u["extension"] for u in view["may_switch_night"]) or "nobody"
    lamps = tabulate(
        [
            (a["code"], a["agent"], a["name"], "logged in" if a["logged_in"] else "logged out")
            for a in view["agent_lamps"]
        ],
        headers=("AGENT LAMP", "AGENT", "NAME", "NOW"),
    )
    return "\n\n".join(
        [
            codes,
            switches if view["night_switches"] else "No schedule: no night switch.",
            f"May flip the night switch: {allowed}",
            lamps if view["agent_lamps"] else "No queue agents: no agent lamps.",
            f"BLF keys pick up with {view['pickup_code']}; a BLF key on a night switch's"
            " code shows it lit while it is on; one on an agent's lamp (*903*EXT) shows it"
            " lit while the agent is logged in, and on the agent's own phone logs them in"
            " or out of every queue.",
        ]
    )


@cli.command("codes")
@click.option(
    "--tenant", "tenant_slug", help="Also this tenant's night switches and who may flip them."
)
@json_option
@click.pass_obj
def codes(state: CliState, tenant_slug: str | None, as_json: bool) -> None:
    """The service codes users dial to change their own forwarding, do-not-disturb,
    queue logins and (when allowed: user set --may-switch-night) the night switch. The
    same for every tenant; with --tenant, that tenant's night switches by number and
    their state, and its queue agents' login lamps."""
    if tenant_slug is None:
        if as_json:
            click.echo(
                json.dumps([{"code": c.code, "meaning": c.meaning} for c in CODES], indent=2)
            )
            return
        click.echo(tabulate([(c.code, c.meaning) for c in CODES], headers=("CODE", "MEANING")))
        return

    async def work(p: Platform) -> None:
        view = await tenant_codes(tenant_slug)
        emit(as_json, view, _tenant_text(view))

    run_with_db(state, as_json, work)
