"""Connections to Kamailio's database: an SQLite file of its own, or PostgreSQL.

Only the few statements provd needs are here (running Debian's schema files,
reading and reconciling ``subscriber``). Kamailio's tables are never mapped in
provd's ORM: their shape belongs to the installed Kamailio.
"""

from __future__ import annotations

import asyncio
import importlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from provd.pbx.settings import DbEngine, PbxSettings

# Writers exclude each other even in WAL mode; Kamailio's write-back timer
# holds the lock for milliseconds, so waiting a little is enough.
_SQLITE_BUSY_TIMEOUT_S = 5.0

StoredSubscriber = tuple[str, str, str, str, str, str, str]
"""(username, domain, ha1, ha1b, aor_user, trunk, allow_ips) as stored."""
_SUBSCRIBER_COLUMNS = "username, domain, ha1, ha1b, aor_user, trunk, allow_ips"
_SUBSCRIBER_UPDATE = (
    "ON CONFLICT (username, domain) DO UPDATE SET ha1 = excluded.ha1, ha1b = excluded.ha1b,"
    " aor_user = excluded.aor_user, trunk = excluded.trunk, allow_ips = excluded.allow_ips"
)

StoredRegistration = tuple[str, str, str, str, str, str, str, str, int]
"""uacreg: (l_uuid, l_username, l_domain, r_username, r_domain, auth_username,
auth_password, auth_proxy, expires) as stored."""
_UACREG_COLUMNS = (
    "l_uuid, l_username, l_domain, r_username, r_domain, auth_username, auth_password,"
    " auth_proxy, expires"
)


class KamailioDb(Protocol):
    engine: DbEngine

    async def execute_script(self, sql: str) -> None: ...

    async def tables(self) -> set[str]: ...

    async def columns(self, table: str) -> set[str]: ...

    async def table_versions(self) -> dict[str, int]: ...

    async def fetch_subscribers(self) -> list[StoredSubscriber]: ...

    async def replace_subscribers(
        self,
        upserts: Sequence[StoredSubscriber],
        deletes: Sequence[tuple[str, str]],
    ) -> None:
        """Insert or update ``upserts`` and delete ``deletes`` in one transaction."""
        ...

    async def fetch_registrations(self) -> list[StoredRegistration]: ...

    async def replace_registrations(self, rows: Sequence[StoredRegistration]) -> None:
        """Make ``uacreg`` hold exactly ``rows``, in one transaction."""
        ...

    async def close(self) -> None: ...


class SqliteKamailioDb:
    engine = DbEngine.SQLITE

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=_SQLITE_BUSY_TIMEOUT_S, isolation_level=None)
        return conn

    def _run(self, fn: Any, *args: Any) -> Any:
        conn = self._connect()
        try:
            return fn(conn, *args)
        finally:
            conn.close()

    async def execute_script(self, sql: str) -> None:
        def run(conn: sqlite3.Connection) -> None:
            # WAL keeps Kamailio's auth reads from waiting on provd's writes.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript("BEGIN;\n" + sql + "\nCOMMIT;")

        await asyncio.to_thread(self._run, run)

    async def tables(self) -> set[str]:
        def run(conn: sqlite3.Connection) -> set[str]:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
            return {str(r[0]) for r in rows}

        result: set[str] = await asyncio.to_thread(self._run, run)
        return result

    async def columns(self, table: str) -> set[str]:
        def run(conn: sqlite3.Connection) -> set[str]:
            rows = conn.execute("SELECT name FROM pragma_table_info(?)", (table,)).fetchall()
            return {str(r[0]) for r in rows}

        result: set[str] = await asyncio.to_thread(self._run, run)
        return result

    async def table_versions(self) -> dict[str, int]:
        def run(conn: sqlite3.Connection) -> dict[str, int]:
            rows = conn.execute("SELECT table_name, table_version FROM version").fetchall()
            return {str(r[0]): int(r[1]) for r in rows}

        result: dict[str, int] = await asyncio.to_thread(self._run, run)
        return result

    async def fetch_subscribers(self) -> list[StoredSubscriber]:
        def run(conn: sqlite3.Connection) -> list[StoredSubscriber]:
            rows = conn.execute(f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscriber").fetchall()
            return [_subscriber(r) for r in rows]

        result: list[StoredSubscriber] = await asyncio.to_thread(self._run, run)
        return result

    async def replace_subscribers(
        self, upserts: Sequence[StoredSubscriber], deletes: Sequence[tuple[str, str]]
    ) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "DELETE FROM subscriber WHERE username = ? AND domain = ?", deletes
                )
                conn.executemany(
                    f"INSERT INTO subscriber ({_SUBSCRIBER_COLUMNS}) "
                    f"VALUES (?, ?, ?, ?, ?, ?, ?) {_SUBSCRIBER_UPDATE}",
                    upserts,
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await asyncio.to_thread(self._run, run)

    async def fetch_registrations(self) -> list[StoredRegistration]:
        def run(conn: sqlite3.Connection) -> list[StoredRegistration]:
            rows = conn.execute(f"SELECT {_UACREG_COLUMNS} FROM uacreg").fetchall()
            return [_registration(r) for r in rows]

        result: list[StoredRegistration] = await asyncio.to_thread(self._run, run)
        return result

    async def replace_registrations(self, rows: Sequence[StoredRegistration]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM uacreg")
                conn.executemany(
                    f"INSERT INTO uacreg ({_UACREG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await asyncio.to_thread(self._run, run)

    async def close(self) -> None:
        return None


class PostgresKamailioDb:
    """Kamailio's tables in provd's PostgreSQL database (asyncpg, the ``postgres`` extra)."""

    engine = DbEngine.POSTGRES

    def __init__(self, url: str) -> None:
        self.url = "postgresql://" + url.split("://", 1)[1].split("?", 1)[0]
        self._pool: Any = None

    async def _get_pool(self) -> Any:
        if self._pool is None:
            try:
                asyncpg = importlib.import_module("asyncpg")
            except ImportError:
                from provd.pbx.errors import PbxError

                raise PbxError(
                    "PostgreSQL needs the asyncpg package: pip install 'provd[postgres]'"
                ) from None
            self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=2)
        return self._pool

    async def execute_script(self, sql: str) -> None:
        pool = await self._get_pool()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(sql)

    async def tables(self) -> set[str]:
        pool = await self._get_pool()
        rows = await pool.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {str(r[0]) for r in rows}

    async def columns(self, table: str) -> set[str]:
        pool = await self._get_pool()
        rows = await pool.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = $1",
            table,
        )
        return {str(r[0]) for r in rows}

    async def table_versions(self) -> dict[str, int]:
        pool = await self._get_pool()
        rows = await pool.fetch("SELECT table_name, table_version FROM version")
        return {str(r[0]): int(r[1]) for r in rows}

    async def fetch_subscribers(self) -> list[StoredSubscriber]:
        pool = await self._get_pool()
        rows = await pool.fetch(f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscriber")
        return [_subscriber(tuple(r)) for r in rows]

    async def replace_subscribers(
        self, upserts: Sequence[StoredSubscriber], deletes: Sequence[tuple[str, str]]
    ) -> None:
        pool = await self._get_pool()
        async with pool.acquire() as conn, conn.transaction():
            if deletes:
                await conn.executemany(
                    "DELETE FROM subscriber WHERE username = $1 AND domain = $2", deletes
                )
            if upserts:
                await conn.executemany(
                    f"INSERT INTO subscriber ({_SUBSCRIBER_COLUMNS}) "
                    f"VALUES ($1, $2, $3, $4, $5, $6, $7) {_SUBSCRIBER_UPDATE}",
                    upserts,
                )

    async def fetch_registrations(self) -> list[StoredRegistration]:
        pool = await self._get_pool()
        rows = await pool.fetch(f"SELECT {_UACREG_COLUMNS} FROM uacreg")
        return [_registration(tuple(r)) for r in rows]

    async def replace_registrations(self, rows: Sequence[StoredRegistration]) -> None:
        pool = await self._get_pool()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM uacreg")
            if rows:
                await conn.executemany(
                    f"INSERT INTO uacreg ({_UACREG_COLUMNS}) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    rows,
                )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def _subscriber(row: Sequence[Any]) -> StoredSubscriber:
    a, b, c, d, e, f, g = (str(t) for t in row)
    return (a, b, c, d, e, f, g)


def _registration(row: Sequence[Any]) -> StoredRegistration:
    *texts, expires = row
    a, b, c, d, e, f, g, h = (str(t) for t in texts)
    return (a, b, c, d, e, f, g, h, int(expires))


def open_kamailio_db(settings: PbxSettings) -> KamailioDb:
    if settings.engine is DbEngine.POSTGRES:
        assert settings.db_url is not None
        return PostgresKamailioDb(settings.db_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteKamailioDb(settings.sqlite_path)
