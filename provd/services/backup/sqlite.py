"""SQLite: a consistent copy of the live database, and the check of a restored one."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from provd.db.connection import APP
from provd.domain.backup import last_migration
from provd.domain.errors import InvalidInput
from provd.services.backup.contents import Snapshot

_BUSY_TIMEOUT_S = 30.0


def snapshot(source: Path, dest: Path) -> Snapshot:
    """Copy the database at ``source`` into a new file ``dest``.

    SQLite's online backup in one step over every page reads in one transaction, so
    the copy is the database at one instant while ``serve`` goes on writing (in WAL
    mode writers do not wait for it). A copy of the files could catch the database
    between a write to its WAL and the checkpoint.
    """
    if not source.is_file():
        raise InvalidInput("db", f"the database {source} does not exist")
    os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    src = sqlite3.connect(source, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
    try:
        dst = sqlite3.connect(dest, isolation_level=None)
        try:
            src.backup(dst, pages=-1)
            _check(dst, "quick_check", f"the database {source}")
            applied = dst.execute("SELECT name FROM tortoise_migrations WHERE app = ?", (APP,))
            schema = last_migration([str(name) for (name,) in applied])
            firmware = dst.execute("SELECT sha256 FROM firmware_image ORDER BY sha256")
            return Snapshot(schema, tuple(str(digest) for (digest,) in firmware))
        finally:
            # The last connection's close checkpoints the copy's WAL into the file.
            dst.close()
    finally:
        src.close()


def check_integrity(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        _check(conn, "integrity_check", "the backup's database")
    finally:
        conn.close()


def _check(conn: sqlite3.Connection, pragma: str, what: str) -> None:
    result = [str(row[0]) for row in conn.execute(f"PRAGMA {pragma}")]
    if result != ["ok"]:
        raise InvalidInput("file", f"{what} fails SQLite's {pragma}: {'; '.join(result[:3])}")
