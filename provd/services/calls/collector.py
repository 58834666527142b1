"""Copies Kamailio's call accounting into provd's call records.

Kamailio writes each call once (``provd.pbx.call_records``); the collector reads the
rows it has not read yet, in id order, and writes one :class:`CallRecord` per call.
It runs once when ``provd serve`` starts and then every few seconds, so calls that
ended while provd was down are collected when it is back, and Kamailio keeps writing
rows while provd restarts (its tables are the buffer).

Exactly once: each table's read position (``CallCollectorMark``) moves in the same
transaction as the records it covers, and a record is unique by its Kamailio row
(table and Call-ID), so reading a row twice (a crash between the two, a Kamailio
database recreated with its ids starting again) keeps one record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from tortoise.transactions import in_transaction

from provd.db.models import CallCollectorMark, CallRecord, Tenant
from provd.domain.call_records import Disposition, disposition
from provd.pbx.call_records import AccReader, AccRow
from provd.pbx.database import KamailioDb

log = logging.getLogger("provd.calls")

TABLES: tuple[Literal["acc_cdrs", "acc"], ...] = ("acc_cdrs", "acc")
BATCH = 1000
DEFAULT_INTERVAL_S = 5.0
RETENTION_S = 30 * 86400.0
"""How long Kamailio keeps a row provd has read: its database must not grow without
end, and a month leaves time to look at a row again."""
PRUNE_EVERY_S = 3600.0
PRUNE_BATCH = 5000

Rater = Callable[[str, CallRecord], Awaitable[Decimal | None]]
"""The hook for rating: (tenant slug, the record before it is saved) -> its cost, or
None when it has none. Without a rater records are saved with no cost."""


PbxStarted = Callable[[], Awaitable[float | None]]
"""When the running Kamailio started (Unix seconds), None when it cannot be asked: a
call answered before then and never ended in a CDR was cut by the restart."""
Collected = Callable[[list[CallRecord]], Awaitable[None]]
"""Told the records each round wrote, once they are committed (the spend limits add
their cost: services.limits.brake)."""


class CallCollector:
    def __init__(
        self,
        db: KamailioDb,
        *,
        rate: Rater | None = None,
        batch: int = BATCH,
        on_records: Collected | None = None,
        pbx_started: PbxStarted | None = None,
    ) -> None:
        self.reader = AccReader(db)
        self.rate = rate
        self.on_records = on_records
        self.pbx_started = pbx_started
        self.batch = batch
        self._task: asyncio.Task[None] | None = None

    async def collect(self) -> int:
        """Collect every row written so far; the number of records written."""
        tenants = {slug: tid for tid, slug in await Tenant.all().values_list("id", "slug")}
        written = 0
        for table in TABLES:
            written += await self._collect(table, tenants)
        if self.pbx_started is not None:
            started = await self.pbx_started()
            if started is not None:
                written += await self._interrupted(started, tenants)
        return written

    async def _interrupted(self, started: float, tenants: dict[str, int]) -> int:
        """Records of the calls a Kamailio restart cut (no CDR was written for them).
        Not read by position: their INVITE rows were read long ago, as answered calls
        waiting for their CDR; a record once written keeps them from being read again."""
        rows = await self.reader.interrupted(started, time.time() - RETENTION_S, self.batch)
        records: dict[str, CallRecord] = {}
        for row in rows:
            record = await self._record(row, tenants)
            if record is not None:
                records.setdefault(record.callid, record)
        if not records:
            return 0
        async with in_transaction():
            seen: set[object] = set(
                await CallRecord.filter(callid__in=list(records)).values_list("callid", flat=True)
            )
            new = [r for callid, r in records.items() if callid not in seen]
            if new:
                await CallRecord.bulk_create(new)
        if new and self.on_records is not None:
            await self.on_records(new)
        return len(new)

    async def prune(self, now: float | None = None) -> int:
        """Delete Kamailio's rows that provd has read and that are older than RETENTION_S;
        the number deleted. Rows not read yet are never deleted."""
        before = (time.time() if now is None else now) - RETENTION_S
        deleted = 0
        for table in TABLES:
            mark = await CallCollectorMark.get_or_none(source=table)
            if mark is None:
                continue
            while True:
                n = await self.reader.prune(table, mark.last_id, before, PRUNE_BATCH)
                deleted += n
                if n < PRUNE_BATCH:
                    break
        return deleted

    async def _collect(self, table: Literal["acc_cdrs", "acc"], tenants: dict[str, int]) -> int:
        mark_row = await CallCollectorMark.get_or_none(source=table)
        mark = mark_row.last_id if mark_row else 0
        top = await self.reader.max_id(table)
        if top < mark:
            log.warning("Kamailio's %s restarted its ids: reading it again from the start", table)
            mark = 0
        written = 0
        while mark < top:
            rows = await self.reader.rows(table, mark, top, self.batch)
            new_mark = rows[-1].id if len(rows) == self.batch else top
            records: dict[str, CallRecord] = {}
            for row in rows:
                record = await self._record(row, tenants)
                if record is not None:
                    records.setdefault(record.callid, record)
            async with in_transaction():
                seen: set[object] = set(
                    await CallRecord.filter(source=table, callid__in=list(records)).values_list(
                        "callid", flat=True
                    )
                )
                new = [r for callid, r in records.items() if callid not in seen]
                if new:
                    await CallRecord.bulk_create(new)
                await CallCollectorMark.update_or_create(
                    source=table, defaults={"last_id": new_mark}
                )
            written += len(new)
            mark = new_mark
            if new and self.on_records is not None:
                await self.on_records(new)
        return written

    async def _record(self, row: AccRow, tenants: dict[str, int]) -> CallRecord | None:
        tenant_id = tenants.get(row.tenant)
        if tenant_id is None or not row.callid:
            # A call no tenant owns (a scanner's, an unknown number) or a service code.
            return None
        end = _at(row.end)
        if row.table == "acc_cdrs":
            answered: datetime | None = _at(row.answer) if row.answer is not None else None
            start = _at(row.setup) if row.setup is not None else (answered or end)
            outcome, reason, duration = Disposition.ANSWERED, "", round(row.duration)
        elif row.answer is not None:
            # Cut by the spend limit (CUT_REASON) or by a restart of Kamailio
            # (RESTART_REASON): answered, and no CDR to read.
            answered = _at(row.answer)
            start = _at(row.setup) if row.setup is not None else answered
            outcome, reason, duration = Disposition.ANSWERED, row.sip_reason, round(row.duration)
        else:
            answered = None
            start = _at(row.setup) if row.setup is not None else end
            outcome = disposition(row.sip_code, row.reject_reason)
            reason = row.reject_reason or row.sip_reason
            duration = 0
        record = CallRecord(
            tenant_id=tenant_id,
            source=row.table,
            source_id=row.id,
            callid=row.callid[:255],
            started_at=min(start, answered or end, end),
            answered_at=answered,
            ended_at=end,
            duration=duration,
            disposition=outcome.value,
            sip_code=row.sip_code,
            reason=reason[:128],
            call_type=row.call_type,
            caller=row.caller,
            callee=row.callee,
            dialled=row.dialled,
            number=row.tenant_number,
            user_ext=row.user,
            trunk=row.trunk,
            group_ext=row.group,
        )
        if self.rate is not None:
            record.cost = await self.rate(row.tenant, record)
        return record

    # ---- while serve runs ----

    def start(self, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self._task = asyncio.create_task(self._loop(interval_s), name="call-collector")

    async def _loop(self, interval_s: float) -> None:
        failing = False
        pruned_at = time.monotonic() - PRUNE_EVERY_S
        while True:
            try:
                written = await self.collect()
                if time.monotonic() - pruned_at >= PRUNE_EVERY_S:
                    pruned_at = time.monotonic()
                    if deleted := await self.prune():
                        log.info(
                            "call records: %d old rows deleted from Kamailio's tables", deleted
                        )
            except Exception:
                # Kamailio's database may be briefly locked or gone during a restart:
                # nothing is lost, the rows wait for the next round.
                if not failing:
                    log.exception("call records: collecting failed; retrying")
                failing = True
            else:
                if written:
                    log.debug("call records: %d collected", written)
                if failing:
                    log.info("call records: collecting works again")
                failing = False
            await asyncio.sleep(interval_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
