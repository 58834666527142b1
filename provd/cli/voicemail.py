"""``provd voicemail …``: the messages in a tenant's mailboxes (services.voicemail)."""

from __future__ import annotations

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db, table
from provd.services import pbx, voicemail
from provd.services.platform import Platform


@cli.group("voicemail")
def voicemail_group() -> None:
    """Voicemail messages callers left in users' mailboxes."""


@voicemail_group.command("list")
@click.argument("tenant")
@click.argument("extension", required=False)
@json_option
@click.pass_obj
def voicemail_list(state: CliState, tenant: str, extension: str | None, as_json: bool) -> None:
    """List TENANT's messages (EXTENSION's only, if given), newest first."""

    async def work(p: Platform) -> None:
        views = await voicemail.list_messages(tenant, extension)
        rows = [
            [
                v["id"],
                v["mailbox"],
                v["received_at"],
                " ".join(x for x in (v["caller_name"], v["caller"]) if x) or "unknown",
                f"{v['duration_ms'] / 1000:.0f}s",
                v["reason"] or "-",
                "yes" if v["heard"] else "no",
            ]
            for v in views
        ]
        text = table(
            ["ID", "MAILBOX", "RECEIVED", "CALLER", "LENGTH", "REASON", "HEARD"],
            rows,
            right={0, 4},
        )
        emit(as_json, views, text)

    run_with_db(state, as_json, work)


@voicemail_group.command("heard")
@click.argument("tenant")
@click.argument("message_id", metavar="ID")
@json_option
@click.pass_obj
def voicemail_heard(state: CliState, tenant: str, message_id: str, as_json: bool) -> None:
    """Mark message ID heard; the user's phones are told (their lamp)."""

    async def work(p: Platform) -> None:
        view, user = await voicemail.mark_heard(p, actor(), tenant, message_id)
        lamp = await voicemail.update_lamp(pbx.open_control(p.data_dir, p.settings.db_url), user)
        emit(as_json, {**view, "lamp": lamp}, f"Message {view['id']} heard (lamp: {lamp})")

    run_with_db(state, as_json, work)


@voicemail_group.command("remove")
@click.argument("tenant")
@click.argument("message_id", metavar="ID")
@json_option
@click.pass_obj
def voicemail_remove(state: CliState, tenant: str, message_id: str, as_json: bool) -> None:
    """Remove message ID and its recording."""

    async def work(p: Platform) -> None:
        user = await voicemail.remove_message(p, actor(), tenant, message_id)
        lamp = await voicemail.update_lamp(pbx.open_control(p.data_dir, p.settings.db_url), user)
        emit(
            as_json,
            {"removed": int(message_id), "tenant": tenant, "lamp": lamp},
            f"Removed message {message_id} (lamp: {lamp})",
        )

    run_with_db(state, as_json, work)


@voicemail_group.command("email")
@click.argument("tenant")
@click.argument("extension")
@click.argument("address")
@json_option
@click.pass_obj
def voicemail_email(
    state: CliState, tenant: str, extension: str, address: str, as_json: bool
) -> None:
    """E-mail copies of EXTENSION's messages to ADDRESS (``none``: stop)."""

    async def work(p: Platform) -> None:
        given = None if address.strip().lower() == "none" else address
        view = await voicemail.set_email(p, actor(), tenant, extension, given)
        emit(as_json, view, f"Voicemail copies of {extension}: {view['email'] or 'none'}")

    run_with_db(state, as_json, work)
