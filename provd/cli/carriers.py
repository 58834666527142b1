"""``provd carrier …``: the upstream SIP providers that reach the telephone network."""

from __future__ import annotations

import sys

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db, table
from provd.domain.errors import InvalidInput
from provd.services import carriers
from provd.services.carriers.state import probe_answer
from provd.services.platform import Platform


@cli.group()
def carrier() -> None:
    """Carriers: SIP providers calls go out through and come in from."""


@carrier.command("add")
@click.argument("name")
@click.option("--host", required=True, help="HOST[:PORT]; the port defaults to 5060 (TLS 5061).")
@click.option(
    "--transport",
    type=click.Choice([t.value for t in carriers.Transport]),
    default="udp",
    show_default=True,
)
@click.option("--username", help="Register with the carrier as this user (needs a password).")
@click.option("--password", help="The registration password; stored sealed, never shown.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the registration password from the first line of stdin (kept out of the"
    " shell history and the process list).",
)
@click.option(
    "--inbound-from",
    "inbound_from",
    multiple=True,
    help="A network the carrier's calls come from (CIDR; repeatable).",
)
@click.option(
    "--priority",
    type=int,
    default=10,
    show_default=True,
    help="Lower is tried first.",
)
@json_option
@click.pass_obj
def carrier_add(
    state: CliState,
    name: str,
    host: str,
    transport: str,
    username: str | None,
    password: str | None,
    password_stdin: bool,
    inbound_from: tuple[str, ...],
    priority: int,
    as_json: bool,
) -> None:
    """Add a carrier; its host must resolve."""

    async def work(p: Platform) -> None:
        row = await carriers.add_carrier(
            p,
            actor(),
            name,
            host,
            transport=transport,
            username=username,
            password=_password(password, from_stdin=password_stdin),
            inbound_from=inbound_from,
            priority=priority,
        )
        emit(
            as_json,
            carriers.carrier_view(row),
            f"Added carrier {row.name} ({row.transport}:{row.host}:{row.port},"
            f" priority {row.priority})",
        )

    run_with_db(state, as_json, work)


def _password(given: str | None, *, from_stdin: bool) -> str | None:
    if not from_stdin:
        return given
    if given is not None:
        raise InvalidInput("password", "give --password or --password-stdin, not both")
    # The first line only, as `account add --password-stdin` reads: a password has no
    # line break, and `echo` or a here-string adds one.
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InvalidInput("password", "--password-stdin read an empty line")
    return password


@carrier.command("list")
@json_option
@click.pass_obj
def carrier_list(state: CliState, as_json: bool) -> None:
    """List carriers in the order they are tried."""

    async def work(p: Platform) -> None:
        listed = await carriers.list_carriers()
        rows = [carriers.carrier_view(c) for c in listed]
        text = table(
            [
                "NAME",
                "PRIORITY",
                "HOST",
                "PORT",
                "TRANSPORT",
                "REGISTERS",
                "INBOUND FROM",
                "STATE",
                "LAST OPTIONS ANSWER",
            ],
            [
                [
                    r["name"],
                    r["priority"],
                    r["host"],
                    r["port"],
                    r["transport"],
                    f"as {r['username']}" if r["registers"] else "no",
                    ", ".join(r["inbound_from"]) or "-",
                    r["state"],
                    probe_answer(c).describe()
                    + (f" at {r['probed_at']}" if r["probed_at"] else ""),
                ]
                for r, c in zip(rows, listed, strict=True)
            ],
            right=(1, 3),
        )
        emit(as_json, rows, text)

    run_with_db(state, as_json, work)


@carrier.command("remove")
@click.argument("name")
@json_option
@click.pass_obj
def carrier_remove(state: CliState, name: str, as_json: bool) -> None:
    """Remove a carrier."""

    async def work(p: Platform) -> None:
        await carriers.remove_carrier(p, actor(), name)
        emit(as_json, {"removed": name}, f"Removed carrier {name}")

    run_with_db(state, as_json, work)
