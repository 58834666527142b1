"""A tenant's call records: the detail list, totals and CSV export of a period.

Records come from Kamailio's accounting through :mod:`provd.services.calls.collector`;
nothing here writes them. Every query is scoped to one tenant and one period, which
the ``call_record`` indexes (tenant, start) and (tenant, call type, start) serve.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tortoise.expressions import Q, RawSQL
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from provd.db.models import CallRecord
from provd.domain.call_records import CallFilter, Disposition, RecordView
from provd.services.directory.tenants import get_tenant

MAX_PAGE = 500
EXPORT_BATCH = 5000


@dataclass(frozen=True)
class Page:
    total: int
    offset: int
    limit: int
    records: list[RecordView]


@dataclass(frozen=True)
class Total:
    calls: int
    answered: int
    seconds: int
    cost: Decimal

    def as_dict(self) -> dict[str, object]:
        return {
            "calls": self.calls,
            "answered": self.answered,
            "seconds": self.seconds,
            "cost": str(self.cost),
        }


@dataclass(frozen=True)
class Totals:
    overall: Total
    by_type: dict[str, Total] = field(default_factory=dict)
    by_number: dict[str, Total] = field(default_factory=dict)
    by_number_and_type: dict[tuple[str, str], Total] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "overall": self.overall.as_dict(),
            "by_type": {k: v.as_dict() for k, v in self.by_type.items()},
            "by_number": {k: v.as_dict() for k, v in self.by_number.items()},
            "by_number_and_type": [
                {"number": n, "call_type": t, **v.as_dict()}
                for (n, t), v in self.by_number_and_type.items()
            ],
        }


async def _query(flt: CallFilter) -> QuerySet[CallRecord]:
    tenant = await get_tenant(flt.tenant)
    qs = CallRecord.filter(
        tenant_id=tenant.id, started_at__gte=flt.period.start, started_at__lt=flt.period.end
    )
    if flt.types:
        qs = qs.filter(call_type__in=[t.value for t in flt.types])
    if flt.number:
        qs = qs.filter(Q(caller__contains=flt.number) | Q(callee__contains=flt.number))
    if flt.cost is not None:
        # Compared as a number: SQLite keeps a decimal as text ("10.0000" < "9.5").
        qs = qs.annotate(cost_n=RawSQL('CAST("cost" AS NUMERIC)')).filter(
            **{f"cost_n{flt.cost.lookup}": flt.cost.value}
        )
    if flt.duration is not None:
        qs = qs.filter(**{f"duration{flt.duration.lookup}": int(flt.duration.value)})
    return qs


# Read as plain values: building a model object per row costs more than the query.
_COLUMNS = (
    "id", "started_at", "answered_at", "ended_at", "duration", "disposition", "reason",
    "call_type", "caller", "callee", "dialled", "number", "user_ext", "trunk", "group_ext",
    "cost",
)  # fmt: skip


def view(r: dict[str, Any]) -> RecordView:
    cost = r["cost"]
    return RecordView(
        id=int(r["id"]),
        start=r["started_at"],
        answer=r["answered_at"],
        end=r["ended_at"],
        duration=int(r["duration"]),
        disposition=r["disposition"],
        reason=r["reason"],
        call_type=r["call_type"],
        caller=r["caller"],
        callee=r["callee"],
        dialled=r["dialled"],
        number=r["number"],
        user=r["user_ext"],
        trunk=r["trunk"],
        group=r["group_ext"],
        cost=None if cost is None else Decimal(str(cost)),
    )


async def list_calls(flt: CallFilter, *, offset: int = 0, limit: int = 50) -> Page:
    """The filter's records, newest first, ``limit`` (at most MAX_PAGE) from ``offset``."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    qs = await _query(flt)
    total = await qs.count()
    rows = await qs.order_by("-started_at", "-id").offset(offset).limit(limit).values(*_COLUMNS)
    return Page(total, offset, limit, [view(r) for r in rows])


async def totals(flt: CallFilter) -> Totals:
    """Calls, answered calls, seconds and cost: overall, per type, number, number and type."""
    qs = await _query(flt)
    grouped = await _grouped(qs)
    by_type: dict[str, Total] = {}
    by_number: dict[str, Total] = {}
    overall = Total(0, 0, 0, Decimal(0))
    for (number, call_type), t in grouped.items():
        by_type[call_type] = _add(by_type.get(call_type), t)
        by_number[number] = _add(by_number.get(number), t)
        overall = _add(overall, t)
    return Totals(
        overall,
        dict(sorted(by_type.items())),
        dict(sorted(by_number.items())),
        dict(sorted(grouped.items())),
    )


_ANSWERED = f"SUM(CASE WHEN \"disposition\" = '{Disposition.ANSWERED.value}' THEN 1 ELSE 0 END)"


async def _grouped(qs: QuerySet[CallRecord]) -> dict[tuple[str, str], Total]:
    """Calls, answered calls, seconds and cost per (number, type), in one query."""
    rows: list[dict[str, Any]] = (
        await qs.annotate(
            calls=Count("id"),
            answered=RawSQL(_ANSWERED),
            seconds=Sum("duration"),
            cost_sum=Sum("cost"),
        )
        .group_by("number", "call_type")
        .values("number", "call_type", "calls", "answered", "seconds", "cost_sum")
    )
    return {
        (str(r["number"]), str(r["call_type"])): Total(
            int(r["calls"]),
            int(r["answered"] or 0),
            int(r["seconds"] or 0),
            # Rounded as stored: SQLite sums decimals as floats.
            Decimal(str(r["cost_sum"])).quantize(Decimal("0.0001"))
            if r["cost_sum"] is not None
            else Decimal(0),
        )
        for r in rows
    }


def _add(a: Total | None, b: Total) -> Total:
    if a is None:
        return b
    return Total(a.calls + b.calls, a.answered + b.answered, a.seconds + b.seconds, a.cost + b.cost)


async def export(flt: CallFilter) -> AsyncIterator[list[RecordView]]:
    """Every record of the filter, newest first, in batches (a month can be large)."""
    qs = await _query(flt)
    last: tuple[Any, int] | None = None
    while True:
        page = qs.order_by("-started_at", "-id")
        if last is not None:
            started, rid = last
            page = page.filter(Q(started_at__lt=started) | Q(started_at=started, id__lt=rid))
        rows = await page.limit(EXPORT_BATCH).values(*_COLUMNS)
        if not rows:
            return
        yield [view(r) for r in rows]
        last = (rows[-1]["started_at"], int(rows[-1]["id"]))
