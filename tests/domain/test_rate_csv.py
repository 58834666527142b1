"""Rate tables as CSV: every error by row and column, nothing read from a bad file,
and an export that reads back as the same table."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provd.domain.call_types import CallType
from provd.domain.device_csv import ImportRefused
from provd.domain.rate_csv import COLUMNS, export_rates, parse_rates
from provd.domain.rating import Increment, Rate
from tests.hypothesis_profiles import examples

_PROPERTY = settings(max_examples=examples(200), deadline=None, derandomize=True, database=None)
D = Decimal


def _errors(data: str) -> list[tuple[int, str, str]]:
    with pytest.raises(ImportRefused) as e:
        parse_rates(data)
    return [(x.row, x.column, x.message) for x in e.value.errors]


def test_a_good_file() -> None:
    data = (
        "match,price_per_minute,setup_fee,increment\n"
        "+3197,0.30,0,60/1\n"
        "mobile,0.10,0.05,\n"
        '0900,"1,00",0.50,1/1\n'
    )
    assert parse_rates(data) == [
        Rate("+3197", D("0.3"), D(0), Increment(60, 1)),
        Rate("mobile", D("0.1"), D("0.05"), None),
        Rate("+31900", D("1"), D("0.5"), Increment(1, 1)),
    ]


def test_columns_in_any_order_with_a_semicolon_bom_and_blank_lines() -> None:
    data = "\ufeffPrice per minute;Match\r\n0,02;national_fixed\r\n;\r\n".encode()
    assert parse_rates(data) == [Rate("national_fixed", D("0.02"))]


def test_a_header_only_file_is_an_empty_table() -> None:
    assert parse_rates("match,price_per_minute\n") == []


def test_every_row_error_names_its_row_and_column() -> None:
    data = (
        "match,price_per_minute,setup_fee,increment\n"
        "+3197,0.30,,\n"  # row 2: fine
        "landline,0.10,,\n"  # row 3: unknown call type
        "+0,0.10,,\n"  # row 4: bad prefix
        "mobile,-0.10,,\n"  # row 5: negative price
        "097,0.10,,\n"  # row 6: the same prefix as row 2
        "premium,1,x,0/1\n"  # row 7: two errors
    )
    errors = _errors(data)
    assert [(row, column) for row, column, _ in errors] == [
        (3, "match"),
        (4, "match"),
        (5, "price_per_minute"),
        (6, "match"),
        (7, "setup_fee"),
        (7, "increment"),
    ]
    assert "neither a number prefix" in errors[0][2]
    assert "negative" in errors[2][2]
    assert errors[3][2] == "+3197 is also on row 2"


def test_a_call_type_given_twice_is_a_duplicate() -> None:
    errors = _errors("match,price_per_minute\nmobile,0.1\nMOBILE,0.2\n")
    assert errors == [(3, "match", "mobile is also on row 2")]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("", (1, "file")),
        ("mobile,0.1\n", (1, "mobile")),  # no header
        ("match,price\n", (1, "price")),
        ("match\n", (1, "price_per_minute")),
        ("match,match,price_per_minute\n", (1, "match")),
        ("match,price_per_minute\nmobile,0.1,extra\n", (2, "file")),
        ('match,price_per_minute\n"mobile,0.1\n', (2, "file")),
    ],
)
def test_a_file_that_is_not_a_rate_table(data: str, expected: tuple[int, str]) -> None:
    assert _errors(data)[0][:2] == expected


def test_a_workbook_or_binary_file_is_refused() -> None:
    with pytest.raises(ImportRefused, match="not text"):
        parse_rates(b"PK\x03\x04rest")
    with pytest.raises(ImportRefused, match="not text"):
        parse_rates(b"match,price_per_minute\x00\n")


def test_text_that_was_never_text_is_refused() -> None:
    with pytest.raises(ImportRefused, match="not text"):
        parse_rates("match,price_per_minute\nmobile,0.1\ud800\n")


def test_a_windows_code_page_file_is_read() -> None:
    # 0xA0 is a no-break space in cp1252 and not UTF-8: spreadsheets pad cells with it.
    assert parse_rates(b"match,price_per_minute\r\nmobile\xa0,0.1\r\n") == [
        Rate("mobile", D("0.1"))
    ]


def test_too_big_a_file_is_refused() -> None:
    with pytest.raises(ImportRefused, match="larger"):
        parse_rates(b"match,price_per_minute\n" + b"mobile,0.1\n" * 200_000)


def test_export_is_ordered_as_the_lookup_tries_and_escaped_for_spreadsheets() -> None:
    rates = [
        Rate("mobile", D("0.1000"), D("0.0500"), Increment(60, 1)),
        Rate("+31", D("0.0100")),
        Rate("+3197", D("0.3000")),
    ]
    text = export_rates(rates)
    assert text.splitlines() == [
        ",".join(COLUMNS),
        # A leading + is a formula to a spreadsheet: written as text.
        '"\'+3197",0.3000,0.0000,',
        '"\'+31",0.0100,0.0000,',
        "mobile,0.1000,0.0500,60/1",
    ]
    assert text.endswith("\r\n")


_MATCH = st.one_of(
    st.sampled_from([t.value for t in CallType]),
    st.from_regex(r"\+31[1-9][0-9]{0,6}", fullmatch=True),
    st.from_regex(r"\+44[0-9]{0,6}", fullmatch=True),
)
_AMOUNT = st.decimals(min_value=0, max_value=1000, places=4)
_INCREMENT = st.one_of(st.none(), st.builds(Increment, st.integers(1, 3600), st.integers(1, 3600)))


@_PROPERTY
@given(
    st.lists(
        st.builds(Rate, _MATCH, _AMOUNT, _AMOUNT, _INCREMENT),
        unique_by=lambda r: r.match,
        max_size=30,
    )
)
def test_export_reads_back_as_the_same_table(rates: list[Rate]) -> None:
    back = parse_rates(export_rates(rates))
    assert sorted(back, key=lambda r: r.match) == sorted(rates, key=lambda r: r.match)
    assert export_rates(back) == export_rates(rates)
