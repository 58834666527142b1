"""Devices as CSV, the file side: decoding, the header, each row's cells checked on
their own, and the escaping of exported cells. Pure: what needs the database
(tenants, users, existing devices) is checked by ``services/device_csv``.

Rows are counted as a spreadsheet shows them: the header is row 1, the first
device row 2.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from provd.domain.catalogue import Catalogue, PhoneModel, check_module_count
from provd.domain.errors import InvalidInput
from provd.domain.mac import Mac, parse_mac, try_parse_mac
from provd.domain.network import INHERIT, parse_vlan
from provd.domain.tenancy import check_display_name, check_extension

COLUMNS = (
    "mac",
    "model",
    "tenant",
    "extension",
    "lines",
    "vlan_lan",
    "vlan_pc",
    "expansion_modules",
    "name",
)
REQUIRED = ("mac", "model")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
HEADER_ROW = 1
# Formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that starts
# with = + - @ (or tab, CR) as a formula, also after leading spaces. A cell starts
# at the start of a field and, for a spreadsheet that splits on another separator
# than the file's (its quotes then do not line up with its cells), after any
# , ; tab, quote or line break inside a field: "Desk;=1+2" is two cells where ";"
# separates. An exported cell gets an apostrophe at each such place, ahead of the
# spaces and apostrophes before the formula character, and is quoted. The import
# takes exactly one apostrophe off each such place, so every value round-trips,
# one that really has "'=" there too: it is exported as "''=". A spreadsheet's
# own leading apostrophe only means "text", so a file typed in one reads the same.
_FORMULA = "=+\\-@\t\r"
_CELL_START = '(^|[,;\t"\r\n])'
_NEUTRALISE = re.compile(f"{_CELL_START}(?=[ ']*[{_FORMULA}])")
_NEUTRALISED = re.compile(f"{_CELL_START}'(?=[ ']*[{_FORMULA}])")
_QUOTE_IF = frozenset(",;\t\"'\r\n")
_LINE_ITEM = re.compile(r"([0-9]{1,4})\s*=\s*(\S+)")
# int() of a longer one raises (and a spreadsheet's superscript digits are isdigit()).
_COUNT = re.compile(r"[0-9]{1,4}")


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "message": self.message}


class ImportRefused(InvalidInput):
    """The file has errors, so nothing was written; ``errors`` lists every one."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        first = errors[0]
        super().__init__(first.column, first.message, row=first.row)
        self.errors = list(errors)


@dataclass(frozen=True, slots=True)
class RowRefs:
    """The tenant and users a row names: checked even when another cell is wrong."""

    row: int
    tenant: str
    users: dict[int, tuple[str, str]]
    """slot: (extension, the column that names it)"""


@dataclass(slots=True)
class DeviceRow:
    """One device row as the file states it, before anything is looked up."""

    row: int
    mac: Mac
    model: PhoneModel
    tenant: str
    extension: str = ""
    lines: dict[int, str] = field(default_factory=dict)
    vlan_lan: str | None = None
    vlan_pc: str | None = None
    expansion_modules: int = 0
    name: str = ""

    @property
    def refs(self) -> RowRefs:
        return row_refs(self.row, self.tenant, self.extension, self.lines)


def row_refs(row: int, tenant: str, extension: str, lines: dict[int, str]) -> RowRefs:
    named = {1: (extension, "extension")} if extension else {}
    return RowRefs(row, tenant, named | {slot: (ext, "lines") for slot, ext in lines.items()})


@dataclass(slots=True)
class ParsedFile:
    rows: list[DeviceRow]
    """The rows without an error."""
    refs: list[RowRefs]
    """What every row (also those with errors) names, for the database checks."""
    columns: set[str]
    errors: list[RowError]


def _decode(data: bytes | str) -> str:
    try:
        raw = data.encode() if isinstance(data, str) else data
    except UnicodeEncodeError:
        # A str holding lone surrogates: bytes that were never text.
        raise InvalidInput("file", "is not text: save it as CSV (UTF-8)") from None
    if len(raw) > MAX_BYTES:
        raise InvalidInput("file", f"is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if raw.startswith(b"PK\x03\x04"):
        raise InvalidInput("file", "is a spreadsheet workbook (xlsx, ods): save it as CSV")
    if b"\0" in raw:
        raise InvalidInput("file", "is not text: save it as CSV (UTF-8)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Windows save "CSV" in the ANSI code page.
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise InvalidInput("file", "is not text: save it as CSV (UTF-8)") from None
    return text.removeprefix("\ufeff")


def _delimiter(text: str) -> str:
    """Comma, or the semicolon or tab a spreadsheet in another locale writes."""
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _records(text: str) -> Iterable[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    row = 0
    try:
        for cells in reader:
            row += 1
            yield row, cells
    except csv.Error as e:
        raise ImportRefused([RowError(row + 1, "file", f"is not valid CSV ({e})")]) from None


def _header(cells: list[str]) -> tuple[list[str], list[RowError]]:
    while cells and not cells[-1].strip():
        cells = cells[:-1]  # a spreadsheet's trailing empty columns
    names = [c.strip().lower().replace(" ", "_").replace("-", "_") for c in cells]
    errors = []
    seen: set[str] = set()
    for given, name in zip(cells, names, strict=True):
        if name not in COLUMNS:
            errors.append(
                RowError(
                    HEADER_ROW,
                    given.strip()[:40] or "(empty)",
                    "is not a known column; the columns are " + ",".join(COLUMNS),
                )
            )
        elif name in seen:
            errors.append(RowError(HEADER_ROW, name, "is given twice"))
        seen.add(name)
    for name in REQUIRED:
        if name not in seen:
            errors.append(RowError(HEADER_ROW, name, "is missing from the header"))
    return names, errors


class _Cells:
    """One record's cells by column, collecting the errors of each."""

    def __init__(self, row: int, values: dict[str, str], errors: list[RowError]) -> None:
        self.row = row
        self.values = values
        self.errors = errors

    def get(self, column: str) -> str:
        return unescape_cell(self.values.get(column, "").strip())

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.row, column, message))

    def check(self, column: str, rule: Any, *args: Any, **kw: Any) -> Any:
        try:
            return rule(*args, field=column, **kw)
        except InvalidInput as e:
            self.fail(column, e.message)
            return None


def _vlan(cells: _Cells, column: str) -> str | None:
    text = cells.get(column)
    if not text or text.lower() == INHERIT:
        return None
    vlan = cells.check(column, parse_vlan, text)
    return "off" if text.lower() == "off" else str(vlan) if vlan else None


def _slots(cells: _Cells, model: PhoneModel | None) -> dict[int, str]:
    text = cells.get("lines")
    slots: dict[int, str] = {}
    for item in filter(None, re.split(r"[;,\s]+(?=\d+\s*=)", text)):
        match = _LINE_ITEM.fullmatch(item.strip().rstrip(";,"))
        if not match:
            cells.fail("lines", f"{item!r} is not SLOT=EXTENSION (e.g. 2=202;3=203)")
            continue
        slot, ext = int(match.group(1)), match.group(2)
        if cells.check("lines", check_extension, ext) is None:
            continue
        if slot == 1:
            cells.fail("lines", "line 1 is the extension column; lines holds slots 2 and up")
        elif model is not None and not 2 <= slot <= model.accounts:
            cells.fail("lines", f"the {model.display_name} has lines 1 to {model.accounts}")
        elif slot in slots:
            cells.fail("lines", f"line {slot} is given twice")
        else:
            slots[slot] = ext
    return slots


def _parse_row(cells: _Cells, default_tenant: str, catalogue: Catalogue) -> DeviceRow | RowRefs:
    """The row, or what it names when any of its cells is wrong (the errors are on
    ``cells``)."""
    before = len(cells.errors)
    mac = cells.check("mac", parse_mac, cells.get("mac")) if cells.get("mac") else None
    if mac is None and not cells.get("mac"):
        cells.fail("mac", "is required")
    model = cells.check("model", catalogue.get, cells.get("model")) if cells.get("model") else None
    if model is None and not cells.get("model"):
        cells.fail("model", "is required: a model id such as yealink-t46g")
    tenant = cells.get("tenant").lower() or default_tenant
    extension = cells.get("extension")
    # Only well-formed extensions go on to be looked up, so an impossible one is this
    # row's error and never a query the database refuses.
    if extension:
        extension = cells.check("extension", check_extension, extension) or ""
    lines = _slots(cells, model)
    if extension and extension in lines.values():
        cells.fail("lines", f"user {extension} is already on line 1")
    taken: dict[str, int] = {}
    for slot, ext in sorted(lines.items()):
        if ext in taken:
            cells.fail("lines", f"user {ext} is on line {taken[ext]} and line {slot}")
        taken[ext] = slot
    modules_text = cells.get("expansion_modules") or "0"
    modules = 0
    if not _COUNT.fullmatch(modules_text):
        cells.fail("expansion_modules", f"{modules_text[:20]!r} is not a number of modules")
    elif model is not None:
        modules = cells.check("expansion_modules", check_module_count, int(modules_text), model)
    name = cells.get("name")
    if name:
        name = cells.check("name", check_display_name, name) or ""
    vlan_lan, vlan_pc = _vlan(cells, "vlan_lan"), _vlan(cells, "vlan_pc")
    if len(cells.errors) > before or mac is None or model is None:
        return row_refs(cells.row, tenant, extension, lines)
    return DeviceRow(
        cells.row, mac, model, tenant, extension, lines, vlan_lan, vlan_pc, modules or 0, name
    )


def parse_file(data: bytes | str, *, default_tenant: str, catalogue: Catalogue) -> ParsedFile:
    """The rows, and the errors of those that are wrong, models looked up in ``catalogue``.
    A file that cannot be read as rows at all (no header, too big) raises."""
    text = _decode(data)
    records = iter(_records(text))
    first = next(records, None)
    if first is None or not any(c.strip() for c in first[1]):
        raise ImportRefused(
            [RowError(HEADER_ROW, "file", "the first row must be the header: " + ",".join(COLUMNS))]
        )
    names, errors = _header(first[1])
    if errors:
        raise ImportRefused(errors)
    rows: list[DeviceRow] = []
    refs: list[RowRefs] = []
    first_row_of: dict[Mac, int] = {}
    count = 0
    for row, values in records:
        if not any(v.strip() for v in values):
            continue  # spreadsheets write blank lines (";;;;") after the data
        count += 1
        if count > MAX_ROWS:
            raise ImportRefused([RowError(row, "file", f"has more than {MAX_ROWS} devices")])
        if any(v.strip() for v in values[len(names) :]):
            errors.append(
                RowError(row, "file", f"has {len(values)} cells, the header {len(names)}")
            )
            continue
        cells = _Cells(row, dict(zip(names, values, strict=False)), errors)
        mac = try_parse_mac(cells.get("mac"))
        if mac is not None and mac in first_row_of:
            cells.fail("mac", f"{mac} is also on row {first_row_of[mac]}")
        elif mac is not None:
            first_row_of[mac] = row
        parsed = _parse_row(cells, default_tenant, catalogue)
        if isinstance(parsed, DeviceRow):
            rows.append(parsed)
            refs.append(parsed.refs)
        else:
            refs.append(parsed)
    return ParsedFile(rows, refs, set(names), errors)


def escape_cell(text: str) -> str:
    """A cell as exported: no spreadsheet may run it as a formula, whatever separator
    it splits on (see ``_NEUTRALISE``)."""
    return _NEUTRALISE.sub(r"\1'", text)


def unescape_cell(text: str) -> str:
    """A cell as imported: :func:`escape_cell` undone."""
    return _NEUTRALISED.sub(r"\1", text)


def _field(value: object) -> str:
    text = escape_cell(str(value))
    if _QUOTE_IF.isdisjoint(text) and text.strip() == text:
        return text
    return '"' + text.replace('"', '""') + '"'


def export_csv(rows: Iterable[Sequence[object]]) -> str:
    """The header and ``rows`` (cells in :data:`COLUMNS` order) as the import reads
    them: comma separated, CRLF line ends, every cell escaped for spreadsheets and
    quoted when it holds a separator, a quote or an apostrophe."""
    lines = [COLUMNS, *rows]
    return "".join(",".join(_field(cell) for cell in line) + "\r\n" for line in lines)
