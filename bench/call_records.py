"""Call-record views over a million records: the list, filters and totals of a month.

    .venv/bin/python bench/call_records.py [--records 1000000] [--repeat 5]

Seeds a fresh provd database (SQLite, migrated like any other) with ``--records`` call
records spread over twelve months: 90 % in one tenant (the one measured), the rest in
nine others, with provd's own indexes. Rows go in with one bulk ``executemany`` per
batch; the seeding time is printed but not what is measured.

Then, in the same process and on the same connection, each query the console and the
API make for a page of the previous month (a full one) is timed (the median of ``--repeat`` runs):

- ``list``: the first page newest first, with the count of the whole filter;
- ``list, type + cost``: the same with a call-type filter and a cost comparison;
- ``list, number``: part of a number (a scan of the month's rows: no index helps a
  substring);
- ``totals``: overall, per type, per number, per number and type;
- ``export``: the whole period as CSV rows, timed once (it reads every record of the
  month; its rate in rows per second is printed too).

Each is printed with its ratio to ``SELECT COUNT(*) FROM call_record`` (a full count of
the table, the reference): how a query compares with touching every row once.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tortoise import Tortoise

from provd.db.connection import database, db_url_for, upgrade_schema
from provd.db.models import CallRecord
from provd.domain.call_records import CallFilter, csv_rows, parse_comparison, parse_period
from provd.domain.call_types import CallType
from provd.services import calls

BATCH = 50_000
TYPES = [t.value for t in CallType]
# Most calls are internal, fixed and mobile; a few the rest.
TYPE_WEIGHTS = [30, 15, 25, 20, 4, 1, 4, 1]
COLUMNS = (
    "tenant_id, source, source_id, callid, started_at, answered_at, ended_at, duration,"
    " disposition, sip_code, reason, call_type, caller, callee, dialled, number, user_ext,"
    " trunk, group_ext, cost"
)


def _stamp(at: datetime) -> str:
    # As tortoise stores a DatetimeField in SQLite.
    return at.isoformat(sep=" ")


def seed(path: Path, records: int, now: datetime, rng: random.Random) -> float:
    """Bulk-insert ``records`` rows; the seconds it took."""
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    tenants = [
        conn.execute(
            "INSERT INTO tenant (slug, name, sip_domain, timezone, bootstrap_username,"
            " bootstrap_password_enc, lldp, pickup_code, country, number_display, created_at)"
            " VALUES (?, ?, ?, 'Europe/Amsterdam', ?, x'00', 1, '*8', 'NL', 'national', ?)",
            (f"t{i}", f"T{i}", f"t{i}.test", f"boot-t{i}", _stamp(now)),
        ).lastrowid
        for i in range(10)
    ]
    year = 365 * 24 * 3600
    numbers = [f"+312012345{n:02d}" for n in range(40)]
    rows: list[tuple[Any, ...]] = []
    for i in range(records):
        tenant = tenants[0] if rng.random() < 0.9 else rng.choice(tenants[1:])
        start = now - timedelta(seconds=rng.randrange(year))
        answered = rng.random() < 0.7
        duration = rng.randrange(1, 900) if answered else 0
        kind = rng.choices(TYPES, TYPE_WEIGHTS)[0]
        callee = f"+316{rng.randrange(10**8):08d}"
        cost = None if kind in ("internal", "inbound") else f"{rng.randrange(0, 300) / 100:.4f}"
        rows.append(
            (
                tenant,
                "acc_cdrs" if answered else "acc",
                i,
                f"{i}@bench",
                _stamp(start),
                _stamp(start) if answered else None,
                _stamp(start + timedelta(seconds=duration)),
                duration,
                "answered" if answered else "busy",
                None if answered else 486,
                "",
                kind,
                "2000",
                callee,
                callee,
                rng.choice(numbers),
                "2000",
                "",
                "",
                cost,
            )
        )
        if len(rows) == BATCH:
            _insert(conn, rows)
            rows = []
    if rows:
        _insert(conn, rows)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return time.perf_counter() - started


def _insert(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    marks = ", ".join("?" for _ in range(20))
    conn.executemany(f"INSERT INTO call_record ({COLUMNS}) VALUES ({marks})", rows)
    conn.commit()


async def timed(fn: Callable[[], Awaitable[object]], repeat: int) -> float:
    """The median seconds of ``repeat`` runs, after one warm-up."""
    await fn()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


async def measure(url: str, repeat: int) -> None:
    async with database(url):
        conn = Tortoise.get_connection("default")
        total = (await conn.execute_query_dict("SELECT COUNT(*) AS n FROM call_record"))[0]["n"]
        month = parse_period(month="previous")
        flt = CallFilter("t0", month)
        filtered = CallFilter(
            "t0", month, (CallType.MOBILE,), cost=parse_comparison(">1.00", "cost")
        )
        by_number = CallFilter("t0", month, number="1234")
        in_month = await CallRecord.filter(
            tenant__slug="t0", started_at__gte=month.start, started_at__lt=month.end
        ).count()

        async def reference() -> object:
            return await conn.execute_query_dict("SELECT COUNT(*) AS n FROM call_record")

        async def export() -> int:
            rows = 0
            async for batch in calls.export(flt):
                rows += len(csv_rows(batch).splitlines())
            return rows

        cases: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("reference: SELECT COUNT(*)", reference),
            ("list", lambda: calls.list_calls(flt)),
            ("list, type + cost", lambda: calls.list_calls(filtered)),
            ("list, number", lambda: calls.list_calls(by_number)),
            ("totals", lambda: calls.totals(flt)),
        ]
        print(
            f"{total:,} records; the measured tenant has {in_month:,} in {month.label}", flush=True
        )
        base = 0.0
        for name, fn in cases:
            seconds = await timed(fn, repeat)
            base = base or seconds
            print(f"  {name:<28} {seconds * 1000:9.1f} ms   {seconds / base:6.2f}x", flush=True)
        started = time.perf_counter()
        rows = await export()
        seconds = time.perf_counter() - started
        print(
            f"  {'export (once)':<28} {seconds * 1000:9.1f} ms   {seconds / base:6.2f}x"
            f"   {rows:,} rows, {rows / seconds:,.0f} rows/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument(
        "--keep",
        type=Path,
        help="Seed into this directory and keep it; a later run with it measures again"
        " without seeding.",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="provd-bench-calls-") as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        url = db_url_for(directory)
        seeded = (directory / "provd.sqlite3").exists()
        asyncio.run(upgrade_schema(url))
        if not seeded:
            now = datetime.now(UTC)
            took = seed(directory / "provd.sqlite3", args.records, now, random.Random(args.seed))
            print(f"seeded {args.records:,} records in {took:.1f} s (bulk insert, not measured)")
        asyncio.run(measure(url, args.repeat))


if __name__ == "__main__":
    main()
