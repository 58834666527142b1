"""Rate tables as CSV: ``match,price_per_minute,setup_fee,increment``.

The file is the whole table of one owner (the platform or one tenant). Reading it is
all or nothing: every row is checked and every error is reported by row (the header
is row 1) and column. Export writes the same columns, so a file read back is the
same table. Cells are escaped against spreadsheet formulas as device files are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import TypeVar

from provd.domain.device_csv import ImportRefused, RowError, escape_cell, unescape_cell
from provd.domain.errors import InvalidInput
from provd.domain.rating import Rate, parse_amount, parse_increment, parse_match

COLUMNS = ("match", "price_per_minute", "setup_fee", "increment")
REQUIRED = ("match", "price_per_minute")
MAX_BYTES = 1024 * 1024
MAX_ROWS = 10_000
HEADER_ROW = 1

T = TypeVar("T")


def _decode(data: bytes | str) -> str:
    try:
        raw = data.encode() if isinstance(data, str) else data
    except UnicodeEncodeError:
        # A str holding lone surrogates: bytes that were never text.
        not_text = RowError(HEADER_ROW, "file", "is not text: save it as CSV (UTF-8)")
        raise ImportRefused([not_text]) from None
    if len(raw) > MAX_BYTES:
        raise ImportRefused([RowError(HEADER_ROW, "file", f"is larger than {MAX_BYTES} bytes")])
    if raw.startswith(b"PK\x03\x04") or b"\0" in raw:
        raise ImportRefused([RowError(HEADER_ROW, "file", "is not text: save it as CSV (UTF-8)")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Windows save "CSV" in the ANSI code page.
        return raw.decode("cp1252", "replace")


def _delimiter(first_line: str) -> str:
    """Comma, or the semicolon or tab a spreadsheet in another locale writes."""
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header(cells: list[str]) -> list[str]:
    while cells and not cells[-1].strip():
        cells = cells[:-1]  # a spreadsheet's trailing empty columns
    names = [c.strip().lower().replace(" ", "_").replace("-", "_") for c in cells]
    errors: list[RowError] = []
    seen: set[str] = set()
    for given, name in zip(cells, names, strict=True):
        if name not in COLUMNS:
            label = given.strip()[:40] or "(empty)"
            errors.append(
                RowError(HEADER_ROW, label, "is not a column; they are " + ",".join(COLUMNS))
            )
        elif name in seen:
            errors.append(RowError(HEADER_ROW, name, "is given twice"))
        seen.add(name)
    errors.extend(
        RowError(HEADER_ROW, name, "is missing from the header")
        for name in REQUIRED
        if name not in seen
    )
    if errors:
        raise ImportRefused(errors)
    return names


def parse_rates(data: bytes | str) -> list[Rate]:
    """Every rate of the file, or :class:`ImportRefused` listing every error."""
    text = _decode(data)
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=_delimiter(text.split("\n", 1)[0]), strict=True
    )
    rows = enumerate(reader, start=HEADER_ROW)
    try:
        first = next(rows, None)
        if first is None or not any(c.strip() for c in first[1]):
            raise ImportRefused(
                [RowError(HEADER_ROW, "file", "the first row must be: " + ",".join(COLUMNS))]
            )
        names = _header(first[1])
        rates: list[Rate] = []
        errors: list[RowError] = []
        first_row_of: dict[str, int] = {}
        for row, values in rows:
            if not any(v.strip() for v in values):
                continue  # spreadsheets write blank lines (";;;") after the data
            if len(rates) + len(errors) >= MAX_ROWS:
                raise ImportRefused([RowError(row, "file", f"has more than {MAX_ROWS} rates")])
            if any(v.strip() for v in values[len(names) :]):
                errors.append(
                    RowError(row, "file", f"has {len(values)} cells, the header has {len(names)}")
                )
                continue
            cells = {n: unescape_cell(v.strip()) for n, v in zip(names, values, strict=False)}
            rate = _row(row, cells, errors, first_row_of)
            if rate is not None:
                rates.append(rate)
    except csv.Error as e:
        raise ImportRefused(
            [RowError(reader.line_num, "file", f"is not valid CSV ({e})")]
        ) from None
    if errors:
        raise ImportRefused(errors)
    return rates


class _Row:
    """One record's cells by column, collecting the errors of each."""

    def __init__(self, row: int, cells: dict[str, str], errors: list[RowError]) -> None:
        self.row = row
        self.cells = cells
        self.errors = errors
        self.ok = True

    def check(self, column: str, rule: Callable[..., T], default: str = "") -> T | None:
        try:
            return rule(self.cells.get(column, "") or default, field=column)
        except InvalidInput as e:
            self.errors.append(RowError(self.row, column, e.message))
            self.ok = False
            return None


def _row(
    row: int, cells: dict[str, str], errors: list[RowError], first_row_of: dict[str, int]
) -> Rate | None:
    r = _Row(row, cells, errors)
    match = r.check("match", parse_match)
    if match is not None and match in first_row_of:
        r.errors.append(RowError(row, "match", f"{match} is also on row {first_row_of[match]}"))
        r.ok = False
    elif match is not None:
        first_row_of[match] = row
    per_minute = r.check("price_per_minute", parse_amount)
    setup = r.check("setup_fee", parse_amount, "0")
    increment = r.check("increment", parse_increment)
    if not r.ok or match is None or per_minute is None or setup is None:
        return None
    return Rate(match, per_minute, setup, increment)


def _cell(value: str) -> str:
    text = escape_cell(value)
    return '"' + text.replace('"', '""') + '"' if set(text) & set(",;\t\"'\r\n") else text


def export_rates(rates: Iterable[Rate]) -> str:
    """The header and one line per rate, prefixes first (longest first), then call
    types: the order a look-up tries them. Read back by :func:`parse_rates` unchanged."""
    ordered = sorted(rates, key=lambda r: (r.call_type is not None, -len(r.match), r.match))
    lines = [",".join(COLUMNS)]
    for r in ordered:
        cells = (
            r.match,
            format(r.price_per_minute, "f"),
            format(r.setup_fee, "f"),
            str(r.increment) if r.increment is not None else "",
        )
        lines.append(",".join(_cell(c) for c in cells))
    return "".join(line + "\r\n" for line in lines)
