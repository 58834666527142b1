"""``provd backup FILE`` and ``provd restore FILE``: the installation in one encrypted file.

The passphrase comes from ``--passphrase-file`` or ``PROVD_BACKUP_PASSPHRASE``, never
from the command line, where other users' ``ps`` and the shell's history would see it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, NoReturn

import click

from provd.cli.main import CliState, actor, cli, emit, fail, json_option, run_with_db
from provd.domain.errors import InvalidInput, ProvdError
from provd.services.backup import create_backup, restore_backup
from provd.services.platform import Platform

PASSPHRASE_ENV = "PROVD_BACKUP_PASSPHRASE"

_passphrase_option = click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"A file holding the passphrase (its first line); else ${PASSPHRASE_ENV}.",
)
_file_argument = click.argument(
    "file", type=click.Path(dir_okay=False, path_type=Path, resolve_path=True)
)


def _refuse(e: ProvdError, as_json: bool) -> NoReturn:
    as_dict = getattr(e, "as_dict", None)
    fail(str(e), as_json=as_json, details=as_dict() if as_dict else None)
    raise AssertionError("unreachable")


def _passphrase(path: Path | None) -> str:
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InvalidInput("passphrase_file", f"{path} cannot be read: {e}") from None
        return text.splitlines()[0] if text else ""
    if PASSPHRASE_ENV not in os.environ:
        raise InvalidInput(
            "passphrase", f"give --passphrase-file FILE or set {PASSPHRASE_ENV} (never argv)"
        )
    return os.environ[PASSPHRASE_ENV]


def _size(size: int) -> str:
    return f"{size / 1024**2:.1f} MiB" if size >= 1024**2 else f"{size} bytes"


def _contents(view: dict[str, Any]) -> str:
    return f"{view['files']} files, of which {view['firmware']} firmware images"


@cli.command()
@_file_argument
@_passphrase_option
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@json_option
@click.pass_obj
def backup(
    state: CliState, file: Path, passphrase_file: Path | None, force: bool, as_json: bool
) -> None:
    """Back up the database and the data directory into FILE, encrypted with a passphrase.

    Consistent while provd serve runs. FILE holds everything a fresh machine needs to
    serve the same configurations: the database, the secret key, the CA and
    certificates, the settings, the PBX secrets and the firmware images.
    """
    try:
        passphrase = _passphrase(passphrase_file)
    except ProvdError as e:
        _refuse(e, as_json)

    async def work(p: Platform) -> None:
        done = await create_backup(p, actor(), file, passphrase, force=force)
        view = done.as_dict()
        emit(
            as_json,
            view,
            "\n".join(
                [
                    f"Backed up {p.data_dir} to {view['file']}",
                    f"  database: {done.manifest.backend.label}, schema {view['schema']}",
                    f"  contents: {_contents(view)}",
                    f"  size:     {_size(view['size'])}, sha256 {view['sha256']}",
                    "Keep the passphrase apart from the file: without it nothing can be restored.",
                ]
            ),
        )

    run_with_db(state, as_json, work)


@cli.command()
@_file_argument
@_passphrase_option
@click.option(
    "--force",
    is_flag=True,
    help="Replace what the data directory (and, with --db, the database) already holds.",
)
@json_option
@click.pass_obj
def restore(
    state: CliState, file: Path, passphrase_file: Path | None, force: bool, as_json: bool
) -> None:
    """Restore the backup FILE into the data directory, which must be new or empty.

    The database goes into the data directory's SQLite file, or with --db into that
    PostgreSQL database (which must have no provd tables): a backup restores into
    the kind of database it was taken from. Stop provd serve before --force.
    """
    try:
        passphrase = _passphrase(passphrase_file)
        done = asyncio.run(
            restore_backup(
                file, passphrase, state.data_dir, actor(), db_url=state.db_url, force=force
            )
        )
    except ProvdError as e:
        _refuse(e, as_json)
    view = done.as_dict()
    m = done.manifest
    emit(
        as_json,
        view,
        "\n".join(
            [
                f"Restored {view['file']} into {view['data_dir']}",
                f"  backup:   taken {m.created_at} by provd {m.provd_version}",
                f"  database: {m.backend.label}, schema {m.schema} (now {done.schema})",
                f"  contents: {_contents(view)}",
            ]
        ),
    )
