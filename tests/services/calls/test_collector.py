"""The collector copies Kamailio's accounting into call records exactly once: run twice,
after a restart, or over a Kamailio database whose ids started again.

Kamailio's database is a real SQLite file with Debian's schema (ensure_schema) and rows
written as acc writes them (times as Julian days)."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from provd.db.models import CallCollectorMark, CallRecord
from provd.pbx.database import SqliteKamailioDb
from provd.pbx.schema import ensure_schema
from provd.services.calls.collector import CallCollector
from provd.services.platform import Platform

T0 = 1_796_600_000.0  # 2026-12-06 22:13:20 UTC


def julian(unix: float) -> float:
    return unix / 86400.0 + 2440587.5


PLAN = {
    "tenant": "default",
    "call_type": "mobile",
    "caller": "2000",
    "callee": "+31612345678",
    "dialled": "0612345678",
    "tenant_number": "+31201234501",
    "src_user": "2000",
    "trunk": "",
    "hunt_group": "",
}


class Kamailio:
    """Writes rows as Kamailio's acc does."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _insert(self, table: str, values: dict[str, object]) -> None:
        with sqlite3.connect(self.path) as conn:
            cols = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(values.values()))
        conn.close()

    def invite(self, callid: str, code: int, reason: str, at: float, **plan: str) -> None:
        values: dict[str, object] = {
            "method": "INVITE", "from_tag": "f", "to_tag": "t", "callid": callid,
            "sip_code": str(code), "sip_reason": reason, "time": julian(at),
            "setup_time": f"{at - 3:.6f}", **PLAN, **plan,
        }  # fmt: skip
        self._insert("acc", values)

    def answered(self, callid: str, answer: float, seconds: float, **plan: str) -> None:
        self.invite(callid, 200, "OK", answer, **plan)
        values: dict[str, object] = {
            "start_time": julian(answer), "end_time": julian(answer + seconds),
            "duration": seconds, "callid": callid, "setup_time": f"{answer - 3:.6f}",
            **PLAN, **plan,
        }  # fmt: skip
        self._insert("acc_cdrs", values)

    def failed_dialog_cdr(self, callid: str, at: float) -> None:
        """acc's zero-second CDR of a dialog that was never answered."""
        values: dict[str, object] = {
            "start_time": julian(at), "end_time": julian(at), "duration": 0.0,
            "callid": callid, **PLAN,
        }  # fmt: skip
        self._insert("acc_cdrs", values)


@pytest.fixture
async def kamailio(tmp_path: Path) -> tuple[Kamailio, SqliteKamailioDb]:
    db = SqliteKamailioDb(tmp_path / "kamailio.sqlite3")
    await ensure_schema(db)
    return Kamailio(db.path), db


async def test_every_call_is_collected_once_with_what_kamailio_wrote(
    platform: Platform, kamailio: tuple[Kamailio, SqliteKamailioDb]
) -> None:
    k, db = kamailio
    k.answered("a@x", T0, 61.4)
    k.invite("b@x", 486, "Busy Here", T0 + 100)
    k.failed_dialog_cdr("b@x", T0 + 100)
    k.invite("c@x", 487, "Request Terminated", T0 + 200)
    why = "Forbidden: destination blocked: premium"
    k.invite("d@x", 403, why, T0 + 300, reject_reason=why, call_type="premium")
    k.invite("e@x", 404, "Number not in use", T0 + 400, tenant="")  # nobody's call
    assert await CallCollector(db).collect() == 4
    records = {r.callid: r for r in await CallRecord.all()}
    assert set(records) == {"a@x", "b@x", "c@x", "d@x"}
    a = records["a@x"]
    assert (a.disposition, a.duration, a.source, a.call_type) == (
        "answered",
        61,
        "acc_cdrs",
        "mobile",
    )
    assert a.answered_at is not None and abs(a.answered_at.timestamp() - T0) < 0.01
    assert abs(a.ended_at.timestamp() - (T0 + 61.4)) < 0.01
    assert abs(a.started_at.timestamp() - (T0 - 3)) < 0.01
    assert (a.caller, a.callee, a.dialled, a.number, a.user_ext) == (
        "2000",
        "+31612345678",
        "0612345678",
        "+31201234501",
        "2000",
    )
    assert (records["b@x"].disposition, records["b@x"].reason) == ("busy", "Busy Here")
    assert (records["c@x"].disposition, records["c@x"].duration) == ("no_answer", 0)
    d = records["d@x"]
    assert (d.disposition, d.reason, d.sip_code) == (
        "blocked",
        "Forbidden: destination blocked: premium",
        403,
    )
    # Again, and from a new collector as after a restart: nothing new.
    assert await CallCollector(db).collect() == 0
    assert await CallRecord.all().count() == 4
    # New rows only.
    k.answered("f@x", T0 + 500, 5.0)
    assert await CallCollector(db).collect() == 1
    assert await CallRecord.all().count() == 5


async def test_a_crash_before_the_mark_moved_or_a_kamailio_database_started_again_adds_nothing(
    platform: Platform, kamailio: tuple[Kamailio, SqliteKamailioDb], tmp_path: Path
) -> None:
    k, db = kamailio
    k.answered("a@x", T0, 10.0)
    k.invite("b@x", 486, "Busy Here", T0 + 100)
    await CallCollector(db).collect()
    # As if provd stopped after writing the records but before moving the marks.
    await CallCollectorMark.all().delete()
    assert await CallCollector(db).collect() == 0
    # Kamailio's database recreated: ids start at 1 again, below the marks.
    fresh = SqliteKamailioDb(tmp_path / "again.sqlite3")
    await ensure_schema(fresh)
    k2 = Kamailio(fresh.path)
    k2.answered("a@x", T0, 10.0)  # a row already collected, seen again
    k2.answered("new@x", T0 + 600, 2.0)
    assert await CallCollector(fresh).collect() == 1
    callids = [str(c) for c in await CallRecord.all().values_list("callid", flat=True)]
    assert sorted(callids) == ["a@x", "b@x", "new@x"]


async def test_batches_and_the_rating_hook(
    platform: Platform, kamailio: tuple[Kamailio, SqliteKamailioDb]
) -> None:
    k, db = kamailio
    for i in range(7):
        k.answered(f"{i}@x", T0 + i * 10, 60.0)
    seen: list[tuple[str, str]] = []

    async def rate(tenant: str, record: CallRecord) -> Decimal | None:
        seen.append((tenant, record.callid))
        return Decimal("0.0500")

    assert await CallCollector(db, rate=rate, batch=3).collect() == 7
    assert len(seen) == 7 and seen[0] == ("default", "0@x")
    assert set(await CallRecord.all().values_list("cost", flat=True)) == {Decimal("0.0500")}
    assert (await CallCollectorMark.get(source="acc_cdrs")).last_id == 7


async def test_rows_read_and_older_than_the_retention_are_pruned_from_kamailio(
    platform: Platform, kamailio: tuple[Kamailio, SqliteKamailioDb]
) -> None:
    k, db = kamailio
    now = T0 + 40 * 86400
    k.answered("old@x", T0, 10.0)  # 40 days ago
    k.invite("old-busy@x", 486, "Busy Here", T0 + 60)
    k.answered("recent@x", now - 3600, 10.0)
    collector = CallCollector(db)
    assert await collector.collect() == 3
    k.invite("unread@x", 486, "Busy Here", T0 + 120)  # old, but not collected yet
    assert await collector.prune(now) == 3  # old@x's CDR and 200 row, old-busy@x's row
    with sqlite3.connect(db.path) as conn:
        left = {
            table: sorted(r[0] for r in conn.execute(f"SELECT callid FROM {table}"))
            for table in ("acc", "acc_cdrs")
        }
    conn.close()
    assert left == {"acc": ["recent@x", "unread@x"], "acc_cdrs": ["recent@x"]}
    # What was collected stays collected; the unread row still is.
    assert await collector.collect() == 1
    assert await CallRecord.all().count() == 4
    assert await collector.prune(now) == 1
