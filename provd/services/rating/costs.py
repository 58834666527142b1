"""What a call cost, for the call records: the rate tables read once and kept while
they do not change.

The table is read whole (a few hundred rows) and kept with a mark of the ``rate``
table: its row count and highest id. An import deletes the owner's rows and inserts
new ones with higher ids (ids are never reused: SQLite's AUTOINCREMENT, PostgreSQL's
sequence), so every import, in this process or another, moves the mark; an import in
this process also drops the table at once (:func:`forget`). Each call costs one
aggregate query instead of reading every rate.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from provd.db.models import Rate as RateRow
from provd.domain.call_types import CallType
from provd.domain.rating import NoRate, Rate, RateTable, price
from provd.services.rating.stored import from_row, shipped_rates

# Built once: the ORM's query builder costs more than the query itself here.
_MARK_SQL = f'SELECT COUNT(*) AS "n", MAX("id") AS "top" FROM "{RateRow._meta.db_table}"'

_cached: tuple[tuple[int, int], RateTable] | None = None


def forget() -> None:
    """Drop the kept table: the next cost reads the tables again."""
    global _cached
    _cached = None


async def _mark() -> tuple[int, int]:
    rows = await RateRow._meta.db.execute_query_dict(_MARK_SQL)
    row = rows[0] if rows else {}
    return int(row.get("n") or 0), int(row.get("top") or 0)


async def load_table() -> RateTable:
    """Every rate: the platform's (the shipped table while it has none) and each
    tenant's overrides by slug."""
    platform: list[Rate] = []
    tenants: dict[str, list[Rate]] = {}
    for row in await RateRow.all().prefetch_related("tenant"):
        rate = from_row(row)
        if row.tenant is None:
            platform.append(rate)
        else:
            tenants.setdefault(row.tenant.slug, []).append(rate)
    return RateTable(platform or shipped_rates(), tenants)


async def table() -> RateTable:
    """The rate tables as they are now, read again only after a change."""
    global _cached
    mark = await _mark()
    if _cached is not None and _cached[0] == mark:
        return _cached[1]
    loaded = await load_table()
    _cached = (mark, loaded)
    return loaded


async def cost_of(
    tenant_slug: str | None, number_e164: str, call_type: CallType, billable_seconds: int
) -> Decimal | None:
    """What the call cost in EUR (4 places), or None when no rate prices it: an outbound
    call the tables do not cover has no cost rather than a made-up one. An unanswered
    call (0 s) costs nothing; internal, inbound and emergency calls nothing unless a rate
    for their type says otherwise."""
    try:
        return price(await table(), tenant_slug, number_e164, call_type, max(0, billable_seconds))
    except NoRate:
        return None


class Rated(Protocol):
    """What rating reads of a call record (``provd.db.models.CallRecord``)."""

    @property
    def call_type(self) -> str: ...
    @property
    def callee(self) -> str: ...
    @property
    def dialled(self) -> str: ...
    @property
    def duration(self) -> int: ...


async def rate_record(tenant_slug: str, record: Rated) -> Decimal | None:
    """The cost of a call record before it is saved: the call records' rating hook
    (``services.calls.collector.Rater``). The number priced is the callee as it left
    (E.164), else what was dialled; a record of a type provd does not know has no cost."""
    try:
        kind = CallType(record.call_type)
    except ValueError:
        return None
    number = record.callee if record.callee.startswith("+") else record.dialled
    return await cost_of(tenant_slug, number, kind, record.duration)
