"""A backup taken while another connection writes is the database at one instant."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from provd.services.backup import create_backup, restore_backup
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.services.backup.fleet import PASSPHRASE

ROWS_PER_COMMIT = 10


class Writer(threading.Thread):
    """Commits ROWS_PER_COMMIT rows at a time, as fast as it can, until stopped: a
    consistent copy holds a whole number of commits, from between the backup's start
    and its end."""

    def __init__(self, database: Path) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.commits = 0
        self.error: BaseException | None = None
        self.started_writing = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            conn = sqlite3.connect(self.database, timeout=30, isolation_level=None)
            try:
                while not self.stop.is_set():
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany(
                        "INSERT INTO probe (batch, payload) VALUES (?, ?)",
                        [(self.commits, b"x" * 2000)] * ROWS_PER_COMMIT,
                    )
                    conn.execute("COMMIT")
                    self.commits += 1
                    if self.commits == 20:
                        self.started_writing.set()
            finally:
                conn.close()
        except BaseException as e:
            self.error = e
            self.started_writing.set()


async def test_a_backup_during_writes_restores_to_a_sound_database_of_one_instant(
    platform: Platform, tmp_path_factory: pytest.TempPathFactory
) -> None:
    database = platform.data_dir / "provd.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, batch INTEGER, payload BLOB)")
    writer = Writer(database)
    writer.start()
    try:
        assert writer.started_writing.wait(60)
        assert writer.error is None, writer.error
        before = writer.commits
        out = tmp_path_factory.mktemp("out")
        await create_backup(platform, TEST_ACTOR, out / "backup.provd", PASSPHRASE)
        after = writer.commits
    finally:
        writer.stop.set()
        writer.join(60)
    assert writer.error is None, writer.error

    await restore_backup(out / "backup.provd", PASSPHRASE, out / "data", TEST_ACTOR)
    with sqlite3.connect(out / "data" / "provd.sqlite3") as restored:
        assert restored.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows, batches = restored.execute(
            "SELECT COUNT(*), COUNT(DISTINCT batch) FROM probe"
        ).fetchone()
        incomplete = restored.execute(
            "SELECT COUNT(*) FROM (SELECT batch FROM probe GROUP BY batch HAVING COUNT(*) != ?)",
            (ROWS_PER_COMMIT,),
        ).fetchone()[0]
    assert incomplete == 0 and rows == batches * ROWS_PER_COMMIT
    # Every commit made before the backup began is in it; none after it ended.
    assert before <= batches <= after + 1
