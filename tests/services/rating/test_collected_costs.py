"""Collected call records are priced by the rate tables (the collector's rating hook as
``serve`` gives it): answered calls by their rate and seconds, unanswered, internal and
inbound calls at nothing, and a call no rate covers left without a cost.

Kamailio's database is a real SQLite file with its schema (ensure_schema) and rows as
acc writes them (times as Julian days)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from provd.db.models import CallRecord
from provd.pbx.database import SqliteKamailioDb
from provd.pbx.schema import ensure_schema
from provd.services import rating
from provd.services.calls.collector import CallCollector
from provd.services.directory import tenants
from provd.services.platform import Platform
from provd.services.rating import costs
from tests.conftest import TEST_ACTOR as A

T0 = 1_796_600_000.0  # 2026-12-06 22:13:20 UTC


def _julian(unix: float) -> float:
    return unix / 86400.0 + 2440587.5


class _Acc:
    """Writes rows as Kamailio's acc module does: an INVITE row per call, and a CDR for
    an answered one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _insert(self, table: str, values: dict[str, object]) -> None:
        with sqlite3.connect(self.path) as conn:
            cols, marks = ", ".join(values), ", ".join("?" for _ in values)
            conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(values.values()))
        conn.close()

    def call(
        self, callid: str, tenant: str, call_type: str, callee: str, seconds: float | None
    ) -> None:
        """``seconds`` None: a call never answered (486 Busy Here)."""
        plan = {
            "tenant": tenant, "call_type": call_type, "caller": "201", "callee": callee,
            "dialled": callee, "tenant_number": "+31201234501", "src_user": "201",
            "trunk": "", "hunt_group": "",
        }  # fmt: skip
        code, reason = (486, "Busy Here") if seconds is None else (200, "OK")
        self._insert(
            "acc",
            {
                "method": "INVITE", "from_tag": "f", "to_tag": "t", "callid": callid,
                "sip_code": str(code), "sip_reason": reason, "time": _julian(T0),
                "setup_time": f"{T0 - 3:.6f}", **plan,
            },
        )  # fmt: skip
        if seconds is not None:
            self._insert(
                "acc_cdrs",
                {
                    "start_time": _julian(T0), "end_time": _julian(T0 + seconds),
                    "duration": seconds, "callid": callid, "setup_time": f"{T0 - 3:.6f}",
                    **plan,
                },
            )  # fmt: skip


@pytest.fixture
async def kamailio(
    tmp_path: Path, platform: Platform
) -> AsyncIterator[tuple[_Acc, SqliteKamailioDb]]:
    costs.forget()
    await tenants.add_tenant(platform, A, "acme")
    db = SqliteKamailioDb(tmp_path / "kamailio.sqlite3")
    await ensure_schema(db)
    yield _Acc(db.path), db
    costs.forget()


async def test_collected_records_get_their_cost(
    kamailio: tuple[_Acc, SqliteKamailioDb],
) -> None:
    acc, db = kamailio
    platform_table = (
        "match,price_per_minute,setup_fee,increment\n"
        "mobile,0.1000,0.0500,60/1\n"
        "national_fixed,0.0200,,\n"
    )
    await rating.import_table(A, platform_table)
    await rating.import_table(A, "match,price_per_minute\n+3197,0.3\n", tenant="acme")
    acc.call("mobile@x", "default", "mobile", "+31612345678", 61.0)
    acc.call("override@x", "acme", "mobile", "+31971234567", 30.0)
    acc.call("fixed@x", "acme", "national_fixed", "+31201234567", 90.0)
    acc.call("busy@x", "acme", "mobile", "+31612345678", None)
    acc.call("internal@x", "acme", "internal", "202", 120.0)
    acc.call("premium@x", "acme", "premium", "+319001234567", 60.0)

    assert await CallCollector(db, rate=rating.rate_record).collect() == 6
    cost = {r.callid: r.cost for r in await CallRecord.all()}
    assert cost == {
        "mobile@x": Decimal("0.1517"),  # 0.05 + 61 s at 0.10/min
        "override@x": Decimal("0.1500"),  # acme's +3197, by the second
        "fixed@x": Decimal("0.0300"),
        "busy@x": Decimal("0.0000"),
        "internal@x": Decimal("0.0000"),
        "premium@x": None,  # the platform's own table has no premium rate
    }
