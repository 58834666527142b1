"""``provd queues …``: a tenant's call queues, their agents, logins and figures
(services.queues)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db, table
from provd.domain import queues as rules
from provd.domain.errors import InvalidInput
from provd.services import queues
from provd.services.destinations import describe
from provd.services.platform import Platform
from provd.services.queues import agents, stats

_DESTINATION = (
    "user:EXT, group:EXT, external:NUMBER, scheduled:NAME, menu:EXT, voicemail:EXT,"
    " queue:EXT or none"
)
_STRATEGIES = ", ".join(s.value for s in rules.Strategy)


def _agents_text(view: dict[str, Any]) -> list[str]:
    return [
        f"  {a['position']}. {a['extension']} {a['name']}"
        + (f" (logged in since {a['logged_in_at']})" if a["logged_in"] else " (logged out)")
        for a in view["agents"]
    ] or ["  (none)"]


def _text(view: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"queue: {view['extension']} ({view['name']}) in {view['tenant']}",
            f"strategy: {view['strategy']}",
            f"ring_seconds: {view['ring_seconds']}",
            f"max_wait_seconds: {view['max_wait_seconds']}",
            f"failover: {describe(view['failover'])}",
            f"moh: {view['moh'] or 'default (the tenant music on hold)'}",
            f"intro: {view['intro'] or 'none'}",
            f"periodic: {view['periodic'] or 'none'} every {view['periodic_seconds']} s",
            f"announce_position: {'yes' if view['announce_position'] else 'no'}",
            f"numbers: {', '.join(view['numbers']) or 'none'}",
            "agents:",
            *_agents_text(view),
        ]
    )


_queue_options = [
    click.option("--name", help="What the queue is called (shown on the agent's phone)."),
    click.option("--strategy", help=f"Who is offered a caller first: {_STRATEGIES}."),
    click.option("--ring", "ring_seconds", type=int, help="Seconds an offer rings, 5 to 120."),
    click.option(
        "--max-wait", "max_wait_seconds", type=int, help="Seconds before the failover, 10 to 3600."
    ),
    click.option("--failover", help=f"Where a caller goes after the maximum wait: {_DESTINATION}."),
    click.option("--moh", help="Music on hold (a sound's name, or none: the tenant's)."),
    click.option("--intro", help="Played once as the caller enters (a sound, or none)."),
    click.option("--periodic", help="Played every --periodic-seconds (a sound, or none)."),
    click.option("--periodic-seconds", type=int, help="Seconds between periodic messages."),
    click.option(
        "--announce-position/--no-announce-position",
        default=None,
        help="Tell callers their position in the queue.",
    ),
]


def _with_queue_options(f: Any) -> Any:
    for option in reversed(_queue_options):
        f = option(f)
    return f


@cli.group("queues")
def queues_group() -> None:
    """Call queues: an extension that holds callers and offers them to logged-in agents."""


@queues_group.command("list")
@click.argument("tenant")
@json_option
@click.pass_obj
def queues_list(state: CliState, tenant: str, as_json: bool) -> None:
    """List TENANT's queues."""

    async def work(p: Platform) -> None:
        views = await queues.list_queues(tenant)
        rows = [
            [
                v["extension"],
                v["name"],
                v["strategy"],
                f"{sum(a['logged_in'] for a in v['agents'])}/{len(v['agents'])}",
                describe(v["failover"]),
            ]
            for v in views
        ]
        text = table(["EXT", "NAME", "STRATEGY", "LOGGED IN", "FAILOVER"], rows)
        emit(as_json, views, text)

    run_with_db(state, as_json, work)


@queues_group.command("show")
@click.argument("tenant")
@click.argument("extension")
@json_option
@click.pass_obj
def queues_show(state: CliState, tenant: str, extension: str, as_json: bool) -> None:
    """Show the queue at EXTENSION of TENANT."""

    async def work(p: Platform) -> None:
        view = await queues.show_queue(tenant, extension)
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)


@queues_group.command("add")
@click.argument("tenant")
@click.argument("extension")
@_with_queue_options
@click.option("--agent", "agent_list", multiple=True, help="A user's extension, in order.")
@json_option
@click.pass_obj
def queues_add(
    state: CliState,
    tenant: str,
    extension: str,
    name: str | None,
    strategy: str | None,
    ring_seconds: int | None,
    max_wait_seconds: int | None,
    failover: str | None,
    moh: str | None,
    intro: str | None,
    periodic: str | None,
    periodic_seconds: int | None,
    announce_position: bool | None,
    agent_list: tuple[str, ...],
    as_json: bool,
) -> None:
    """Add a queue at EXTENSION of TENANT (--name is required); agents start logged out."""

    async def work(p: Platform) -> None:
        if name is None:
            raise InvalidInput("name", "is required (--name)")
        view = await queues.add_queue(
            p,
            actor(),
            tenant,
            extension,
            name,
            strategy=strategy or queues.DEFAULT_STRATEGY.value,
            ring_seconds=rules.DEFAULT_RING_SECONDS if ring_seconds is None else ring_seconds,
            max_wait_seconds=(
                rules.DEFAULT_MAX_WAIT_SECONDS if max_wait_seconds is None else max_wait_seconds
            ),
            failover=failover,
            moh=moh,
            intro=intro,
            periodic=periodic,
            periodic_seconds=(
                rules.DEFAULT_PERIODIC_SECONDS if periodic_seconds is None else periodic_seconds
            ),
            announce_position=bool(announce_position),
            agents=list(agent_list),
        )
        emit(as_json, view, f"Added queue {view['extension']} ({view['name']})\n{_text(view)}")

    run_with_db(state, as_json, work)


@queues_group.command("set")
@click.argument("tenant")
@click.argument("extension")
@_with_queue_options
@json_option
@click.pass_obj
def queues_set(
    state: CliState,
    tenant: str,
    extension: str,
    name: str | None,
    strategy: str | None,
    ring_seconds: int | None,
    max_wait_seconds: int | None,
    failover: str | None,
    moh: str | None,
    intro: str | None,
    periodic: str | None,
    periodic_seconds: int | None,
    announce_position: bool | None,
    as_json: bool,
) -> None:
    """Change a queue's settings (its agents: provd queues agents)."""

    async def work(p: Platform) -> None:
        view = await queues.update_queue(
            p,
            actor(),
            tenant,
            extension,
            name=name,
            strategy=strategy,
            ring_seconds=ring_seconds,
            max_wait_seconds=max_wait_seconds,
            failover=failover,
            moh=moh,
            intro=intro,
            periodic=periodic,
            periodic_seconds=periodic_seconds,
            announce_position=announce_position,
        )
        emit(as_json, view, _text(view))

    run_with_db(state, as_json, work)


@queues_group.command("remove")
@click.argument("tenant")
@click.argument("extension")
@json_option
@click.pass_obj
def queues_remove(state: CliState, tenant: str, extension: str, as_json: bool) -> None:
    """Remove a queue and its agents (not while a number or a destination points at it);
    its callers' records stay in the tenant's figures."""

    async def work(p: Platform) -> None:
        await queues.remove_queue(p, actor(), tenant, extension)
        emit(as_json, {"removed": extension, "tenant": tenant}, f"Removed queue {extension}")

    run_with_db(state, as_json, work)


@queues_group.command("agents")
@click.argument("tenant")
@click.argument("extension")
@click.option("--add", "add", help="Make this user (extension) an agent, last or at --position.")
@click.option("--position", type=int, help="With --add: 1 is first.")
@click.option("--remove", "remove", help="This agent (extension) is one no more.")
@click.option("--order", help="Every agent's extension, comma-separated, in the new order.")
@json_option
@click.pass_obj
def queues_agents(
    state: CliState,
    tenant: str,
    extension: str,
    add: str | None,
    position: int | None,
    remove: str | None,
    order: str | None,
    as_json: bool,
) -> None:
    """List the queue's agents, or change them: one of --add, --remove or --order."""

    async def work(p: Platform) -> None:
        given = [o for o, v in (("--add", add), ("--remove", remove), ("--order", order)) if v]
        if len(given) > 1:
            raise InvalidInput("agents", f"give one of {', '.join(given)}, not several")
        if position is not None and add is None:
            raise InvalidInput("position", "goes with --add")
        if add is not None:
            view = await agents.add_agent(p, actor(), tenant, extension, add, position=position)
        elif remove is not None:
            view = await agents.remove_agent(p, actor(), tenant, extension, remove)
        elif order is not None:
            wanted = [e.strip() for e in order.split(",") if e.strip()]
            view = await agents.order_agents(p, actor(), tenant, extension, wanted)
        else:
            view = await queues.show_queue(tenant, extension)
        emit(as_json, view["agents"], "\n".join(_agents_text(view)))

    run_with_db(state, as_json, work)


def _login_command(on: bool) -> Any:
    word = "login" if on else "logout"

    @queues_group.command(word)
    @click.argument("tenant")
    @click.argument("agent")
    @click.option("--queue", help="This queue only (its extension); else every queue of AGENT.")
    @json_option
    @click.pass_obj
    def command(state: CliState, tenant: str, agent: str, queue: str | None, as_json: bool) -> None:
        async def work(p: Platform) -> None:
            change = await agents.set_login(p, actor(), tenant, agent, on, queue=queue)
            done = "logged in to" if on else "logged out of"
            text = (
                f"{change.agent} {done} queue {', '.join(change.changed)}"
                if change.changed
                else f"{change.agent} was {done} queue {', '.join(change.unchanged)} already"
            )
            data = {
                "agent": change.agent,
                "logged_in": on,
                "changed": list(change.changed),
                "unchanged": list(change.unchanged),
            }
            emit(as_json, data, text)

        run_with_db(state, as_json, work)

    command.__doc__ = (
        f"Log the user at AGENT {'in to' if on else 'out of'} their queues (as *90"
        f"{3 if on else 4} does from the phone)."
    )
    return command


queues_login = _login_command(True)
queues_logout = _login_command(False)


@queues_group.command("stats")
@click.argument("tenant")
@click.argument("extension")
@click.option(
    "--period",
    type=click.Choice(stats.PERIODS),
    default="today",
    show_default=True,
    help="today: since midnight in the tenant's time zone; 7d: the last seven days.",
)
@json_option
@click.pass_obj
def queues_stats(state: CliState, tenant: str, extension: str, period: str, as_json: bool) -> None:
    """The queue's figures: answered, abandoned, failed over, waits, and per agent."""

    async def work(p: Platform) -> None:
        view = await stats.period_stats(p, tenant, extension, period, datetime.now(UTC))
        rows = [[a["extension"], a["name"], a["answered"], a["talk_s"]] for a in view["agents"]]
        text = "\n".join(
            [
                f"queue {view['queue']} of {view['tenant']}, {period} (since {view['since']})",
                f"waiting now: {view['waiting']}",
                f"offered: {view['offered']}",
                f"answered: {view['answered']}",
                f"abandoned: {view['abandoned']}",
                f"failed over: {view['failed_over']}",
                f"average wait: {view['average_wait_s']} s",
                f"longest wait: {view['longest_wait_s']} s",
                "",
                table(["AGENT", "NAME", "ANSWERED", "TALK S"], rows, right={2, 3}),
            ]
        )
        emit(as_json, view, text)

    run_with_db(state, as_json, work)
