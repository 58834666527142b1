"""``provd voicemail …``: the messages in a tenant's mailboxes (services.voicemail) and
each mailbox's PIN and greeting (services.voicemail.mailbox)."""

from __future__ import annotations

import sys

import click

from provd.cli.main import CliState, actor, cli, emit, fail, json_option, run_with_db, table
from provd.services import pbx, voicemail
from provd.services.platform import Platform
from provd.services.voicemail import mailbox


@cli.group("voicemail")
def voicemail_group() -> None:
    """Voicemail: the messages callers left, and each mailbox's PIN and greeting."""


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


@voicemail_group.command("pin")
@click.argument("tenant")
@click.argument("extension")
@click.option("--pin", help="The PIN: 4-8 digits (it stays in your shell's history).")
@click.option("--pin-stdin", is_flag=True, help="Read the PIN from stdin.")
@click.option("--clear", is_flag=True, help="No PIN: the mailbox cannot be opened with *1233.")
@json_option
@click.pass_obj
def voicemail_pin(
    state: CliState,
    tenant: str,
    extension: str,
    pin: str | None,
    pin_stdin: bool,
    clear: bool,
    as_json: bool,
) -> None:
    """Set the PIN EXTENSION types after dialling *1233 (stored only hashed)."""
    if sum((pin is not None, pin_stdin, clear)) != 1:
        fail("give exactly one of --pin, --pin-stdin and --clear", as_json=as_json)
    given = sys.stdin.readline().rstrip("\n") if pin_stdin else pin

    async def work(p: Platform) -> None:
        view = await mailbox.set_pin(actor(), tenant, extension, None if clear else given or "")
        said = "set" if view["pin_set"] else "cleared"
        emit(as_json, view, f"Voicemail PIN of {extension}: {said}")

    if not clear and not (given or "").strip():
        fail("voicemail_pin: must not be empty (--clear removes it)", as_json=as_json)
    run_with_db(state, as_json, work)


@voicemail_group.command("greeting")
@click.argument("tenant")
@click.argument("extension")
@click.argument("sound")
@json_option
@click.pass_obj
def voicemail_greeting(
    state: CliState, tenant: str, extension: str, sound: str, as_json: bool
) -> None:
    """Make SOUND (one of TENANT's sounds) what callers to EXTENSION's mailbox hear before
    the tone (``none``: the tone alone)."""

    async def work(p: Platform) -> None:
        given = None if sound.strip().lower() == "none" else sound
        view = await mailbox.set_greeting(actor(), tenant, extension, given)
        emit(as_json, view, f"Voicemail greeting of {extension}: {view['greeting'] or 'none'}")

    run_with_db(state, as_json, work)


@voicemail_group.command("show")
@click.argument("tenant")
@click.argument("extension")
@json_option
@click.pass_obj
def voicemail_show(state: CliState, tenant: str, extension: str, as_json: bool) -> None:
    """EXTENSION's mailbox: PIN set or not, greeting, e-mail copies."""

    async def work(p: Platform) -> None:
        view = await mailbox.show_mailbox(tenant, extension)
        text = "\n".join(
            [
                f"Mailbox:  {view['extension']} ({view['tenant']})",
                f"PIN:      {'set' if view['pin_set'] else 'none (*1233 is refused)'}",
                f"Greeting: {view['greeting'] or 'none'}",
                f"E-mail:   {view['email'] or 'none'}",
            ]
        )
        emit(as_json, view, text)

    run_with_db(state, as_json, work)
