"""``provd account …`` (console sign-ins) and ``provd token …`` (API bearer tokens)."""

from __future__ import annotations

import sys

import click

from provd.cli.main import CliState, actor, cli, emit, json_option, run_with_db, table
from provd.domain.access import Role
from provd.domain.passwords import generate_password
from provd.services.access import accounts, tokens
from provd.services.platform import Platform


def _read_password(from_stdin: bool) -> tuple[str, bool]:
    """The password to set and whether it was generated (then it is printed once)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return generate_password(20), True


@cli.group()
def account() -> None:
    """Who may sign in to the web console: admins, tenant admins and installers."""


@account.command("add")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.ADMIN.value,
    show_default=True,
)
@click.option(
    "--tenant", help="The tenant an installer or tenant admin works for (not for admins)."
)
@click.option("--name", "display_name", default="", help="Name shown in the console.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from stdin (default: generate one)."
)
@json_option
@click.pass_obj
def account_add(
    state: CliState,
    username: str,
    role: str,
    tenant: str | None,
    display_name: str,
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Add a console account; a generated password is printed once."""
    password, generated = _read_password(password_stdin)

    async def work(p: Platform) -> None:
        row = await accounts.add_account(
            actor(), username, password, role=role, tenant_slug=tenant, display_name=display_name
        )
        await row.fetch_related("tenant")
        view = accounts.account_view(row, row.tenant)
        if generated:
            view["password"] = password
        extra = f"\n  password: {password}   (shown once)" if generated else ""
        emit(as_json, view, f"Added {row.role} {row.username}{extra}")

    run_with_db(state, as_json, work)


@account.command("list")
@json_option
@click.pass_obj
def account_list(state: CliState, as_json: bool) -> None:
    """List console accounts."""

    async def work(p: Platform) -> None:
        rows = [accounts.account_view(a, t) for a, t in await accounts.list_accounts()]
        text = table(
            ["USERNAME", "ROLE", "TENANT", "LAST SIGN-IN"],
            [
                [r["username"], r["role"], r["tenant"] or "-", r["last_sign_in_at"] or "never"]
                for r in rows
            ],
        )
        emit(as_json, rows, text)

    run_with_db(state, as_json, work)


@account.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
@json_option
@click.pass_obj
def account_passwd(state: CliState, username: str, password_stdin: bool, as_json: bool) -> None:
    """Set a new password (generated unless given on stdin); signs the account out."""
    password, generated = _read_password(password_stdin)

    async def work(p: Platform) -> None:
        await accounts.set_password(actor(), username, password)
        view: dict[str, object] = {"username": username}
        if generated:
            view["password"] = password
        extra = f": {password}   (shown once)" if generated else ""
        emit(as_json, view, f"New password for {username}{extra}")

    run_with_db(state, as_json, work)


@account.command("remove")
@click.argument("username")
@json_option
@click.pass_obj
def account_remove(state: CliState, username: str, as_json: bool) -> None:
    """Remove a console account and end its sessions."""

    async def work(p: Platform) -> None:
        await accounts.remove_account(actor(), username)
        emit(as_json, {"removed": username}, f"Removed {username}")

    run_with_db(state, as_json, work)


@cli.group()
def token() -> None:
    """API bearer tokens: scoped to a role (and its tenant), optionally expiring."""


@token.command("create")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.ADMIN.value,
    show_default=True,
)
@click.option("--tenant", help="The tenant an installer or tenant-admin token works for.")
@click.option("--days", type=int, help="Expire after this many days (default: never).")
@json_option
@click.pass_obj
def token_create(
    state: CliState, name: str, role: str, tenant: str | None, days: int | None, as_json: bool
) -> None:
    """Create a token; it is printed once and stored only as a hash."""

    async def work(p: Platform) -> None:
        value = await tokens.create_token(actor(), name, role=role, days=days, tenant_slug=tenant)
        emit(as_json, {"name": name, "role": role, "tenant": tenant, "token": value}, value)

    run_with_db(state, as_json, work)


@token.command("list")
@json_option
@click.pass_obj
def token_list(state: CliState, as_json: bool) -> None:
    """List tokens (never their values)."""

    async def work(p: Platform) -> None:
        rows = await tokens.list_tokens()
        text = table(
            ["ID", "NAME", "ROLE", "TENANT", "EXPIRES"],
            [
                [r["id"], r["name"], r["role"], r["tenant"] or "-", r["expires_at"] or "never"]
                for r in rows
            ],
            right={0},
        )
        emit(as_json, rows, text)

    run_with_db(state, as_json, work)


@token.command("revoke")
@click.argument("token_id", type=int)
@json_option
@click.pass_obj
def token_revoke(state: CliState, token_id: int, as_json: bool) -> None:
    """Revoke a token by its id (see ``provd token list``)."""

    async def work(p: Platform) -> None:
        await tokens.revoke_token(actor(), token_id)
        emit(as_json, {"revoked": token_id}, f"Revoked token {token_id}")

    run_with_db(state, as_json, work)
