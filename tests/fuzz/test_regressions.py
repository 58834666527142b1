"""Crashes the fuzz suite found, each pinned by the input that found it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from provd.db.models import Device
from provd.domain.device_csv import ImportRefused, parse_file
from provd.domain.errors import InvalidInput, NotFound
from provd.drivers.registry import CATALOGUE
from provd.services.devices import csv_io as device_csv
from provd.services.directory import tenants, users
from tests.fuzz import env


@pytest.fixture
def driver(tmp_path: Path, seeded_fuzz_env: env.Seeded) -> Iterator[env.Driver]:
    with env.Driver(tmp_path, seeded=seeded_fuzz_env) as d:
        yield d


def _post(driver: env.Driver, method: str, url: str, body: bytes) -> tuple[int, dict[str, object]]:
    async def go() -> tuple[int, dict[str, object]]:
        headers = {
            "Authorization": f"Bearer {driver.env.tokens['admin']}",
            "Content-Type": "application/json",
        }
        async with driver.env.session.request(method, url, data=body, headers=headers) as r:
            return r.status, json.loads(await r.read())

    return driver.run(go())


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"a":' * 50_000, b"1" * 5000],
    ids=["nested arrays", "nested objects", "5000-digit integer"],
)
def test_json_that_python_cannot_load_is_a_400(driver: env.Driver, body: bytes) -> None:
    before = driver.run(driver.env.snapshot())
    status, answer = _post(driver, "POST", "/api/v1/users", body)
    assert status == 400, answer
    assert answer["error"] == {"message": "is not valid JSON", "field": "body"}
    assert driver.run(driver.env.snapshot()) == before


@pytest.mark.parametrize("user", ["000000", "acme/1234567", "x" * 41 + "/201"])
def test_a_layout_scope_naming_an_impossible_user_is_a_404(driver: env.Driver, user: str) -> None:
    status, answer = _post(driver, "PUT", f"/api/v1/layouts?user={user}", b"{}")
    assert status == 404, answer


@pytest.mark.parametrize("extension", ["000000", "1" * 300, "\ud800", " 201\x00"])
def test_get_user_with_what_cannot_be_an_extension_is_not_found(
    driver: env.Driver, extension: str
) -> None:
    async def go() -> None:
        tenant = await tenants.get_tenant("default")
        with pytest.raises(NotFound):
            await users.get_user(tenant, extension)
        assert (await users.get_user(tenant, " 201 ")).extension == "201"

    driver.run(go())


@pytest.mark.parametrize("slug", ["x" * 41, "\ud800", "default\x00"])
def test_get_tenant_with_what_cannot_be_a_slug_is_not_found(driver: env.Driver, slug: str) -> None:
    async def go() -> None:
        with pytest.raises(NotFound):
            await tenants.get_tenant(slug)
        assert (await tenants.get_tenant(" Default ")).slug == "default"

    driver.run(go())


@pytest.mark.parametrize(
    ("user_agent", "stored"),
    [
        (b"Yealink SIP-T46G 28.83.0.120 \xff", "Yealink SIP-T46G 28.83.0.120 \ufffd"),
        (b"Yealink SIP-T46G\xed\xa0\x80 1.2", "Yealink SIP-T46G\ufffd\ufffd\ufffd 1.2"),
    ],
    ids=["latin-1 byte", "encoded surrogate"],
)
def test_a_phone_whose_user_agent_is_not_utf8_gets_its_file(
    driver: env.Driver, user_agent: bytes, stored: str
) -> None:
    call = env.PhoneCall(f"/{env.YEALINK_MAC}.cfg".encode(), user_agent, None, "device")

    async def go() -> tuple[int, str | None]:
        answer = await env._signed(driver.env, call, "127.0.0.1")
        status, _, _ = await driver.env.raw_request(env._request(call, answer), "127.0.0.1")
        device = await Device.get(mac=env.YEALINK_MAC)
        return status, device.last_user_agent

    assert driver.run(go()) == (200, stored)


def test_a_csv_str_with_a_lone_surrogate_is_not_text() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_file(
            "mac,model\r\n0015654aa937,\ud800\r\n", default_tenant="default", catalogue=CATALOGUE
        )
    assert refused.value.field == "file"


@pytest.mark.parametrize(
    ("cells", "column"),
    [("123456,", "extension"), ("201,2=123456", "lines")],
    ids=["extension", "lines"],
)
def test_a_csv_extension_longer_than_any_is_a_row_error(
    driver: env.Driver, cells: str, column: str
) -> None:
    data = f"mac,model,extension,lines\r\n0015652b3c4d,yealink-t46g,{cells}\r\n".encode()

    async def go() -> None:
        with pytest.raises(ImportRefused) as refused:
            await device_csv.import_devices(driver.env.platform, env.ACTOR, data)
        assert [(e.row, e.column) for e in refused.value.errors] == [(2, column)]

    driver.run(go())
