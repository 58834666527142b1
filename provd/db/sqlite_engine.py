"""tortoise's SQLite client with transactions that take the write lock when they begin.

SQLite begins a transaction deferred: it reads from a snapshot and asks for the write
lock at its first write. If another process committed since that snapshot (a second
worker under ``serve --workers``, a CLI command beside serve), the upgrade cannot wait
for anything and fails at once with "database is locked": an admin's change made while
phones booted failed with a 500. ``BEGIN IMMEDIATE`` takes the write lock first,
waiting for it with the connection's busy timeout, so the transaction's reads and
writes see one state and it fails only if the lock stays taken that long. Transactions
in one process were already serialised by tortoise's lock; this orders them between
processes. Reads outside transactions are not affected.
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError

ENGINE = __name__


class _ImmediateTransaction(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ProvdSqliteClient(SqliteClient):
    def _in_transaction(self) -> SqliteTransactionContext:
        return SqliteTransactionContext(_ImmediateTransaction(self), self._lock)


client_class = ProvdSqliteClient
