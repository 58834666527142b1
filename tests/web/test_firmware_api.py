"""The firmware REST API: streamed uploads, tested marks, pins, a device's firmware."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from provd.db.models import AuditEntry, FirmwareImage, FirmwarePin
from provd.firmware.store import FirmwareStore
from provd.services import devices
from provd.services.access import tokens
from provd.web.api import PREFIX
from tests.conftest import TEST_ACTOR
from tests.firmware.images import T46G, image_bytes
from tests.web.conftest import Served

MAC = "0015654aa937"
DATA = image_bytes("28.83.0.120", 300_000)
UPLOAD = {"model": T46G, "version": "28.83.0.120", "filename": "T46-28.83.0.120.rom"}


@pytest.fixture
async def api(served: Served) -> AsyncIterator[aiohttp.ClientSession]:
    token = await tokens.create_token(TEST_ACTOR, "tests")
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(
        base_url=served.base, connector=connector, headers={"Authorization": f"Bearer {token}"}
    ) as s:
        yield s


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 65536):
        yield data[i : i + 65536]


async def _upload(
    api: aiohttp.ClientSession, params: Any = UPLOAD, data: bytes = DATA
) -> tuple[int, Any]:
    async with api.post(
        f"{PREFIX}/firmware",
        params=params,
        data=_chunks(data),  # sent chunked, without a Content-Length
        headers={"Content-Type": "application/octet-stream"},
    ) as r:
        return r.status, await r.json()


async def _counts() -> tuple[int, int, int]:
    return (
        await FirmwareImage.all().count(),
        await FirmwarePin.all().count(),
        await AuditEntry.all().count(),
    )


async def test_upload_list_test_and_pin(served: Served, api: aiohttp.ClientSession) -> None:
    await devices.add_device(served.platform, TEST_ACTOR, MAC, T46G)
    status, view = await _upload(api, {**UPLOAD, "sha256": hashlib.sha256(DATA).hexdigest()})
    assert status == 201, view
    assert view["created"] and view["size"] == len(DATA) and not view["tested"]
    sha = view["sha256"]
    assert FirmwareStore(served.platform.data_dir).path(sha).read_bytes() == DATA

    status, again = await _upload(api)
    assert status == 200 and again["created"] is False and again["sha256"] == sha

    pin = {"model": T46G, "version": "28.83.0.120"}
    async with api.put(f"{PREFIX}/firmware/pins", json=pin) as r:
        assert r.status == 400
        error = (await r.json())["error"]
        assert error["field"] == "version" and "not tested" in error["message"]

    async with api.post(f"{PREFIX}/firmware/{sha[:12]}/tested") as r:
        assert r.status == 200 and (await r.json())["tested"] is True
    async with api.put(f"{PREFIX}/firmware/pins", json={**pin, "tenant": "default"}) as r:
        assert r.status == 200
        assert await r.json() == {
            "level": "tenant",
            "tenant": "default",
            "device": None,
            "model": T46G,
            "version": "28.83.0.120",
            "sha256": sha,
        }
    async with api.get(f"{PREFIX}/firmware", params={"model": T46G}) as r:
        listed = await r.json()
    assert [i["version"] for i in listed] == ["28.83.0.120"]
    assert [p["level"] for p in listed[0]["pins"]] == ["tenant"]

    async with api.get(f"{PREFIX}/devices/{MAC}/firmware") as r:
        assert r.status == 200
        device = await r.json()
    assert device["expected"]["version"] == "28.83.0.120"
    assert device["expected"]["level"] == "tenant"
    assert device["expected"]["url"] == (
        f"https://provd.test:8443/firmware/{sha}/T46-28.83.0.120.rom"
    )
    assert device["drifted"] is False and device["running"] is None

    async with api.post(f"{PREFIX}/firmware/{sha}/tested", json={"tested": False}) as r:
        assert r.status == 409  # pinned
    async with api.delete(f"{PREFIX}/firmware/pins", params={"model": T46G}) as r:
        assert r.status == 404  # nothing pinned at the platform level
    async with api.delete(
        f"{PREFIX}/firmware/pins", params={"model": T46G, "tenant": "default"}
    ) as r:
        assert r.status == 204
    async with api.get(f"{PREFIX}/devices/{MAC}/firmware") as r:
        assert (await r.json())["expected"] is None
    actions = [e.action for e in await AuditEntry.filter(object_type__startswith="firmware")]
    assert actions == ["firmware.add", "firmware.tested", "firmware.pin", "firmware.unpin"]


async def test_a_corrupt_upload_is_refused_and_nothing_is_kept(
    served: Served, api: aiohttp.ClientSession
) -> None:
    declared = hashlib.sha256(DATA).hexdigest()
    before = await _counts()
    status, body = await _upload(api, {**UPLOAD, "sha256": declared}, DATA[:-10])
    assert status == 400
    assert body["error"]["field"] == "sha256"
    assert await _counts() == before
    root = FirmwareStore(served.platform.data_dir).root
    assert list(root.iterdir()) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"version": "1.0", "filename": "a.rom"}, "model"),
        ({**UPLOAD, "model": "snom-d999"}, "model"),
        ({**UPLOAD, "version": "1 0"}, "version"),
        ({"model": T46G, "version": "1.0"}, "filename"),
        ({**UPLOAD, "filename": "../x.rom"}, "filename"),
        ({**UPLOAD, "tested": "maybe"}, "tested"),
        ({**UPLOAD, "sha256": "abc"}, "sha256"),
        ({**UPLOAD, "colour": "red"}, "colour"),
    ],
)
async def test_bad_upload_parameters_are_refused_naming_the_field(
    served: Served, api: aiohttp.ClientSession, params: dict[str, str], field: str
) -> None:
    before = await _counts()
    status, body = await _upload(api, params)
    assert status == 400, body
    assert body["error"]["field"] == field
    assert await _counts() == before


async def test_two_models_in_one_upload(served: Served, api: aiohttp.ClientSession) -> None:
    params = [("model", T46G), ("model", "yealink-t48g"), ("version", "28.83.0.120")]
    status, view = await _upload(api, [*params, ("filename", "T4x.rom"), ("tested", "true")])
    assert status == 201
    assert view["models"] == [T46G, "yealink-t48g"] and view["tested"] is True


async def test_another_file_for_the_same_model_and_version_conflicts(
    served: Served, api: aiohttp.ClientSession
) -> None:
    assert (await _upload(api))[0] == 201
    status, body = await _upload(api, UPLOAD, b"another build")
    assert status == 409
    assert body["error"]["field"] == "version"


async def test_pin_input_errors_name_the_field(served: Served, api: aiohttp.ClientSession) -> None:
    await devices.add_device(served.platform, TEST_ACTOR, MAC, T46G)
    assert (await _upload(api, {**UPLOAD, "tested": "1"}))[0] == 201
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"model": T46G}, 400, "version"),
        ({"model": T46G, "version": "9.9"}, 404, "version"),
        ({"version": "28.83.0.120"}, 400, "model"),
        ({"model": T46G, "version": "28.83.0.120", "tenant": "x", "device": MAC}, 400, "scope"),
        ({"version": "28.83.0.120", "device": MAC, "model": "yealink-t48g"}, 400, "model"),
        ({"model": T46G, "version": 28}, 400, "version"),
        ({"model": T46G, "version": "28.83.0.120", "level": "x"}, 400, "level"),
    ]
    for body, status, field in cases:
        async with api.put(f"{PREFIX}/firmware/pins", json=body) as r:
            assert r.status == status, body
            assert (await r.json())["error"]["field"] == field, body
    async with api.put(
        f"{PREFIX}/firmware/pins", json={"version": "28.83.0.120", "device": MAC}
    ) as r:
        assert r.status == 200
        assert (await r.json())["level"] == "device"
    assert await FirmwarePin.all().count() == 1


async def test_unknown_device_is_404(served: Served, api: aiohttp.ClientSession) -> None:
    async with api.get(f"{PREFIX}/devices/0015654affff/firmware") as r:
        assert r.status == 404
