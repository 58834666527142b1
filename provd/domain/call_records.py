"""Call records: how a call ended, and the filters, periods and CSV of their views.

A record is made from Kamailio's accounting (``provd.pbx.call_records``); this module
decides what it says (its disposition) and reads what people ask of records (a
period, comparisons such as ``>0.10`` or ``<60``, a partial number), each bad value
refused with the field named.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Literal

from provd.domain.call_types import CallType
from provd.domain.errors import InvalidInput


class Disposition(StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    BLOCKED = "blocked"
    """Refused by provd: its policy said no (the record's reason says why)."""


_BUSY = frozenset({486, 600})
# 487: the caller hung up while it rang; 408/480: nobody answered (or could).
_NO_ANSWER = frozenset({408, 480, 487})
# provd's refusals that are a policy's "no" rather than a call that could not be made.
_BLOCKING = frozenset({403, 603})


def disposition(sip_code: int | None, refused_by: str = "") -> Disposition:
    """How a call ended, from its final reply; ``refused_by`` is the reason provd's
    plan gave when provd itself refused the call (empty when it did not)."""
    if sip_code is None or 200 <= sip_code < 300:
        return Disposition.ANSWERED
    if refused_by:
        return Disposition.BLOCKED if sip_code in _BLOCKING else Disposition.FAILED
    if sip_code in _BUSY:
        return Disposition.BUSY
    if sip_code in _NO_ANSWER:
        return Disposition.NO_ANSWER
    return Disposition.FAILED


# ---- what people ask of records ----------------------------------------------------

Operator = Literal["=", "<", ">", "<=", ">="]
_COMPARISON = re.compile(r"\s*(<=|>=|=|<|>)?\s*([0-9]+(?:\.[0-9]+)?)\s*")


@dataclass(frozen=True)
class Comparison:
    operator: Operator
    value: Decimal

    def matches(self, value: Decimal | int | None) -> bool:
        if value is None:
            return False
        v = Decimal(value)
        return {
            "=": v == self.value,
            "<": v < self.value,
            ">": v > self.value,
            "<=": v <= self.value,
            ">=": v >= self.value,
        }[self.operator]

    @property
    def lookup(self) -> str:
        """The ORM's suffix for the operator (``duration__lt``)."""
        return {"=": "", "<": "__lt", ">": "__gt", "<=": "__lte", ">=": "__gte"}[self.operator]

    def __str__(self) -> str:
        return f"{self.operator}{self.value}"


def parse_comparison(text: str, field: str, *, whole: bool = False) -> Comparison:
    """``>0.10``, ``<60``, ``=0`` or a bare ``5`` (equals). ``whole`` for seconds."""
    found = _COMPARISON.fullmatch(text or "")
    if found is None:
        raise InvalidInput(
            field, f"{text!r} is not a comparison like >0.10, <60 or =0 (operators = < > <= >=)"
        )
    operator, number = found.groups()
    if whole and "." in number:
        raise InvalidInput(field, f"{number!r} is not a whole number of seconds")
    try:
        value = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise InvalidInput(field, f"{number!r} is not a number") from None
    op: Operator = "=" if operator is None else operator  # type: ignore[assignment]
    return Comparison(op, value)


_PARTIAL = re.compile(r"\+?[0-9*#]{1,20}")


def parse_partial_number(text: str, field: str = "number") -> str:
    """A part of a number or extension to search callers and callees for."""
    cleaned = re.sub(r"[\s\-./()]", "", text or "")
    if not _PARTIAL.fullmatch(cleaned):
        raise InvalidInput(field, f"{text!r} is not (part of) a number: digits, + * # only")
    return cleaned


def parse_call_types(values: Iterable[str], field: str = "type") -> tuple[CallType, ...]:
    out: list[CallType] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                out.append(CallType(part))
            except ValueError:
                known = ", ".join(t.value for t in CallType)
                raise InvalidInput(field, f"{part!r} is not a call type ({known})") from None
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Period:
    """[start, end): UTC instants."""

    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        last = self.end - timedelta(days=1)
        return f"{self.start.date().isoformat()}..{last.date().isoformat()}"


def _parse_date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(field, f"{text!r} is not a date like 2026-12-31") from None


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def parse_period(
    *,
    start: str | None = None,
    end: str | None = None,
    month: str | None = None,
    today: date | None = None,
) -> Period:
    """A period from ``--from``/``--to`` (dates, both included) or ``--month``
    (``current`` or ``previous``); the current month when nothing is given."""
    today = today or datetime.now(UTC).date()
    if month is not None and (start or end):
        raise InvalidInput("month", "give either a month or --from/--to dates, not both")
    if start or end:
        if not (start and end):
            raise InvalidInput("to" if start else "from", "give both --from and --to")
        first = _parse_date(start, "from")
        last = _parse_date(end, "to")
        if last < first:
            raise InvalidInput("to", f"{end} is before {start}")
        if (last - first).days > 366:
            raise InvalidInput("to", "a period spans at most 366 days")
        return _period(first, last + timedelta(days=1))
    match month or "current":
        case "current":
            first = _month_start(today)
        case "previous":
            first = _month_start(_month_start(today) - timedelta(days=1))
        case _:
            raise InvalidInput("month", f"{month!r} is not current or previous")
    return _period(first, _next_month(first))


def _period(first: date, after: date) -> Period:
    return Period(
        datetime(first.year, first.month, first.day, tzinfo=UTC),
        datetime(after.year, after.month, after.day, tzinfo=UTC),
    )


@dataclass(frozen=True)
class CallFilter:
    """What a view shows: a tenant's records in a period, narrowed by the rest."""

    tenant: str
    period: Period
    types: tuple[CallType, ...] = ()
    number: str | None = None
    """Part of the caller's or the callee's number."""
    cost: Comparison | None = None
    duration: Comparison | None = None


# ---- CSV ---------------------------------------------------------------------------

CSV_COLUMNS = (
    "start",
    "answer",
    "end",
    "duration",
    "disposition",
    "reason",
    "call_type",
    "caller",
    "callee",
    "dialled",
    "number",
    "user",
    "trunk",
    "group",
    "cost",
)


@dataclass(frozen=True)
class RecordView:
    """A record as views show it (times in UTC, ISO 8601)."""

    id: int
    start: datetime
    answer: datetime | None
    end: datetime
    duration: int
    disposition: str
    reason: str
    call_type: str
    caller: str
    callee: str
    dialled: str
    number: str
    user: str
    trunk: str
    group: str
    cost: Decimal | None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "start": self.start.isoformat(),
            "answer": self.answer.isoformat() if self.answer else None,
            "end": self.end.isoformat(),
            "duration": self.duration,
            "disposition": self.disposition,
            "reason": self.reason,
            "call_type": self.call_type,
            "caller": self.caller,
            "callee": self.callee,
            "dialled": self.dialled,
            "number": self.number,
            "user": self.user,
            "trunk": self.trunk,
            "group": self.group,
            "cost": str(self.cost) if self.cost is not None else None,
        }


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell starting with = + - @ as a formula; a number such
    # as +31612345678 is prefixed with ' like any other text that starts so.
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_header() -> str:
    return _csv_line(CSV_COLUMNS)


def csv_rows(records: Iterable[RecordView]) -> str:
    """The records as CSV lines (CRLF, as spreadsheets expect), without the header."""
    return "".join(
        _csv_line(
            [
                r.start.isoformat(),
                r.answer.isoformat() if r.answer else "",
                r.end.isoformat(),
                r.duration,
                r.disposition,
                r.reason,
                r.call_type,
                r.caller,
                r.callee,
                r.dialled,
                r.number,
                r.user,
                r.trunk,
                r.group,
                r.cost,
            ]
        )
        for r in records
    )


def _csv_line(values: Iterable[object]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([_cell(v) for v in values])
    return out.getvalue()
