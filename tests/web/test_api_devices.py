"""The devices API's CSV import and export: errors as JSON by row and column,
installers confined to their tenant, export → import round-trips."""

from __future__ import annotations

import asyncio
import io
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from provd.db.models import AuditEntry, Device
from provd.security.tls import TlsPaths, server_ssl_context
from provd.services import devices
from provd.services.access import tokens
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from provd.web.api import PREFIX
from provd.web.app import make_app
from provd.web.server import build_provisioner
from tests.conftest import TEST_ACTOR, starting_from
from tests.web.conftest import Served

HEADER = "mac,model,tenant,extension,lines,vlan_lan,vlan_pc,expansion_modules,name"
Client = Callable[[str], AbstractAsyncContextManager[aiohttp.ClientSession]]


async def _people(platform: Platform) -> None:
    await tenants.add_tenant(platform, TEST_ACTOR, "acme")
    for tenant in ("default", "acme"):
        for ext, name in (("201", "Anna"), ("202", "Bram")):
            await users.add_user(platform, TEST_ACTOR, tenant, ext, name)
    await devices.add_device(platform, TEST_ACTOR, "0015654aa937", "yealink-t46g", users=["201"])
    await devices.add_device(
        platform, TEST_ACTOR, "000413922d24", "snom-d785", tenant_slug="acme", users=["202"]
    )


platform_start = starting_from(_people)


@pytest.fixture
def people(platform: Platform) -> Platform:
    return platform


@pytest.fixture
async def client(served: Served, people: Platform) -> Client:
    """Sessions as the admin or as an installer of acme, by bearer token."""
    by_who = {
        "admin": await tokens.create_token(TEST_ACTOR, "admin"),
        "installer": await tokens.create_token(
            TEST_ACTOR, "ian", role="installer", tenant_slug="acme"
        ),
    }

    @asynccontextmanager
    async def open_as(who: str) -> AsyncIterator[aiohttp.ClientSession]:
        async with aiohttp.ClientSession(
            base_url=served.base,
            connector=aiohttp.TCPConnector(ssl=served.client_ssl()),
            headers={"Authorization": f"Bearer {by_who[who]}"},
        ) as s:
            yield s

    return open_as


async def _post_csv(s: aiohttp.ClientSession, text: str, query: str = "") -> tuple[int, Any]:
    async with s.post(
        f"{PREFIX}/devices/import{query}",
        data=text.encode(),
        headers={"Content-Type": "text/csv"},
    ) as r:
        return r.status, await r.json()


async def test_export_is_csv_that_reimports_as_a_no_op(client: Client) -> None:
    async with client("admin") as s, s.get(f"{PREFIX}/devices/export") as r:
        assert r.status == 200
        assert r.content_type == "text/csv"
        assert r.headers["Content-Disposition"] == 'attachment; filename="devices-all.csv"'
        text = await r.text()
    assert text.splitlines() == [
        HEADER,
        "000413922d24,snom-d785,acme,202,,,,0,",
        "0015654aa937,yealink-t46g,default,201,,,,0,",
    ]
    audit_before = await AuditEntry.all().count()
    async with client("admin") as s:
        status, body = await _post_csv(s, text)
    assert status == 200
    assert (body["added"], body["updated"], body["unchanged"]) == (0, 0, 2)
    assert await AuditEntry.all().count() == audit_before


async def test_export_route_is_not_taken_for_a_mac(client: Client) -> None:
    # /devices/{mac} was registered first; "export" must still reach the CSV export.
    async with client("admin") as s:
        async with s.get(f"{PREFIX}/devices/export?tenant=acme") as r:
            assert r.status == 200 and r.content_type == "text/csv"
            assert 'filename="devices-acme.csv"' in r.headers["Content-Disposition"]
        async with s.get(f"{PREFIX}/devices/0015654aa937") as r:
            assert r.status == 200 and (await r.json())["mac"] == "0015654aa937"


async def test_errors_are_json_by_row_and_column_and_nothing_is_written(client: Client) -> None:
    text = "\n".join(
        [
            HEADER,
            "0015654aa938,yealink-t46g,default,201,,,,,",
            "00:15:65,yealink-t46g,default,,,,,,",
            "0015654aa939,yealink-t46g,default,299,,,,,",
        ]
    )
    async with client("admin") as s:
        status, body = await _post_csv(s, text)
    assert status == 400
    assert body["error"] == {
        "row": 3,
        "field": "mac",
        "message": "'00:15:65' is not a MAC address: it must be 12 hexadecimal digits",
    }
    assert body["errors"] == [
        {"row": 3, "column": "mac", "message": body["error"]["message"]},
        {"row": 4, "column": "extension", "message": "user 299 not found in tenant default"},
    ]
    assert await Device.filter(mac="0015654aa938").count() == 0


async def test_dry_run_and_a_good_import(client: Client) -> None:
    text = f"{HEADER}\n0015654aa938,yealink-t46g,default,202,,,,,Hall\n"
    async with client("admin") as s:
        status, body = await _post_csv(s, text, "?dry_run=1")
        assert (status, body["added"], body["dry_run"]) == (200, 1, True)
        assert await Device.filter(mac="0015654aa938").count() == 0
        status, body = await _post_csv(s, text)
    assert (status, body["added"]) == (200, 1)
    assert body["changes"] == [{"row": 2, "mac": "0015654aa938", "action": "add"}]
    # A form upload (curl -F file=@devices.csv) works as well.
    form = aiohttp.FormData()
    form.add_field("file", text.encode(), filename="devices.csv", content_type="text/csv")
    async with client("admin") as s, s.post(f"{PREFIX}/devices/import", data=form) as r:
        assert r.status == 200 and (await r.json())["unchanged"] == 1
    assert (await devices.get_device("0015654aa938")).name == "Hall"


async def test_installers_import_and_export_their_own_tenant_only(client: Client) -> None:
    async with client("installer") as s:
        async with s.get(f"{PREFIX}/devices/export") as r:
            assert r.status == 200
            lines = (await r.text()).splitlines()
        assert lines == [HEADER, "000413922d24,snom-d785,acme,202,,,,0,"]
        for other in ("default", "nowhere"):
            async with s.get(f"{PREFIX}/devices/export?tenant={other}") as r:
                assert r.status == 404
                assert (await r.json())["error"]["field"] == "tenant"
        # A row naming another tenant, and a MAC another tenant holds.
        status, body = await _post_csv(
            s,
            f"{HEADER}\n0015654aa938,yealink-t46g,default,,,,,,\n"
            "0015654aa937,yealink-t46g,,201,,,,,\n",
        )
        assert status == 400
        assert [(e["row"], e["column"]) for e in body["errors"]] == [(2, "tenant"), (3, "mac")]
        assert "default" not in body["errors"][1]["message"]
        status, body = await _post_csv(s, f"{HEADER}\n0015654aa938,yealink-t46g,,201,,,,,\n")
        assert (status, body["added"]) == (200, 1)
        async with s.post(f"{PREFIX}/devices/import?tenant=default", data=b"mac,model\n") as r:
            assert r.status == 404
    added = await devices.device_view(await devices.get_device("0015654aa938"))
    assert added["tenant"] == "acme" and added["lines"][0]["extension"] == "201"
    entry = await AuditEntry.filter(object_key="0015654aa938").get()
    assert entry.actor == "api:ian"


async def test_the_routes_are_documented(client: Client) -> None:
    async with client("admin") as s, s.get(f"{PREFIX}/openapi.json") as r:
        doc = await r.json()
    post = doc["paths"][f"{PREFIX}/devices/import"]["post"]
    assert "text/csv" in post["requestBody"]["content"]
    assert post["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "CsvErrors"
    )
    assert "get" in doc["paths"][f"{PREFIX}/devices/export"]


# ---- whole bodies (issue 21, finding 5) ----------------------------------------------

ROWS = 10_000


def _big_file(prefix: str = "0015650", bad_row: int | None = None) -> str:
    """10,000 devices of tenant acme, each named after its row; ``bad_row`` (as a
    spreadsheet counts: the header is row 1) names a model that does not exist."""
    lines = [HEADER]
    for i in range(ROWS):
        model = "nokia-3310" if i + 2 == bad_row else "yealink-t46g"
        lines.append(f"{prefix}{i:05x},{model},acme,,,,,0,Desk {i + 2}")
    return "\r\n".join(lines) + "\r\n"


def _form(text: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field(
        "file", io.BytesIO(text.encode()), filename="devices.csv", content_type="text/csv"
    )
    return form


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    """The body in pieces with pauses between, as a network delivers a large file."""
    for start in range(0, len(data), 65_536):
        yield data[start : start + 65_536]
        await asyncio.sleep(0.005)


async def _post_in_pieces(s: aiohttp.ClientSession, text: str) -> tuple[int, Any]:
    data = text.encode()
    headers = {"Content-Type": "text/csv", "Content-Length": str(len(data))}
    async with s.post(f"{PREFIX}/devices/import", data=_chunks(data), headers=headers) as r:
        return r.status, await r.json()


# Scale tests (tests/conftest.py): 10,000-row files, the most one may hold, read whole as a
# body and as a form; writing 20,000 device rows took seconds, reading one file of them 0.8.
@pytest.mark.slow
async def test_ten_thousand_rows_import_whole_as_a_body_and_as_a_form(client: Client) -> None:
    text = _big_file()
    assert len(text) > 400_000  # far more than one read of the socket
    async with client("admin") as s:
        status, body = await _post_in_pieces(s, text)
        assert (status, body["added"]) == (200, ROWS)
        async with s.post(f"{PREFIX}/devices/import", data=_form(text)) as r:
            assert r.status == 200
            assert (await r.json())["unchanged"] == ROWS
    names = dict(await Device.filter(mac__startswith="0015650").values_list("mac", "name"))
    assert len(names) == ROWS
    # Every cell whole, the last one too (a cut body read "Desk 10001" as "Desk 10").
    assert names == {f"0015650{i:05x}": f"Desk {i + 2}" for i in range(ROWS)}


@pytest.mark.slow
@pytest.mark.parametrize("as_form", [False, True], ids=["body", "form"])
async def test_ten_thousand_rows_with_one_bad_row_import_nothing(
    client: Client, as_form: bool
) -> None:
    text = _big_file("0015651", bad_row=9_990)
    async with client("installer") as s:
        if as_form:
            async with s.post(f"{PREFIX}/devices/import", data=_form(text)) as r:
                status, body = r.status, await r.json()
        else:
            status, body = await _post_in_pieces(s, text)
    assert status == 400
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(9_990, "model")]
    assert await Device.filter(mac__startswith="0015651").count() == 0


@pytest.mark.parametrize("how", ["content-length", "chunked", "form"])
async def test_a_file_over_5_mb_is_413_and_nothing_is_read(client: Client, how: str) -> None:
    row = "0015652{:05x},yealink-t46g,acme,,,,,0," + "x" * 60 + "\n"
    text = HEADER + "\n" + "".join(row.format(i) for i in range(5 * 1024**2 // 80 + 100))
    assert 5 * 1024**2 < len(text) < 16 * 1024**2
    data: Any = {
        "content-length": io.BytesIO(text.encode()),
        "chunked": _chunks(text.encode()),
        "form": _form(text),
    }[how]
    headers = {} if how == "form" else {"Content-Type": "text/csv"}
    url = f"{PREFIX}/devices/import"
    async with client("admin") as s, s.post(url, data=data, headers=headers) as r:
        assert r.status == 413
        assert (await r.json())["error"] == {
            "field": "file",
            "message": "is larger than 5 MB: split it (at most 10,000 devices a file)",
        }
    assert await Device.filter(mac__startswith="0015652").count() == 0


async def test_a_form_without_its_closing_boundary_is_refused(client: Client) -> None:
    body = (
        b"--XX\r\n"
        b'Content-Disposition: form-data; name="file"; filename="d.csv"\r\n\r\n'
        b"mac,model\r\n001565300001,yealink-t46g\r\n001565300002,yealink-t4"
    )
    headers = {"Content-Type": "multipart/form-data; boundary=XX"}
    url = f"{PREFIX}/devices/import"
    async with client("admin") as s, s.post(url, data=body, headers=headers) as r:
        assert r.status == 400
        assert (await r.json())["error"]["field"] == "file"
    assert await Device.filter(mac__startswith="0015653").count() == 0


async def test_a_body_cut_short_by_a_disconnect_writes_nothing(
    platform: Platform, people: Platform, tls: TlsPaths
) -> None:
    """The client sends the head and half the body it announced, then goes away."""
    outcome: asyncio.Queue[int] = asyncio.Queue()
    entered = asyncio.Event()

    @web.middleware
    async def watch(request: web.Request, handler: Any) -> web.StreamResponse:
        entered.set()
        response: web.StreamResponse = await handler(request)
        outcome.put_nowait(response.status)
        return response

    app = make_app(platform, build_provisioner(platform))
    app.middlewares.insert(0, watch)
    # As `provd serve` runs it: a handler is not cancelled when its client goes away
    # (aiohttp's test server would cancel it, hiding what the handler does then).
    runner = web.AppRunner(app, handler_cancellation=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl_context(tls))
        await site.start()
        token = await tokens.create_token(TEST_ACTOR, "admin")
        data = _big_file("0015655").encode()
        assert tls.ca is not None
        _, writer = await asyncio.open_connection(
            "127.0.0.1",
            runner.addresses[0][1],
            ssl=ssl.create_default_context(cafile=str(tls.ca)),
            server_hostname="127.0.0.1",
        )
        head = (
            f"POST {PREFIX}/devices/import HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: text/csv\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        writer.write(head.encode() + data[: len(data) // 2])
        await writer.drain()
        await entered.wait()
        # Time for a handler that imports what has arrived to do so, as before the fix.
        for _ in range(50):
            if not outcome.empty():
                break
            await asyncio.sleep(0.02)
        writer.close()
        assert await outcome.get() == 400
    finally:
        await runner.cleanup()
    assert await Device.filter(mac__startswith="0015655").count() == 0
