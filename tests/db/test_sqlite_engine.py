"""Transactions on SQLite wait for another process's writes instead of failing: a change
made through one worker while another records phones' fetches (provd/db/sqlite_engine)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from provd.db.connection import database, db_url_for, upgrade_schema

# A second Python process and seconds of lock waits: kept out of the quick tier.
pytestmark = pytest.mark.slow

TRANSACTIONS = 40
MAX_TRANSACTIONS = 2000

# Another process writing as fast as it can, until the test removes its go-file.
_WRITER = textwrap.dedent(
    """
    import asyncio, pathlib, sys
    from tortoise import connections
    from provd.db.connection import database

    async def main(url, go):
        async with database(url):
            conn = connections.get("default")
            await conn.execute_script("CREATE TABLE IF NOT EXISTS beat (x INTEGER)")
            print("writing", flush=True)
            while go.exists():
                await conn.execute_query("INSERT INTO beat VALUES (1)")
                await asyncio.sleep(0.001)

    asyncio.run(main(sys.argv[1], pathlib.Path(sys.argv[2])))
    """
)


async def test_a_read_then_write_transaction_waits_for_another_process(tmp_path: Path) -> None:
    url = db_url_for(tmp_path)
    await upgrade_schema(url)
    go = tmp_path / "go"
    go.touch()
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, url, str(go)], stdout=subprocess.PIPE, text=True
    )
    failures: list[str] = []
    done = 0
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
        async with database(url):
            beats = "SELECT count(*) AS n FROM beat"
            before = (await connections.get("default").execute_query_dict(beats))[0]["n"]
            after = before
            # At least TRANSACTIONS, and on until the other process has written
            # meanwhile: on a loaded machine it may not run during the first ones.
            while done < TRANSACTIONS or (after == before and done < MAX_TRANSACTIONS):
                done += 1
                try:
                    async with in_transaction() as conn:
                        # Read, let the other process commit, then write: a deferred
                        # transaction's upgrade to a writer fails at once here.
                        await conn.execute_query("SELECT count(*) FROM tenant")
                        await conn.execute_query("SELECT count(*) FROM beat")
                        await conn.execute_query("UPDATE tenant SET name = name")
                except Exception as e:  # counted, shown below
                    failures.append(repr(e))
                after = (await connections.get("default").execute_query_dict(beats))[0]["n"]
    finally:
        go.unlink()
        assert writer.wait(timeout=30) == 0
        if writer.stdout is not None:
            writer.stdout.close()
    # The other process really wrote meanwhile: the test raced something.
    assert after > before
    assert failures == [], f"{len(failures)} of {done} failed, e.g. {failures[0]}"
