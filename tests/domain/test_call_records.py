"""Call records' rules: how a call ended, and what people ask of records, refused by field."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from provd.domain.call_records import (
    CSV_COLUMNS,
    Comparison,
    Disposition,
    RecordView,
    csv_header,
    csv_rows,
    disposition,
    parse_call_types,
    parse_comparison,
    parse_partial_number,
    parse_period,
)
from provd.domain.call_types import CallType
from provd.domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("code", "refused_by", "expected"),
    [
        (None, "", Disposition.ANSWERED),
        (200, "", Disposition.ANSWERED),
        (486, "", Disposition.BUSY),
        (600, "", Disposition.BUSY),
        (487, "", Disposition.NO_ANSWER),
        (408, "", Disposition.NO_ANSWER),
        (480, "", Disposition.NO_ANSWER),
        (503, "", Disposition.FAILED),
        (404, "", Disposition.FAILED),
        (403, "Forbidden: destination blocked: premium", Disposition.BLOCKED),
        (603, "Declined: the caller is blocked", Disposition.BLOCKED),
        (404, "Extension not found", Disposition.FAILED),
        # A far end's 403 is a failure; only provd's own refusal is a block.
        (403, "", Disposition.FAILED),
    ],
)
def test_disposition(code: int | None, refused_by: str, expected: Disposition) -> None:
    assert disposition(code, refused_by) is expected


@pytest.mark.parametrize(
    ("text", "operator", "value"),
    [(">0.10", ">", "0.10"), ("<60", "<", "60"), ("=0", "=", "0"), ("5", "=", "5"),
     (" >= 1.5 ", ">=", "1.5"), ("<=30", "<=", "30")],
)  # fmt: skip
def test_comparisons(text: str, operator: str, value: str) -> None:
    assert parse_comparison(text, "cost") == Comparison(operator, Decimal(value))  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", ">>1", "<", "abc", "1e3", "-5", "!=3", ">0,10"])
def test_a_bad_comparison_names_its_field(text: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_comparison(text, "cost")
    assert e.value.field == "cost"


def test_durations_are_whole_seconds() -> None:
    with pytest.raises(InvalidInput, match="whole number") as e:
        parse_comparison("<6.5", "duration", whole=True)
    assert e.value.field == "duration"


def test_comparison_matches() -> None:
    gt = parse_comparison(">0.10", "cost")
    assert gt.matches(Decimal("0.11")) and not gt.matches(Decimal("0.10"))
    assert not gt.matches(None)
    assert parse_comparison("=60", "duration").matches(60)
    assert parse_comparison("<60", "duration").lookup == "__lt"


def test_periods() -> None:
    today = date(2026, 1, 15)
    current = parse_period(today=today)
    assert (current.start, current.end) == (
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 2, 1, tzinfo=UTC),
    )
    previous = parse_period(month="previous", today=today)
    assert (previous.start, previous.end) == (
        datetime(2025, 12, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert previous.label == "2025-12-01..2025-12-31"
    days = parse_period(start="2026-02-27", end="2026-03-01")
    assert days.end == datetime(2026, 3, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"start": "2026-13-01", "end": "2026-12-31"}, "from"),
        ({"start": "2026-12-01", "end": "31-12-2026"}, "to"),
        ({"start": "2026-12-01"}, "to"),
        ({"end": "2026-12-01"}, "from"),
        ({"start": "2026-12-02", "end": "2026-12-01"}, "to"),
        ({"start": "2024-01-01", "end": "2026-01-01"}, "to"),
        ({"month": "last"}, "month"),
        ({"month": "current", "start": "2026-12-01", "end": "2026-12-02"}, "month"),
    ],
)
def test_a_bad_period_names_its_field(kw: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_period(**kw)  # type: ignore[arg-type]
    assert e.value.field == field


def test_call_types_and_partial_numbers() -> None:
    assert parse_call_types(["mobile,premium", "mobile"]) == (CallType.MOBILE, CallType.PREMIUM)
    with pytest.raises(InvalidInput, match="'fax' is not a call type") as e:
        parse_call_types(["fax"])
    assert e.value.field == "type"
    assert parse_partial_number("+31 6-12") == "+31612"
    with pytest.raises(InvalidInput) as n:
        parse_partial_number("6%")
    assert n.value.field == "number"


def test_csv_reads_back_in_a_spreadsheet_and_defuses_formulas() -> None:
    at = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)
    record = RecordView(
        1, at, at, at, 61, "answered", "", "mobile", "2000", "+31612345678", "0612345678",
        "+31201234501", "2000", "", "", Decimal("0.1234"),
    )  # fmt: skip
    evil = RecordView(
        2, at, None, at, 0, "failed", '=HYPERLINK("x"), "quoted"', "inbound", "@SUM(1)", "",
        "", "", "", "", "", None,
    )  # fmt: skip
    text = csv_header() + csv_rows([record, evil])
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[1][CSV_COLUMNS.index("callee")] == "'+31612345678"
    assert rows[1][CSV_COLUMNS.index("cost")] == "0.1234"
    assert rows[1][CSV_COLUMNS.index("duration")] == "61"
    assert rows[2][CSV_COLUMNS.index("reason")] == '\'=HYPERLINK("x"), "quoted"'
    assert rows[2][CSV_COLUMNS.index("caller")] == "'@SUM(1)"
    assert rows[2][CSV_COLUMNS.index("answer")] == ""
