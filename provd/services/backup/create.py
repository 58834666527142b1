"""``provd backup``: the database and the data directory, consistent, in one encrypted file.

Taken while ``serve`` runs: the database is copied from one snapshot (SQLite's online
backup, or one PostgreSQL read-only transaction) before anything else, then the files
(:mod:`provd.services.backup.contents`). The file is written under a temporary name
next to its destination and renamed at the end: a failed backup leaves nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import provd
from provd.db.connection import db_url_for, sqlite_path
from provd.domain.audit_actions import AuditAction
from provd.domain.backup import Backend, Manifest, backend_of, check_passphrase
from provd.domain.errors import InvalidInput
from provd.services import audit
from provd.services.backup import postgres, sqlite
from provd.services.backup.archive import member_sizes, write_archive
from provd.services.backup.contents import (
    SQLITE_MEMBER,
    Snapshot,
    Source,
    data_files,
    firmware_files,
    sound_files,
    table_member,
    voicemail_files,
)
from provd.services.backup.placement import fsync_dir
from provd.services.platform import Platform


@dataclass(frozen=True, slots=True)
class BackupResult:
    file: Path
    size: int
    sha256: str
    manifest: Manifest

    def as_dict(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "file": str(self.file),
            "size": self.size,
            "sha256": self.sha256,
            "backend": m.backend.value,
            "schema": m.schema,
            "provd_version": m.provd_version,
            "created_at": m.created_at,
            "files": len(m.members),
            "firmware": m.firmware,
        }


def _check_destination(path: Path, *, force: bool) -> None:
    if path.is_dir():
        raise InvalidInput("file", f"{path} is a directory")
    if path.exists() and not force:
        raise InvalidInput("file", f"{path} exists: name a new file, or give --force to replace it")
    if not path.parent.is_dir():
        raise InvalidInput("file", f"{path.parent} is not a directory")


async def _snapshot(db_url: str, work: Path) -> tuple[Snapshot, list[Source]]:
    if backend_of(db_url) is Backend.SQLITE:
        source = sqlite_path(db_url)
        if source is None:
            raise InvalidInput("db", "an in-memory database cannot be backed up")
        copy = work / "provd.sqlite3"
        snap = await asyncio.to_thread(sqlite.snapshot, source, copy)
        return snap, [Source(SQLITE_MEMBER, copy)]
    snap = await postgres.dump(db_url, postgres.provd_tables(), work)
    return snap, [Source(table_member(t.name), work / f"{t.name}.copy") for t in snap.tables]


async def create_backup(
    p: Platform, actor: audit.Actor, path: Path, passphrase: str, *, force: bool = False
) -> BackupResult:
    """Back up ``p``'s database and data directory into ``path``, encrypted with
    ``passphrase``; the database must be open (its audit log gets the row)."""
    check_passphrase(passphrase)
    path = path.absolute()
    _check_destination(path, force=force)
    db_url = db_url_for(p.data_dir, p.settings.db_url)
    files = data_files(p.data_dir, p.settings)
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        snap, db_sources = await _snapshot(db_url, work)
        sources = [
            *files,
            *db_sources,
            *firmware_files(p.data_dir, snap.firmware),
            *sound_files(p.data_dir),
            *voicemail_files(p.data_dir),
        ]
        manifest = Manifest(
            provd_version=provd.__version__,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            backend=backend_of(db_url),
            schema=snap.schema,
            members=member_sizes(sources),
            tables=snap.tables,
            firmware=len(snap.firmware),
        )
        written = work / "backup"
        size, sha256 = await asyncio.to_thread(
            write_archive, written, passphrase, manifest, sources
        )
        os.replace(written, path)
        fsync_dir(path.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = BackupResult(path, size, sha256, manifest)
    after = {k: v for k, v in result.as_dict().items() if k != "file"}
    await audit.record(actor, AuditAction.BACKUP_CREATE, "backup", str(path), after=after)
    return result
