"""A call cnxcc cut for its spend limit has no CDR: its record comes from the row the
cfg's event_route[cnxcc:call-shutdown] writes and the INVITE's answered acc row, once;
the collector tells the brake about every record it wrote."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from provd.db.models import CallRecord
from provd.pbx.call_records import CUT_REASON
from provd.pbx.database import SqliteKamailioDb
from provd.services.calls.collector import CallCollector
from provd.services.platform import Platform
from tests.services.calls.test_collector import T0, Kamailio, julian
from tests.services.calls.test_collector import kamailio as kamailio  # the fixture


def cut(path: Path, callid: str, at: float) -> None:
    """What acc_db_request writes from cnxcc's faked OPTIONS: no plan columns."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO acc (method, from_tag, to_tag, callid, sip_code, sip_reason, time)"
            " VALUES ('OPTIONS', 'f', 't', ?, '200', ?, ?)",
            (callid, CUT_REASON, julian(at)),
        )
    conn.close()


async def test_a_cut_call_is_one_answered_record_timed_to_the_cut(
    platform: Platform, kamailio: tuple[Kamailio, SqliteKamailioDb]
) -> None:
    k, db = kamailio
    k.invite("cut@x", 200, "OK", T0)
    cut(db.path, "cut@x", T0 + 7.2)
    seen: list[list[CallRecord]] = []

    async def told(records: list[CallRecord]) -> None:
        seen.append(records)

    assert await CallCollector(db, on_records=told).collect() == 1
    [record] = await CallRecord.all()
    assert (record.callid, record.disposition, record.reason, record.duration) == (
        "cut@x",
        "answered",
        CUT_REASON,
        7,
    )
    assert record.answered_at is not None and abs(record.answered_at.timestamp() - T0) < 0.01
    assert abs(record.ended_at.timestamp() - (T0 + 7.2)) < 0.01
    assert (record.callee, record.call_type, record.source) == ("+31612345678", "mobile", "acc")
    assert [[r.callid for r in batch] for batch in seen] == [["cut@x"]]
    assert await CallCollector(db).collect() == 0


async def test_a_cut_row_of_a_call_with_a_cdr_adds_nothing(
    platform: Platform, kamailio: tuple[Kamailio, SqliteKamailioDb]
) -> None:
    k, db = kamailio
    k.answered("both@x", T0, 4.0)
    cut(db.path, "both@x", T0 + 4)
    # A cut row with no answered INVITE (nothing to make a record from) neither.
    cut(db.path, "stray@x", T0 + 9)
    assert await CallCollector(db).collect() == 1
    assert [(r.callid, r.source) for r in await CallRecord.all()] == [("both@x", "acc_cdrs")]
