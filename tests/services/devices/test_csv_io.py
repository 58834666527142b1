"""Devices as CSV: every validation names its row and column, a file with one bad row
writes nothing, export → import round-trips as a no-op."""

from __future__ import annotations

import csv as csv_module
import io
from pathlib import Path
from typing import Any

import pytest

from provd.db.connection import database, upgrade_schema
from provd.db.models import AuditEntry, Device, DeviceLine
from provd.domain import device_csv as device_csv_file
from provd.domain.access import Principal, Role
from provd.domain.device_csv import ImportRefused, RowError
from provd.domain.errors import InvalidInput, NotFound
from provd.security.secretbox import SecretBox
from provd.services import audit, devices
from provd.services.devices import csv_io as device_csv
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR, TEST_SETTINGS, starting_from
from tests.pg import create_database

HEADER = "mac,model,tenant,extension,lines,vlan_lan,vlan_pc,expansion_modules,name"
T46G, D785 = "yealink-t46g", "snom-d785"


async def _people(platform: Platform) -> None:
    await tenants.add_tenant(platform, TEST_ACTOR, "acme")
    for tenant in ("default", "acme"):
        for ext, name in (("201", "Anna"), ("202", "Bram"), ("203", "Cor")):
            await users.add_user(platform, TEST_ACTOR, tenant, ext, name)


platform_start = starting_from(_people)


@pytest.fixture
def people(platform: Platform) -> Platform:
    return platform


def csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


async def refused(p: Platform, text: str | bytes, **kw: str | None) -> list[RowError]:
    with pytest.raises(ImportRefused) as caught:
        await device_csv.import_devices(p, TEST_ACTOR, text, **kw)  # type: ignore[arg-type]
    return caught.value.errors


async def snapshot() -> list[tuple[object, ...]]:
    rows = (
        await Device.all()
        .order_by("mac")
        .values_list("mac", "model", "name", "vlan_lan", "vlan_pc", "expansion_modules")
    )
    lines = await DeviceLine.all().order_by("id").values_list("device_id", "slot", "user_id")
    return [*rows, *lines]


async def test_good_file_adds_devices_with_lines_vlans_and_modules(people: Platform) -> None:
    result = await device_csv.import_devices(
        people,
        TEST_ACTOR,
        csv(
            "00:15:65:4a:a9:37,yealink-t46g,default,201,2=202;3=203,100:5,off,2,Reception",
            "0004.1392.2d24,SNOM-D785,,202,,,,0,",
            "0015654aa938,yealink-t46g,acme,,,,,,Spare",
        ),
    )
    assert result.view()["added"] == 3 and result.summary == "3 added, 0 updated, 0 unchanged"
    view = await devices.device_view(await devices.get_device("0015654aa937"))
    assert [(line["slot"], line["extension"]) for line in view["lines"]] == [
        (1, "201"),
        (2, "202"),
        (3, "203"),
    ]
    assert (view["vlan_lan"], view["vlan_pc"], view["expansion_modules"]) == ("100:5", "off", 2)
    assert view["name"] == "Reception"
    snom = await devices.device_view(await devices.get_device("000413922d24"))
    assert snom["tenant"] == "default" and snom["vlan_lan"] == "inherit"
    spare = await devices.device_view(await devices.get_device("0015654aa938"))
    assert spare["tenant"] == "acme" and spare["lines"] == []
    # One audit row per device; the generated passwords are not in it.
    adds = await AuditEntry.filter(action="device.add").order_by("id")
    assert [a.object_key for a in adds] == ["0015654aa937", "000413922d24", "0015654aa938"]
    device = await devices.get_device("0015654aa937")
    assert adds[0].after.items() <= (await devices.device_view(device)).items()
    secret = devices.provisioning_credential(people, device).password
    assert all(secret not in str(a.after) for a in adds)


async def test_every_error_is_reported_with_row_and_column(people: Platform) -> None:
    errors = await refused(
        people,
        csv(
            "00:15:65:4a:a9,yealink-t46g,,,,,,,",  # row 2: bad MAC
            "0015654aa937,yealink-t99,,,,,,,",  # row 3: unknown model
            "0015654aa938,yealink-t46g,nowhere,,,,,,",  # row 4: unknown tenant
            "0015654aa939,yealink-t46g,,299,,,,,",  # row 5: unknown user
            "0015654aa93a,yealink-t46g,,201,17=202,,,,",  # row 6: slot beyond 16 accounts
            "0015654aa93b,yealink-t46g,,,,4095,,,",  # row 7: VLAN out of range
            "0015654aa93c,snom-d315,,,,,,1,",  # row 8: D315 takes no module
            "0015654aa93d,yealink-t46g,,,,,,7,",  # row 9: too many EXP40
            "0015654aa937,yealink-t46g,,,,,,,",  # row 10: same MAC as row 3
            "0015654aa93e,yealink-t46g,,201,2=201,,,,",  # row 11: same user twice
            "0015654aa93f,yealink-t46g,,,2=202;2=203,,,,",  # row 12: slot twice
            "0015654aa940,yealink-t46g,,,1=202,,,,",  # row 13: slot 1 in lines
            "0015654aa941,yealink-t46g,,,oops,,,,",  # row 14: lines syntax
            "0015654aa942,yealink-t46g,,,,,abc,,",  # row 15: VLAN syntax
            "0015654aa943,yealink-t46g,,,,,,two,",  # row 16: modules not a number
            ",,,,,,,,",  # blank: skipped, still counted
            ",yealink-t46g,,,,,,,",  # row 18: MAC missing
            "0015654aa944,,,,,,,,",  # row 19: model missing
            "0015654aa945,snom-d315,,201,5=202,,,,",  # row 20: D315 has lines 1-4
            "0015654aa946,yealink-t46g,,,,,,,Bad\x07Name",  # row 21: control char
            "0015654aa947,yealink-t46g,,,,,,,,extra",  # row 22: more cells than columns
            "0015654aa948,yealink-t46g,,298,,,,,",  # row 23: unknown user
        ),
    )
    got = [(e.row, e.column) for e in errors]
    assert got == [
        (2, "mac"),
        (3, "model"),
        (4, "tenant"),
        (5, "extension"),
        (6, "lines"),
        (7, "vlan_lan"),
        (8, "expansion_modules"),
        (9, "expansion_modules"),
        (10, "mac"),
        (11, "lines"),
        (12, "lines"),
        (13, "lines"),
        (14, "lines"),
        (15, "vlan_pc"),
        (16, "expansion_modules"),
        (18, "mac"),
        (19, "model"),
        (20, "lines"),
        (21, "name"),
        (22, "file"),
        (23, "extension"),
    ], errors
    messages = {(e.row, e.column): e.message for e in errors}
    assert "12 hexadecimal digits" in messages[(2, "mac")]
    assert "unknown model 'yealink-t99'" in messages[(3, "model")]
    assert "also on row 3" in messages[(10, "mac")]
    assert "takes no expansion module" in messages[(8, "expansion_modules")]
    assert "0 to 6 EXP40" in messages[(9, "expansion_modules")]
    assert "lines 1 to 4" in messages[(20, "lines")]
    assert "lines 1 to 16" in messages[(6, "lines")]
    assert str(errors[0]).startswith("row 2, column mac: ")
    assert await Device.all().count() == 0


async def test_database_checks_name_the_column(people: Platform) -> None:
    errors = await refused(
        people,
        csv(
            "0015654aa938,yealink-t46g,nowhere,,,,,,",
            "0015654aa939,yealink-t46g,,299,2=298,,,,",
        ),
    )
    assert [(e.row, e.column, e.message) for e in errors] == [
        (2, "tenant", "tenant 'nowhere' not found"),
        (3, "extension", "user 299 not found in tenant default"),
        (3, "lines", "user 298 not found in tenant default"),
    ]


async def test_one_bad_row_imports_nothing(people: Platform) -> None:
    await devices.add_device(people, TEST_ACTOR, "0015654aa937", T46G, users=["201"])
    before, audit_before = await snapshot(), await AuditEntry.all().count()
    errors = await refused(
        people,
        csv(
            "0015654aa937,yealink-t46g,default,202,,,,,Changed",
            "0015654aa938,yealink-t46g,default,203,,,,,",
            "0015654aa939,yealink-t46g,default,999,,,,,",
        ),
    )
    assert [(e.row, e.column) for e in errors] == [(4, "extension")]
    assert await snapshot() == before
    assert await AuditEntry.all().count() == audit_before
    first = errors[0]
    exc = ImportRefused(errors)
    assert (exc.field, exc.row, exc.message) == ("extension", 4, first.message)


async def test_export_reimports_as_a_no_op_and_round_trips(people: Platform) -> None:
    await devices.add_device(people, TEST_ACTOR, "0015654aa937", T46G, users=["201", "202"])
    await devices.update_device(TEST_ACTOR, "0015654aa937", vlan_lan="100:5", vlan_pc="off")
    await devices.add_device(
        people, TEST_ACTOR, "000413922d24", D785, tenant_slug="acme", name="=cmd|' /C calc'!A0"
    )
    await devices.update_device(TEST_ACTOR, "000413922d24", expansion_modules=3)
    text, count = await device_csv.export_devices()
    assert count == 2
    assert text.splitlines() == [
        HEADER,
        "000413922d24,snom-d785,acme,,,,,3,\"'=cmd|' /C calc'!A0\"",
        "0015654aa937,yealink-t46g,default,201,2=202,100:5,off,0,",
    ]
    assert text.endswith("\r\n")
    before, audit_before = await snapshot(), await AuditEntry.all().count()
    result = await device_csv.import_devices(people, TEST_ACTOR, text)
    assert result.summary == "0 added, 0 updated, 2 unchanged"
    assert await snapshot() == before
    assert await AuditEntry.all().count() == audit_before
    # Into an empty database the export recreates the same devices.
    await Device.all().delete()
    result = await device_csv.import_devices(people, TEST_ACTOR, text)
    assert result.summary == "2 added, 0 updated, 0 unchanged"
    assert (await device_csv.export_devices())[0] == text
    assert (await device_csv.export_devices("acme"))[0].splitlines()[1:] == [text.splitlines()[1]]


@pytest.mark.parametrize("separator", [",", ";"])
async def test_names_that_would_run_as_formulas_are_neutralised_and_round_trip(
    people: Platform, separator: str
) -> None:
    names = {
        "0015654aa937": "Desk;=1+2",  # a formula in a spreadsheet that splits on ";"
        "0015654aa938": "Desk, -1",
        "0015654aa939": "'=really",  # a name that starts with an apostrophe
        "0015654aa93a": "@Hall",
    }
    for mac, name in names.items():
        await devices.add_device(people, TEST_ACTOR, mac, T46G, name=name)
    text, _ = await device_csv.export_devices()
    # What a spreadsheet splitting on the separator shows: no cell starts a formula.
    for line in text.splitlines():
        for cell in line.split(separator):
            assert cell.lstrip(' "')[:1] not in ("=", "+", "-", "@"), line
    # Re-saved by that spreadsheet with its separator, it imports the same names.
    rows = list(csv_module.reader(io.StringIO(text)))
    out = io.StringIO()
    csv_module.writer(out, delimiter=separator).writerows(rows)
    result = await device_csv.import_devices(people, TEST_ACTOR, out.getvalue())
    assert result.summary == "0 added, 0 updated, 4 unchanged"
    await Device.all().delete()
    await device_csv.import_devices(people, TEST_ACTOR, out.getvalue())
    assert dict(await Device.all().values_list("mac", "name")) == names


async def test_existing_devices_are_updated_to_match_the_row(people: Platform) -> None:
    await devices.add_device(people, TEST_ACTOR, "0015654aa937", T46G, users=["201", "202"])
    await devices.add_device(people, TEST_ACTOR, "0015654aa938", T46G, users=["203"])
    result = await device_csv.import_devices(
        people,
        TEST_ACTOR,
        csv(
            "0015654aa937,yealink-t46g,default,202,3=201,200,,1,Desk",
            "0015654aa938,yealink-t46g,default,203,,,,0,",
        ),
    )
    assert [(c.mac, c.action) for c in result.changes] == [
        ("0015654aa937", "update"),
        ("0015654aa938", "unchanged"),
    ]
    view = await devices.device_view(await devices.get_device("0015654aa937"))
    assert [(line["slot"], line["extension"]) for line in view["lines"]] == [
        (1, "202"),
        (3, "201"),
    ]
    assert (view["vlan_lan"], view["expansion_modules"], view["name"]) == ("200:0", 1, "Desk")
    entry = await AuditEntry.filter(action="device.import").get()
    assert entry.object_key == "0015654aa937"
    assert entry.before["name"] == "" and entry.after["name"] == "Desk"


async def test_absent_columns_leave_existing_values_alone(people: Platform) -> None:
    await devices.add_device(people, TEST_ACTOR, "0015654aa937", T46G, users=["201", "202"])
    await devices.update_device(TEST_ACTOR, "0015654aa937", vlan_lan="100")
    result = await device_csv.import_devices(
        people, TEST_ACTOR, csv("0015654aa937,yealink-t46g,Front", header="MAC,Model,Name")
    )
    assert result.summary == "0 added, 1 updated, 0 unchanged"
    view = await devices.device_view(await devices.get_device("0015654aa937"))
    assert [line["extension"] for line in view["lines"]] == ["201", "202"]
    assert (view["vlan_lan"], view["name"]) == ("100:0", "Front")


async def test_a_mac_of_another_tenant_is_refused_without_naming_it(people: Platform) -> None:
    await devices.add_device(people, TEST_ACTOR, "0015654aa937", T46G, tenant_slug="acme")
    errors = await refused(people, csv("0015654aa937,yealink-t46g,default,,,,,,"))
    assert [(e.row, e.column) for e in errors] == [(2, "mac")]
    assert "another account" in errors[0].message and "acme" not in errors[0].message


async def test_the_model_of_an_existing_device_is_not_changed(people: Platform) -> None:
    await devices.add_device(people, TEST_ACTOR, "0015654aa937", T46G)
    errors = await refused(people, csv("0015654aa937,yealink-t48g,,,,,,,"))
    assert [(e.row, e.column) for e in errors] == [(2, "model")]


async def test_a_user_moved_to_line_1_may_not_stay_on_another_line(people: Platform) -> None:
    await devices.add_device(people, TEST_ACTOR, "0015654aa937", T46G, users=["201", "202"])
    errors = await refused(
        people, csv("0015654aa937,yealink-t46g,202", header="mac,model,extension")
    )
    assert [(e.row, e.column) for e in errors] == [(2, "extension")]
    assert "line 1 and line 2" in errors[0].message


async def test_scoped_import_refuses_rows_of_other_tenants(people: Platform) -> None:
    errors = await refused(
        people,
        csv("0015654aa937,yealink-t46g,,201,,,,,", "0015654aa938,yealink-t46g,default,,,,,,"),
        tenant="acme",
    )
    assert [(e.row, e.column, e.message) for e in errors] == [
        (3, "tenant", "this import is for tenant acme only")
    ]
    result = await device_csv.import_devices(
        people, TEST_ACTOR, csv("0015654aa937,yealink-t46g,,201,,,,,"), tenant="ACME"
    )
    assert result.summary == "1 added, 0 updated, 0 unchanged"
    assert (await devices.device_view(await devices.get_device("0015654aa937")))["tenant"] == "acme"


async def test_dry_run_reports_without_writing(people: Platform) -> None:
    result = await device_csv.import_devices(
        people, TEST_ACTOR, csv("0015654aa937,yealink-t46g,,201,,,,,"), dry_run=True
    )
    assert result.summary == "dry run, nothing written: 1 added, 0 updated, 0 unchanged"
    assert await Device.all().count() == 0
    assert await AuditEntry.filter(object_type="device").count() == 0


async def test_spreadsheet_files_bom_crlf_semicolons_any_header_case(people: Platform) -> None:
    text = (
        "\ufeffName;Expansion Modules;MAC;Model;Extension;Lines;VLAN_LAN;;\r\n"
        'Caf\u00e9;0;00-15-65-4A-A9-37;Yealink-T46G;201;"2=202;3=203";100:5;;\r\n'
        ";;;;;;\r\n"
    )
    result = await device_csv.import_devices(people, TEST_ACTOR, text.encode("utf-8"))
    assert result.summary == "1 added, 0 updated, 0 unchanged"
    view = await devices.device_view(await devices.get_device("0015654aa937"))
    assert view["name"] == "Caf\u00e9" and len(view["lines"]) == 3
    # Windows spreadsheets save in their ANSI code page; tabs work as well.
    ansi = "mac\tmodel\tname\r\n0015654aa938\tyealink-t46g\tCaf\u00e9\r\n".encode("cp1252")
    await device_csv.import_devices(people, TEST_ACTOR, ansi)
    assert (await devices.get_device("0015654aa938")).name == "Caf\u00e9"


async def test_header_errors(people: Platform) -> None:
    errors = await refused(people, "mac,modell,mac,colour\n0015654aa937,x,y,z\n")
    assert [(e.row, e.column) for e in errors] == [
        (1, "modell"),
        (1, "mac"),
        (1, "colour"),
        (1, "model"),
    ]
    assert "is not a known column" in errors[0].message
    assert "missing" in errors[3].message
    assert [(e.row, e.column) for e in await refused(people, "")] == [(1, "file")]
    headerless = await refused(people, "0015654aa937,yealink-t46g\n")
    assert headerless[0].column == "0015654aa937"


async def test_limits(people: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_csv_file, "MAX_ROWS", 3)
    rows = [f"0015654aa93{i},yealink-t46g" for i in range(5)]
    errors = await refused(people, csv(*rows, header="mac,model"))
    assert [(e.row, e.column) for e in errors] == [(5, "file")]
    with pytest.raises(InvalidInput) as caught:
        await device_csv.import_devices(
            people, TEST_ACTOR, b"mac,model\n" + b"x" * device_csv.MAX_BYTES
        )
    assert caught.value.field == "file"
    for data, says in ((b"PK\x03\x04rest", "workbook"), (b"mac,model\n\0\0", "not text")):
        with pytest.raises(InvalidInput) as caught:
            await device_csv.import_devices(people, TEST_ACTOR, data)
        assert caught.value.field == "file" and says in caught.value.message


async def test_installers_are_scoped_to_their_own_tenant(people: Platform) -> None:
    acme = await tenants.get_tenant("acme")
    installer = Principal("web:ian", Role.INSTALLER, acme.id)
    admin = Principal("web:root", Role.ADMIN, None)
    assert await device_csv.scope_tenant(installer, None) == "acme"
    assert await device_csv.scope_tenant(installer, "Acme") == "acme"
    with pytest.raises(NotFound) as other:
        await device_csv.scope_tenant(installer, "default")
    with pytest.raises(NotFound) as missing:
        await device_csv.scope_tenant(installer, "nowhere")
    assert other.value.as_dict()["field"] == missing.value.as_dict()["field"] == "tenant"
    assert await device_csv.scope_tenant(admin, None) is None
    assert await device_csv.scope_tenant(admin, "default") == "default"


async def test_a_failure_while_writing_leaves_nothing_behind(
    people: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    await devices.add_device(people, TEST_ACTOR, "0015654aa937", T46G, users=["201"])
    before, audit_before = await snapshot(), await AuditEntry.all().count()
    written = 0
    record = audit.record

    async def flaky(*args: Any, **kw: Any) -> None:
        nonlocal written
        written += 1
        if written == 3:
            raise RuntimeError("disk full")
        await record(*args, **kw)

    monkeypatch.setattr(audit, "record", flaky)
    with pytest.raises(RuntimeError):
        await device_csv.import_devices(
            people,
            TEST_ACTOR,
            csv(
                "0015654aa937,yealink-t46g,default,202,,,,,Moved",
                "0015654aa938,yealink-t46g,default,201,,,,,",
                "0015654aa939,yealink-t46g,default,203,,,,,",
            ),
        )
    assert await snapshot() == before
    assert await AuditEntry.all().count() == audit_before


async def test_import_and_export_on_postgresql(tmp_path: Path, postgres_server: str) -> None:
    url = create_database(postgres_server, "provd_device_csv")
    await upgrade_schema(url)
    async with database(url):
        p = Platform(tmp_path, TEST_SETTINGS, SecretBox.load_or_create(tmp_path))
        await tenants.add_tenant(p, TEST_ACTOR, "default")
        for ext in ("201", "202"):
            await users.add_user(p, TEST_ACTOR, "default", ext, f"User {ext}")
        text = csv(
            "0015654aa937,yealink-t46g,default,201,2=202,100:5,,1,Desk",
            "000413922d24,snom-d785,default,,,,off,,",
        )
        assert (await device_csv.import_devices(p, TEST_ACTOR, text)).summary == (
            "2 added, 0 updated, 0 unchanged"
        )
        exported, _ = await device_csv.export_devices("default")
        result = await device_csv.import_devices(p, TEST_ACTOR, exported)
        assert result.summary == "0 added, 0 updated, 2 unchanged"
        changed = exported.replace(",201,2=202,", ",202,2=201,")
        result = await device_csv.import_devices(p, TEST_ACTOR, changed)
        assert result.summary == "0 added, 1 updated, 1 unchanged"
        assert (await device_csv.export_devices("default"))[0] == changed
