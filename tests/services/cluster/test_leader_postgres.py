"""The leader lease on PostgreSQL: a session advisory lock, freed when its session ends."""

from __future__ import annotations

import importlib
from pathlib import Path

from provd.services.cluster.leader import PostgresLease, lease_for
from tests.pg import create_database


async def test_one_holder_and_the_lock_freed_with_its_session(
    postgres_server: str, tmp_path: Path
) -> None:
    url = create_database(postgres_server, "provd_leader")
    first, second = PostgresLease(url), PostgresLease(url)
    assert isinstance(lease_for(tmp_path, url), PostgresLease)
    try:
        assert await first.acquire()
        assert not await second.acquire()
        assert await first.held()
        # The holder's session ends as when its host vanishes or it is killed: the
        # server frees the lock, and the holder learns it has lost it.
        asyncpg = importlib.import_module("asyncpg")
        admin = await asyncpg.connect("postgresql://" + url.split("://", 1)[1])
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'provd leader' AND pid IN "
                "(SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
            )
        finally:
            await admin.close()
        assert ended == 1
        assert await second.acquire()
        assert not await first.held()
        assert not await first.acquire()
        await second.release()
        assert await first.acquire()
    finally:
        await first.release()
        await second.release()


async def test_a_lease_on_another_database_is_another_lease(postgres_server: str) -> None:
    one = PostgresLease(create_database(postgres_server, "provd_leader_one"))
    two = PostgresLease(create_database(postgres_server, "provd_leader_two"))
    try:
        assert await one.acquire()
        assert await two.acquire()
    finally:
        await one.release()
        await two.release()
