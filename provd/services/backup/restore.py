"""``provd restore``: a backup into a new data directory (and, on PostgreSQL, database).

Everything that can be refused is refused before anything is written: a wrong
passphrase or a schema newer than this provd's at the file's first bytes, a damaged
or truncated file before the restored directory takes the target's place (every
chunk is checked while it is unpacked into a directory next to the target). On
PostgreSQL the database is loaded only once the whole file checked out, in one
transaction. The restored database is then migrated to this provd's schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import pkgutil
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import provd.db.migrations
from provd.db.connection import database, db_url_for, upgrade_schema
from provd.domain.audit_actions import AuditAction
from provd.domain.backup import (
    Backend,
    Manifest,
    backend_of,
    check_restorable,
    is_migration,
    last_migration,
)
from provd.domain.errors import InvalidInput
from provd.services import audit
from provd.services.backup import postgres, sqlite
from provd.services.backup.archive import ArchiveReader
from provd.services.backup.contents import ADMIN_TLS, DATA, DB, SQLITE_MEMBER, TLS
from provd.services.backup.placement import check_target, put_in_place, staging_dir
from provd.settings import load_settings, save_settings


@dataclass(frozen=True, slots=True)
class RestoreResult:
    data_dir: Path
    file: Path
    manifest: Manifest
    schema: str
    """This provd's schema, which the restored database was migrated to."""

    def as_dict(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "data_dir": str(self.data_dir),
            "file": str(self.file),
            "backend": m.backend.value,
            "created_at": m.created_at,
            "provd_version": m.provd_version,
            "backup_schema": m.schema,
            "schema": self.schema,
            "files": len(m.members),
            "firmware": m.firmware,
        }


def migration_names() -> list[str]:
    """This provd's migrations, by name."""
    found = pkgutil.iter_modules(provd.db.migrations.__path__)
    return sorted(m.name for m in found if is_migration(m.name))


def _unpack(source: Path, passphrase: str, target: Path, backend: Backend) -> tuple[Path, Manifest]:
    """Check the backup and unpack it next to ``target``; returns the staging directory."""
    with source.open("rb") as f:
        archive = ArchiveReader(f, passphrase)
        manifest = archive.manifest()
        check_restorable(manifest, migration_names(), backend)
        staging = staging_dir(target)
        try:
            (staging / DATA).mkdir(mode=0o700)
            archive.extract(staging, manifest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return staging, manifest


def _settle_files(staging: Path, target: Path, db_url: str | None) -> None:
    """The restored settings name the database restored into (when they named one) and
    the admin's certificate where it now is."""
    built = staging / DATA
    if (staging / TLS).is_dir():
        os.rename(staging / TLS, built / TLS)
    settings = load_settings(built)
    changes: dict[str, Any] = {}
    if settings.db_url is not None:
        changes["db_url"] = db_url
    for setting, member in ADMIN_TLS.items():
        if (built / member).is_file():
            changes[setting] = str(target / member)
    if changes:
        save_settings(built, dataclasses.replace(settings, **changes))


async def _record(db_url: str, actor: audit.Actor, source: Path, manifest: Manifest) -> None:
    async with database(db_url):
        await audit.record(
            actor,
            AuditAction.BACKUP_RESTORE,
            "backup",
            str(source),
            after={
                "created_at": manifest.created_at,
                "provd_version": manifest.provd_version,
                "backend": manifest.backend.value,
                "schema": manifest.schema,
            },
        )


async def _restore_sqlite(staging: Path, actor: audit.Actor, source: Path, m: Manifest) -> None:
    built = staging / DATA
    db_file = built / "provd.sqlite3"
    os.rename(staging / SQLITE_MEMBER, db_file)
    await asyncio.to_thread(sqlite.check_integrity, db_file)
    url = db_url_for(built)
    await upgrade_schema(url)
    await _record(url, actor, source, m)


async def _provd_tables(db_url: str, also: Iterable[str] = ()) -> list[str]:
    """provd's tables in the target database: this provd's, and ``also`` the backup's."""
    async with database(db_url):
        ours = postgres.provd_tables()
    return await postgres.tables_present(db_url, ours | set(also))


async def _restore_postgres(
    db_url: str, staging: Path, actor: audit.Actor, source: Path, m: Manifest, *, force: bool
) -> None:
    backed_up = [t.name for t in m.tables]
    present = await _provd_tables(db_url, backed_up)
    if present and not force:
        raise _occupied_database(present)
    await postgres.drop(db_url, present)
    try:
        await upgrade_schema(db_url, up_to=m.schema)
        await postgres.load(db_url, m.tables, staging / DB)
    except BaseException:
        # Tables made for the backup but left empty would make the next try refuse.
        with contextlib.suppress(Exception):
            await postgres.drop(db_url, await _provd_tables(db_url, backed_up))
        raise
    await upgrade_schema(db_url)
    await _record(db_url, actor, source, m)


def _occupied_database(tables: list[str]) -> InvalidInput:
    shown = ", ".join(tables[:3]) + (", …" if len(tables) > 3 else "")
    return InvalidInput(
        "db",
        f"the database already has provd's tables ({shown}): restore into an empty database,"
        " or give --force to replace them",
    )


async def restore_backup(
    source: Path,
    passphrase: str,
    data_dir: Path,
    actor: audit.Actor,
    *,
    db_url: str | None = None,
    force: bool = False,
) -> RestoreResult:
    """Restore ``source`` into ``data_dir`` (missing or empty unless ``force``) and its
    database: the data directory's SQLite file, or the PostgreSQL ``db_url``."""
    if not passphrase:
        raise InvalidInput("passphrase", "is empty")
    source, data_dir = source.absolute(), data_dir.absolute()
    if not source.is_file():
        raise InvalidInput("file", f"{source} is not a file")
    check_target(data_dir, force=force)
    if data_dir in source.parents:
        raise InvalidInput("file", f"{source} is inside {data_dir}, which a restore replaces")
    url = db_url_for(data_dir, db_url)
    backend = backend_of(url)
    # Refused before the file is read, as a non-empty data directory is.
    if backend is Backend.POSTGRES and not force and (present := await _provd_tables(url)):
        raise _occupied_database(present)
    staging, manifest = await asyncio.to_thread(_unpack, source, passphrase, data_dir, backend)
    try:
        _settle_files(staging, data_dir, db_url)
        if backend is Backend.SQLITE:
            await _restore_sqlite(staging, actor, source, manifest)
        else:
            await _restore_postgres(url, staging, actor, source, manifest, force=force)
        put_in_place(staging / DATA, data_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RestoreResult(data_dir, source, manifest, last_migration(migration_names()))
