"""Kamailio's call accounting as provd reads it back.

Kamailio's acc module writes every call once (see ``kamailio.cfg``, "Call records"):

- an answered call as one ``acc_cdrs`` row when its dialog ends (dialog-based CDRs,
  timed from the 200 OK: ``cdr_start_on_confirmed``); acc writes a zero-second CDR
  for a dialog that failed too, which is not read: that call is its ``acc`` row;
- a call never answered (busy, no answer, cancelled, failed, refused by provd's plan)
  as one ``acc`` row with the final reply's code and reason (``failed_transaction_flag``).
  The ``acc`` table also gets a row for each answered INVITE; those are the CDR's.

provd's columns (``ACC_COLUMNS``) carry what provd's plan knew (tenant, call type,
caller, callee...). They are all nullable: acc loses the whole row when a value for a
NOT NULL column is unset (routing-notes §8), and a CDR without them beats no CDR.
"""

from __future__ import annotations

import asyncio
import importlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from provd.pbx.database import KamailioDb, PostgresKamailioDb, SqliteKamailioDb

_PLAN_COLUMNS = (
    ("setup_time", "VARCHAR(32)"),
    ("tenant", "VARCHAR(64)"),
    ("call_type", "VARCHAR(64)"),
    ("caller", "VARCHAR(64)"),
    ("callee", "VARCHAR(64)"),
    ("dialled", "VARCHAR(64)"),
    ("tenant_number", "VARCHAR(64)"),
    ("src_user", "VARCHAR(64)"),
    ("trunk", "VARCHAR(64)"),
    ("hunt_group", "VARCHAR(64)"),
)
ACC_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "acc": (*_PLAN_COLUMNS, ("reject_reason", "VARCHAR(128)")),
    # acc_cdrs has no Call-ID of its own: the key that ties a CDR to its INVITE's row.
    "acc_cdrs": (("callid", "VARCHAR(255)"), *_PLAN_COLUMNS),
}
PLAN_FIELDS = tuple(name for name, _ in _PLAN_COLUMNS)
RESTART_REASON = "Ended by a restart of the PBX"
"""The reason of a record of a call that was up when Kamailio stopped: its dialog was
in Kamailio's memory only, so acc never wrote its CDR (AccReader.interrupted)."""
CUT_REASON = "Cut: spend limit reached"
"""The reason of the acc row kamailio.cfg writes when cnxcc ends a call whose spend
budget ran out (event_route[cnxcc:call-shutdown]): acc writes no CDR for that call."""


@dataclass(frozen=True)
class AccRow:
    """One row of ``acc_cdrs`` (``table="acc_cdrs"``) or a failed INVITE's ``acc`` row.

    Times are Unix seconds (UTC). ``setup`` is when the INVITE arrived (provd's
    ``setup_time`` column; None when the cfg could not set it).
    """

    table: Literal["acc", "acc_cdrs"]
    id: int
    callid: str
    setup: float | None
    answer: float | None
    end: float
    duration: float
    sip_code: int | None
    sip_reason: str
    tenant: str
    call_type: str
    caller: str
    callee: str
    dialled: str
    tenant_number: str
    user: str
    trunk: str
    group: str
    reject_reason: str

    @property
    def source_key(self) -> str:
        """Unique per Kamailio row: what makes collecting it twice a no-op."""
        return f"{self.table}:{self.id}"


_SELECT_COLUMNS = ", ".join(PLAN_FIELDS)
# Seconds since 1970 from what the engine stores: db_sqlite writes Julian days (REAL),
# PostgreSQL a timestamp; both are UTC as Kamailio writes them.
_SQLITE_EPOCH = "(julianday({0}) - 2440587.5) * 86400.0"
_PG_EPOCH = "EXTRACT(EPOCH FROM {0})"


def _select(
    table: Literal["acc", "acc_cdrs"], epoch: str, placeholders: tuple[str, str, str]
) -> str:
    after, upto, limit = placeholders
    if table == "acc_cdrs":
        times = f"{epoch.format('start_time')}, {epoch.format('end_time')}, duration, NULL, ''"
        # acc also ends the dialog of a call never answered with a CDR (zero seconds);
        # that call's record is its acc row, so only dialogs whose INVITE got a 2xx count.
        where = (
            " AND EXISTS (SELECT 1 FROM acc WHERE acc.callid = acc_cdrs.callid"
            " AND acc.method = 'INVITE' AND acc.sip_code LIKE '2%')"
        )
        callid = "callid"
        reason = "''"
    else:
        return _select_acc(epoch, placeholders)
    return (
        f"SELECT id, {callid}, {times}, {_SELECT_COLUMNS}, {reason} FROM {table}"
        f" WHERE id > {after} AND id <= {upto}{where} ORDER BY id LIMIT {limit}"
    )


def _select_acc(epoch: str, placeholders: tuple[str, str, str]) -> str:
    after, upto, limit = placeholders
    # The INVITE's final reply when it was not a 2xx: a call never answered.
    failed = (
        f"SELECT id, callid, NULL AS answer, {epoch.format('time')} AS ended, 0 AS duration,"
        f" sip_code, sip_reason, {_SELECT_COLUMNS}, reject_reason FROM acc"
        f" WHERE id > {after} AND id <= {upto} AND method = 'INVITE'"
        " AND sip_code NOT LIKE '1%' AND sip_code NOT LIKE '2%'"
    )
    # A call cnxcc cut (CUT_REASON): answered at its INVITE's 2xx row, which also has
    # provd's columns; ended at the cut. None of a call that got a CDR after all.
    answered = f"{epoch.format('i.time')}"
    ended = f"{epoch.format('c.time')}"
    columns = ", ".join(f"i.{name}" for name in PLAN_FIELDS)
    cut = (
        f"SELECT c.id, c.callid, {answered}, {ended}, {ended} - {answered},"
        f" c.sip_code, c.sip_reason, {columns}, '' FROM acc c JOIN acc i"
        " ON i.callid = c.callid AND i.method = 'INVITE' AND i.sip_code LIKE '2%'"
        f" WHERE c.id > {after} AND c.id <= {upto} AND c.method <> 'INVITE'"
        f" AND c.sip_reason = '{CUT_REASON}'"
        " AND NOT EXISTS (SELECT 1 FROM acc_cdrs WHERE acc_cdrs.callid = c.callid)"
    )
    return f"SELECT * FROM ({failed} UNION ALL {cut}) calls ORDER BY id LIMIT {limit}"


def _select_interrupted(epoch: str, placeholders: tuple[str, str, str]) -> str:
    started, since, limit = placeholders
    answered = epoch.format("i.time")
    columns = ", ".join(f"i.{name}" for name in PLAN_FIELDS)
    # Answered before the running Kamailio started, and never ended in a CDR (nor cut):
    # the call ended when the Kamailio before it stopped. The end is known only as no
    # later than this start.
    return (
        f"SELECT i.id, i.callid, {answered}, {started}, {started} - {answered},"
        f" i.sip_code, '{RESTART_REASON}', {columns}, '' FROM acc i"
        f" WHERE i.method = 'INVITE' AND i.sip_code LIKE '2%'"
        f" AND {answered} < {started} AND {answered} > {since}"
        " AND NOT EXISTS (SELECT 1 FROM acc_cdrs c WHERE c.callid = i.callid)"
        " AND NOT EXISTS (SELECT 1 FROM acc c WHERE c.callid = i.callid"
        f" AND c.method <> 'INVITE' AND c.sip_reason = '{CUT_REASON}')"
        f" ORDER BY i.id LIMIT {limit}"
    )


def _row(table: Literal["acc", "acc_cdrs"], r: Sequence[Any]) -> AccRow:
    (rid, callid, answer, end, duration, code, reason, setup, *plan, reject) = r
    texts = [str(v) if v is not None else "" for v in plan]
    return AccRow(
        table=table,
        id=int(rid),
        callid=str(callid or ""),
        setup=_float(setup),
        answer=_float(answer),
        end=float(end),
        duration=float(duration or 0),
        sip_code=int(code) if code not in (None, "") else None,
        sip_reason=str(reason or ""),
        tenant=texts[0],
        call_type=texts[1],
        caller=texts[2],
        callee=texts[3],
        dialled=texts[4],
        tenant_number=texts[5],
        user=texts[6],
        trunk=texts[7],
        group=texts[8],
        reject_reason=str(reject or ""),
    )


def _float(value: object) -> float | None:
    try:
        return float(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except ValueError:
        return None


class AccReader:
    """Reads acc's rows from Kamailio's database, in id order, a batch at a time."""

    def __init__(self, db: KamailioDb) -> None:
        self.db = db

    async def max_id(self, table: Literal["acc", "acc_cdrs"]) -> int:
        rows = await self._fetch(f"SELECT MAX(id) FROM {table}", ())
        return int(rows[0][0] or 0) if rows else 0

    async def rows(
        self, table: Literal["acc", "acc_cdrs"], after: int, upto: int, limit: int
    ) -> list[AccRow]:
        """Rows with ``after < id <= upto`` that are calls (see the module docstring)."""
        if isinstance(self.db, SqliteKamailioDb):
            sql = _select(table, _SQLITE_EPOCH, ("?1", "?2", "?3"))
        else:
            sql = _select(table, _PG_EPOCH, ("$1", "$2", "$3"))
        return [_row(table, r) for r in await self._fetch(sql, (after, upto, limit))]

    async def interrupted(self, started: float, since: float, limit: int) -> list[AccRow]:
        """Calls answered after ``since`` that were still up when the running Kamailio
        started (Unix seconds), as ``acc`` rows ending at that start."""
        if isinstance(self.db, SqliteKamailioDb):
            sql = _select_interrupted(_SQLITE_EPOCH, ("?1", "?2", "?3"))
        else:
            sql = _select_interrupted(_PG_EPOCH, ("$1::float8", "$2::float8", "$3"))
        return [_row("acc", r) for r in await self._fetch(sql, (started, since, limit))]

    async def prune(
        self, table: Literal["acc", "acc_cdrs"], upto: int, before: float, limit: int
    ) -> int:
        """Delete at most ``limit`` rows with ``id <= upto`` (rows provd has read) written
        before ``before`` (Unix seconds), oldest first; the number deleted. One short
        statement: Kamailio waits for the lock only that long."""
        column = "end_time" if table == "acc_cdrs" else "time"
        if isinstance(self.db, SqliteKamailioDb):
            epoch, (a, b, c) = _SQLITE_EPOCH.format(column), ("?1", "?2", "?3")
        else:
            epoch, (a, b, c) = _PG_EPOCH.format(column), ("$1", "$2", "$3")
        sql = (
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table}"
            f" WHERE id <= {a} AND {epoch} < {b} ORDER BY id LIMIT {c})"
        )
        return await self._delete(sql, (upto, before, limit))

    async def _delete(self, sql: str, params: tuple[object, ...]) -> int:
        db = self.db
        if isinstance(db, SqliteKamailioDb):
            path = db.path

            def run() -> int:
                conn = sqlite3.connect(path, timeout=5.0, isolation_level=None)
                try:
                    return int(conn.execute(sql, params).rowcount)
                finally:
                    conn.close()

            return await asyncio.to_thread(run)
        if isinstance(db, PostgresKamailioDb):
            asyncpg = importlib.import_module("asyncpg")
            conn = await asyncpg.connect(db.url)
            try:
                status = await conn.execute(sql, *params)
            finally:
                await conn.close()
            return int(str(status).rsplit(" ", 1)[-1])
        raise TypeError(f"no call-record reader for {type(db).__name__}")

    async def _fetch(self, sql: str, params: tuple[object, ...]) -> list[Sequence[Any]]:
        db = self.db
        if isinstance(db, SqliteKamailioDb):
            path = db.path

            def run() -> list[Sequence[Any]]:
                conn = sqlite3.connect(path, timeout=5.0)
                try:
                    return list(conn.execute(sql, params).fetchall())
                finally:
                    conn.close()

            return await asyncio.to_thread(run)
        if isinstance(db, PostgresKamailioDb):
            asyncpg = importlib.import_module("asyncpg")
            conn = await asyncpg.connect(db.url)
            try:
                return [tuple(r) for r in await conn.fetch(sql, *params)]
            finally:
                await conn.close()
        raise TypeError(f"no call-record reader for {type(db).__name__}")
