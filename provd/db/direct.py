"""Plain SQL for the phone path: rows as tuples, no ORM, and on SQLite no thread hop.

A phone's boot asks the database a few small questions (the audit mark, who a username
is, the rows its configuration is made of) and notes when it came. Through the ORM each
question costs building the query and model objects, and on SQLite a round trip to
aiosqlite's thread, together about twenty times the query itself. Here SQL is written
once, with ``?`` placeholders, and rows come back as tuples:

- SQLite (a file): reads run on a connection of this module's own, in the calling
  thread (the event loop's), as the query takes microseconds. WAL lets them run while
  tortoise's connection writes, and each sees the last committed transaction, whoever
  wrote it. The connection is read-only (``query_only``), never creates the file, and
  never waits for a lock: a read that finds the database locked (not in WAL mode, or
  being recovered) goes through tortoise's connection instead.
- PostgreSQL: tortoise's connection, which asyncpg serves without a thread; the
  placeholders become ``$1``, ``$2``, ...

Writes (:func:`execute_many`) always go through tortoise's connection, in one
transaction, so that they queue with every other write of the process.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.sqlite.client import SqliteClient

Row = tuple[Any, ...]

_local = threading.local()
_numbered: dict[str, str] = {}
_PLACEHOLDER = re.compile(r"\?")


def _client() -> BaseDBAsyncClient:
    client: BaseDBAsyncClient = connections.get("default")
    return client


def _for_postgres(sql: str) -> str:
    numbered = _numbered.get(sql)
    if numbered is None:
        count = iter(range(1, sql.count("?") + 1))
        numbered = _numbered[sql] = _PLACEHOLDER.sub(lambda _: f"${next(count)}", sql)
    return numbered


def _dialect(client: BaseDBAsyncClient, sql: str) -> str:
    return sql if isinstance(client, SqliteClient) else _for_postgres(sql)


def _own_connection() -> sqlite3.Connection | None:
    """This thread's read connection to the database's SQLite file; None when it is
    not a file or cannot be opened (then reads go through tortoise's connection).

    Opened once per ``database()``, which closes it on the way out; not checked against
    tortoise's connection on every read, as asking tortoise for it costs more than a
    small query."""
    held: tuple[sqlite3.Connection | None] | None = getattr(_local, "held", None)
    if held is not None:
        return held[0]
    client = _client()
    conn = None
    if isinstance(client, SqliteClient) and client.filename not in ("", ":memory:"):
        try:
            # mode=rw: never create the file (tortoise makes it, with its mode set first).
            conn = sqlite3.connect(
                f"file:{client.filename}?mode=rw", uri=True, timeout=0, isolation_level=None
            )
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error:
            conn = None
    _local.held = (conn,)
    return conn


async def fetch(sql: str, params: Sequence[Any] = ()) -> list[Row]:
    """The rows of a SELECT."""
    conn = _own_connection()
    if conn is not None:
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise
    client = _client()
    _, rows = await client.execute_query(_dialect(client, sql), list(params))
    return [tuple(r) for r in rows]


async def execute(sql: str, params: Sequence[Any] = ()) -> list[Row]:
    """One statement through tortoise's connection (a write queues with the process's
    others); the rows it returns (``RETURNING``)."""
    client = _client()
    # Not execute_query: on asyncpg it runs an INSERT without fetching what it returns.
    rows = await client.execute_query_dict(_dialect(client, sql), list(params))
    return [tuple(r.values()) for r in rows]


async def execute_many(sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """One statement for each of ``rows``, in one transaction."""
    client = _client()
    await client.execute_many(_dialect(client, sql), [list(r) for r in rows])


def close() -> None:
    """Close this thread's read connection (``database()`` does on the way out)."""
    held = getattr(_local, "held", None)
    _local.held = None
    if held is not None and held[0] is not None:
        held[0].close()


def as_datetime(value: Any) -> datetime | None:
    """A timestamp column as read: SQLite keeps tortoise's ISO text, asyncpg converts."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def as_bool(value: Any) -> bool | None:
    """A boolean column as read: SQLite keeps 0 and 1."""
    return None if value is None else bool(value)
