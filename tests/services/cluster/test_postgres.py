"""The shared tables on PostgreSQL, as several nodes use them: the first claim of a
nonce wins once, and failures counted through two limiters block together."""

from __future__ import annotations

import asyncio

from provd.db.connection import database, upgrade_schema
from provd.security.ratelimit import FailureRule
from provd.services.cluster.nonces import DatabaseClaims, delete_expired
from provd.services.cluster.throttle import SharedLimiter, delete_forgotten
from tests.pg import create_database


async def test_claims_and_failure_counts_on_postgresql(postgres_server: str) -> None:
    url = create_database(postgres_server, "provd_cluster")
    await upgrade_schema(url)
    async with database(url):
        a, b = DatabaseClaims("node-a:1"), DatabaseClaims("node-b:1")
        won = await asyncio.gather(*(c.claim("n" * 48, 1_000) for c in (a, b, a, b)))
        assert sorted(won) == [False, False, False, True]
        assert await delete_expired(1_001) == 1
        assert await b.claim("n" * 48, 1_000)

        now = [1_800_000_000.0]
        rule = FailureRule()
        nodes = [SharedLimiter("phone address", rule, clock=lambda: now[0]) for _ in range(2)]
        started = await asyncio.gather(*(n.record_failure("192.0.2.1") for n in nodes * 5))
        assert started.count(True) == 1
        assert await nodes[0].blocked_for("192.0.2.1") == 60
        now[0] += 61 + 86400
        assert await delete_forgotten(now[0]) == 1
