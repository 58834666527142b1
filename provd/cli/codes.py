"""``provd codes``: the service codes users dial on their phones."""

from __future__ import annotations

import json

import click
from tabulate import tabulate

from provd.cli.main import cli, json_option
from provd.domain.service_codes import CODES


@cli.command("codes")
@json_option
def codes(as_json: bool) -> None:
    """The service codes users dial to change their own forwarding, do-not-disturb and
    (when allowed: user set --may-switch-night) the night switch. The same for every
    tenant."""
    if as_json:
        click.echo(json.dumps([{"code": c.code, "meaning": c.meaning} for c in CODES], indent=2))
        return
    click.echo(tabulate([(c.code, c.meaning) for c in CODES], headers=("CODE", "MEANING")))
