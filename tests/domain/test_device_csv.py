"""The CSV file side, without a database: formula injection neutralised in every
exported cell for spreadsheets splitting on ``,``, ``;`` or tab, export → parse
round-trips, and any input gives rows or the domain's error, never a crash."""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provd.domain.catalogue import PhoneModel
from provd.domain.device_csv import (
    COLUMNS,
    DeviceRow,
    escape_cell,
    export_csv,
    parse_file,
    unescape_cell,
)
from provd.domain.errors import InvalidInput
from provd.domain.mac import Mac
from provd.domain.tenancy import MAX_DISPLAY_NAME
from provd.drivers.registry import CATALOGUE, MODELS
from tests.hypothesis_profiles import examples

HEADER = ",".join(COLUMNS)
FORMULA = "=+-@\t\r"
# Bounded and repeatable in CI: a failure is a regression, not a lucky draw.
PROPERTY = settings(
    max_examples=examples(300),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def spreadsheet_cells(text: str, separator: str) -> list[str]:
    """Every cell a spreadsheet could see in ``text``: split on ``separator`` and line
    breaks, both honouring quotes and ignoring them (a file opened with another
    separator than its own does not line its quotes up with the cells)."""
    naive = re.split(f"[{re.escape(separator)}\r\n]", text)
    quoted = [c for row in csv.reader(io.StringIO(text), delimiter=separator) for c in row]
    return naive + quoted


def runs_as_formula(cell: str) -> bool:
    # Leading spaces and the quotes of a misread field do not stop a formula.
    return cell.lstrip(' "')[:1] in tuple(FORMULA)


def name_row(name: str, mac: str = "0015654aa937") -> str:
    return export_csv([[mac, "yealink-t46g", "default", "", "", "", "", 0, name]])


# ---- formula injection -----------------------------------------------------------


@pytest.mark.parametrize("separator", [",", ";"])
@pytest.mark.parametrize(
    "name",
    [
        "=1+2",
        "+1",
        "-1",
        "@SUM(A1)",
        "Desk;=1+2",
        "Desk,=1+2",
        "Desk; =1+2",
        "Desk;'=1+2",
        "=cmd|' /C calc'!A0",
        'Desk";=HYPERLINK("http://x")',
    ],
)
def test_no_exported_cell_runs_as_a_formula(separator: str, name: str) -> None:
    text = name_row(name)
    assert not [c for c in spreadsheet_cells(text, separator) if runs_as_formula(c)]
    # The file, as re-saved with either separator, imports the same name.
    if separator == ";":
        rows = list(csv.reader(io.StringIO(text)))
        out = io.StringIO()
        csv.writer(out, delimiter=";").writerows(rows)
        text = out.getvalue()
    parsed = parse_file(text, default_tenant="default", catalogue=CATALOGUE)
    assert parsed.errors == []
    assert [r.name for r in parsed.rows] == [name]


def test_a_neutralised_cell_is_quoted_and_prefixed() -> None:
    assert name_row("Desk;=1+2").splitlines()[1].endswith(',0,"Desk;\'=1+2"')
    assert name_row("=1+2").splitlines()[1].endswith(',0,"\'=1+2"')
    assert name_row("Desk 12").splitlines()[1].endswith(",0,Desk 12")


@pytest.mark.parametrize(
    ("value", "exported"),
    [
        ("=1", "'=1"),
        ("'=1", "''=1"),  # really starts with an apostrophe: one more, taken off again
        ("''=1", "'''=1"),
        ("'x", "'x"),  # no formula behind it: left alone
        ("a;=1;b", "a;'=1;b"),
        ("a; '=1", "a;' '=1"),
        ("a - b", "a - b"),  # a dash after a space is text in every spreadsheet
        ("a\t-1", "a\t'-1"),
    ],
)
def test_escaping_is_undone_exactly(value: str, exported: str) -> None:
    assert escape_cell(value) == exported
    assert unescape_cell(exported) == value


def test_a_spreadsheet_saved_text_mark_is_not_part_of_the_value() -> None:
    # Typed as '=1 in a spreadsheet and saved: the apostrophe only meant "text".
    parsed = parse_file(
        f"{HEADER}\n0015654aa937,yealink-t46g,,,,,,,'=1\n", default_tenant="d", catalogue=CATALOGUE
    )
    assert [r.name for r in parsed.rows] == ["=1"]


@PROPERTY
@given(st.text())
def test_escape_then_unescape_is_the_identity(value: str) -> None:
    assert unescape_cell(escape_cell(value)) == value


@PROPERTY
@given(st.text(alphabet=st.sampled_from("=+-@\t\r\n'\" ,;aZ1é|")), st.sampled_from(",;\t"))
def test_no_escaped_cell_runs_as_a_formula_whatever_the_separator(
    value: str, separator: str
) -> None:
    text = export_csv([[value]])
    assert not [c for c in spreadsheet_cells(text, separator) if runs_as_formula(c)]


# ---- export → parse round trip ---------------------------------------------------

_names = (
    st.text(alphabet=st.sampled_from("=+-@'\";,| aZé1()!"), min_size=1, max_size=MAX_DISPLAY_NAME)
    | st.text(min_size=1, max_size=MAX_DISPLAY_NAME)
).map(str.strip)
_vlans = (
    st.none() | st.just("off") | st.builds("{}:{}".format, st.integers(1, 4094), st.integers(0, 7))
)
_extensions = st.integers(10, 99_999).map(str)


@st.composite
def device_rows(draw: st.DrawFn, row: int, mac: str) -> DeviceRow:
    model: PhoneModel = draw(st.sampled_from(MODELS))
    extension = draw(st.just("") | _extensions)
    exts = draw(st.lists(_extensions, unique=True, max_size=3).filter(lambda e: extension not in e))
    slots = draw(st.lists(st.integers(2, model.accounts), unique=True, min_size=len(exts)))
    name = draw(_names.filter(lambda n: n.isprintable()))
    most = model.expansion.max_count if model.expansion else 0
    return DeviceRow(
        row,
        Mac(mac),
        model,
        draw(st.sampled_from(["default", "acme", "a-1"])),
        extension,
        dict(zip(slots, exts, strict=False)),
        draw(_vlans),
        draw(_vlans),
        draw(st.integers(0, most)),
        name,
    )


@st.composite
def device_files(draw: st.DrawFn) -> list[DeviceRow]:
    macs = draw(st.lists(st.integers(0, 0xFFFFFF), unique=True, max_size=12))
    return [draw(device_rows(row, f"001565{mac:06x}")) for row, mac in enumerate(macs, start=2)]


def _cells(r: DeviceRow) -> list[object]:
    lines = ";".join(f"{slot}={ext}" for slot, ext in sorted(r.lines.items()))
    return [
        r.mac,
        r.model.id,
        r.tenant,
        r.extension,
        lines,
        r.vlan_lan or "",
        r.vlan_pc or "",
        r.expansion_modules,
        r.name,
    ]


@settings(PROPERTY, max_examples=examples(150))
@given(device_files())
def test_exported_rows_parse_back_to_the_same_devices(rows: list[DeviceRow]) -> None:
    parsed = parse_file(
        export_csv([_cells(r) for r in rows]), default_tenant="default", catalogue=CATALOGUE
    )
    assert parsed.errors == []
    assert parsed.rows == rows


# ---- any input --------------------------------------------------------------------

_junk_cells = st.sampled_from(
    [
        "",
        "0015654aa937",
        "yealink-t46g",
        "snom-d315",
        "201",
        "2=202;3=203",
        "9" * 5000,
        "²",
        "١٢",
        "2=" + "9" * 5000,
        "9" * 5000 + "=202",
        "100:5",
        "4095",
        "1:" + "9" * 5000,
        "'=1",
        '"',
        "off",
        "\x00",
        "\ufeff",
    ]
) | st.text(max_size=12)


@st.composite
def csv_like(draw: st.DrawFn) -> str | bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind == 1:
        return draw(st.text(max_size=300))
    header = draw(st.permutations(COLUMNS).map(list) | st.lists(st.sampled_from(COLUMNS)))
    separator = draw(st.sampled_from(",;\t"))
    rows = draw(st.lists(st.lists(_junk_cells, max_size=len(header) + 1), max_size=8))
    out = io.StringIO()
    csv.writer(out, delimiter=separator).writerows([header, *rows])
    text = out.getvalue()
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig"]))) if kind == 3 else text


@PROPERTY
@given(csv_like())
def test_any_input_gives_rows_or_the_domain_error(data: str | bytes) -> None:
    try:
        parsed = parse_file(data, default_tenant="default", catalogue=CATALOGUE)
    except InvalidInput as e:
        assert e.field and e.message
        return
    # A row with an error is never among the rows to write.
    wrong = {e.row for e in parsed.errors}
    assert all(e.row >= 2 for e in parsed.errors)
    assert not [r for r in parsed.rows if r.row in wrong]
