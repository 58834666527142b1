"""Call records while ``serve`` runs: rows Kamailio wrote while provd was down are
collected when it starts, later ones within a round, and none twice across restarts.

Kamailio's rows are written here as its acc module writes them (its database is the
PBX's own SQLite file); the real calls are in tests/pbx/test_call_records.py."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from provd.db.models import CallRecord
from provd.services.pbx.serve import ServedPbx
from provd.services.platform import Platform
from tests.services.pbx.test_serve import _runtime, _within

pytestmark = pytest.mark.slow


def _call(path: str, callid: str, at: float) -> None:
    """An answered call of the default tenant: its INVITE's 200 and its CDR."""
    julian = at / 86400.0 + 2440587.5
    plan = "'default', 'mobile', '201', '+31612345678', '0612345678', '', '201'"
    columns = "tenant, call_type, caller, callee, dialled, tenant_number, src_user"
    with sqlite3.connect(path) as db:
        db.execute(
            f"INSERT INTO acc (method, from_tag, to_tag, callid, sip_code, sip_reason, time,"
            f" {columns}) VALUES ('INVITE', 'f', 't', ?, '200', 'OK', ?, {plan})",
            (callid, julian),
        )
        db.execute(
            f"INSERT INTO acc_cdrs (start_time, end_time, duration, callid, {columns})"
            f" VALUES (?, ?, 30.0, ?, {plan})",
            (julian, julian + 30 / 86400.0, callid),
        )
    db.close()


async def test_records_are_collected_at_start_while_running_and_once(platform: Platform) -> None:
    runtime = _runtime(platform)
    kamailio_db = str(runtime.settings.sqlite_path)
    served = ServedPbx(platform, runtime, collect_s=0.2)
    await served.start()
    await served.stop()
    # Calls Kamailio recorded while provd was down.
    _call(kamailio_db, "down-1@x", time.time() - 60)
    _call(kamailio_db, "down-2@x", time.time() - 30)
    served = ServedPbx(platform, runtime, collect_s=0.2)
    await served.start()
    try:

        async def collected(n: int) -> bool:
            return await CallRecord.all().count() == n

        await _within(5, lambda: collected(2))
        _call(kamailio_db, "up-1@x", time.time())
        await _within(5, lambda: collected(3))
    finally:
        await served.stop()
    served = ServedPbx(platform, runtime, collect_s=0.2)
    await served.start()
    try:
        await asyncio.sleep(1)
    finally:
        await served.stop()
    callids = sorted([str(c) for c in await CallRecord.all().values_list("callid", flat=True)])
    assert callids == ["down-1@x", "down-2@x", "up-1@x"]
