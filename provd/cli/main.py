"""The command group, shared options and the error convention.

Bad input prints one line naming the field and exits 1 (2 for usage errors,
as click does); with --json the error is printed as JSON on stdout too.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from tabulate import tabulate

from provd.db.connection import database, db_url_for, upgrade_schema
from provd.domain.errors import ProvdError
from provd.security.secretbox import SecretBox
from provd.services.audit import Actor
from provd.services.platform import Platform
from provd.settings import DEFAULT_DATA_DIR, SETTINGS_FILE, load_settings

T = TypeVar("T")


@dataclass(slots=True)
class CliState:
    data_dir: Path
    db_url: str | None

    @property
    def initialised(self) -> bool:
        return (self.data_dir / SETTINGS_FILE).exists()

    def platform(self) -> Platform:
        settings = load_settings(self.data_dir)
        if self.db_url:
            settings = settings.with_overrides(db_url=self.db_url)
        return Platform(self.data_dir, settings, SecretBox.load_or_create(self.data_dir))

    def url(self, platform: Platform) -> str:
        return db_url_for(self.data_dir, platform.settings.db_url)


def actor() -> Actor:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(f"cli:{who}")


def fail(message: str, *, as_json: bool, details: dict[str, Any] | None = None) -> None:
    if as_json:
        click.echo(json.dumps({"error": details or {"message": message}}))
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def run_with_db(state: CliState, as_json: bool, work: Callable[[Platform], Awaitable[T]]) -> T:
    """Run one command's work inside a database session, mapping errors to exit codes."""
    if not state.initialised:
        fail(
            f"{state.data_dir} is not initialised: run 'provd --data-dir {state.data_dir} init'",
            as_json=as_json,
        )
    platform = state.platform()

    async def go() -> T:
        url = state.url(platform)
        await upgrade_schema(url)
        async with database(url):
            return await work(platform)

    try:
        return asyncio.run(go())
    except ProvdError as e:
        as_dict = getattr(e, "as_dict", None)
        fail(str(e), as_json=as_json, details=as_dict() if as_dict else None)
        raise AssertionError("unreachable") from None


def emit(as_json: bool, data: Any, text: str) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else text)


def table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], *, right: Collection[int] = ()
) -> str:
    """Rows in columns as wide as their widest cell, for people (scripts read --json).

    Cells are printed as given: an extension such as 0201 is not read as a number.
    ``right`` holds the indexes of the columns aligned right (counts, IDs); no
    ``headers`` prints no header line.
    """
    width = len(headers) or max((len(r) for r in rows), default=0)
    align = tuple("right" if i in right else "left" for i in range(width))
    return tabulate(
        rows,
        headers=list(headers),
        tablefmt="plain",
        disable_numparse=True,
        colalign=align,
    )


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    # Made absolute here, once: Kamailio, rtpengine and the pid and lock files run in
    # other working directories, and the settings keep paths derived from it.
    type=click.Path(file_okay=False, path_type=Path, resolve_path=True),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Where provd keeps its database, keys and certificates (env PROVD_DATA_DIR).",
)
@click.option(
    "--db",
    "db_url",
    default=None,
    help="Database URL (default: SQLite in the data dir), e.g. postgres://u:p@host/provd",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: Path, db_url: str | None) -> None:
    """provd: provisioning and device management for SIP desk phones."""
    ctx.obj = CliState(data_dir=data_dir, db_url=db_url)
