"""Phones downloading firmware over real TLS with real Digest exchanges."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import aiohttp
from aiohttp import DigestAuthMiddleware

from provd.db.models import AuditEntry, Device, FirmwareImage, Rollout, RolloutDevice
from provd.domain.firmware import DeviceState, RolloutState
from provd.services import devices, firmware
from provd.services.directory import tenants
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.digest_client import authorization, parse_challenge
from tests.firmware.images import T46G, add_image, image_bytes
from tests.web.conftest import Served

MAC_A, MAC_B, MAC_48 = "001565aabb01", "001565aabb02", "001565aabb03"
UA = "Yealink SIP-T46G 28.80.0.1 00:15:65:aa:bb:01"
VERSION = "28.83.0.120"


class Fetched:
    """Records the platform's firmware-fetched hook calls."""

    def __init__(self, p: Platform) -> None:
        self.calls: list[tuple[int, int]] = []
        p.on_firmware_fetched.append(self._record)

    async def _record(self, device_id: int, image_id: int) -> None:
        self.calls.append((device_id, image_id))


async def _fleet(p: Platform) -> tuple[dict[str, str], FirmwareImage]:
    """Two T46Gs and a T48G; the T46G platform default is VERSION. Returns passwords."""
    passwords = {}
    for mac, model in ((MAC_A, T46G), (MAC_B, T46G), (MAC_48, "yealink-t48g")):
        _, cred = await devices.add_device(p, TEST_ACTOR, mac, model)
        passwords[mac] = cred.password
    image = await add_image(p, VERSION)
    await firmware.set_pin(TEST_ACTOR, await firmware.pin_scope(), model=T46G, version=VERSION)
    return passwords, image


def _path(image: FirmwareImage) -> str:
    return f"/firmware/{image.sha256}/{image.filename}"


async def _get(
    served: Served,
    s: aiohttp.ClientSession,
    path: str,
    mac: str,
    password: str,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
) -> tuple[int, bytes, Mapping[str, str]]:
    async with s.request(
        method,
        served.base + path,
        headers={"User-Agent": UA, **(headers or {})},
        middlewares=(DigestAuthMiddleware(f"dev-{mac}", password),),
    ) as r:
        return r.status, await r.read(), r.headers


async def test_the_pinned_firmware_downloads_whole_and_counts_as_fetched(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords, image = await _fleet(served.platform)
    fetched = Fetched(served.platform)
    status, body, headers = await _get(served, session, _path(image), MAC_A, passwords[MAC_A])
    assert status == 200
    assert body == image_bytes(VERSION)
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Accept-Ranges"] == "bytes"
    device = await Device.get(mac=MAC_A)
    assert fetched.calls == [(device.id, image.id)]
    # An authenticated fetch is noted like any other, with the version the phone runs.
    assert device.reported_firmware == "28.80.0.1" and device.reported_firmware_at is not None
    assert device.sealed_at is not None


async def test_the_url_in_the_config_is_the_one_that_downloads(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords, image = await _fleet(served.platform)
    status, cfg, _ = await _get(served, session, f"/{MAC_A}.cfg", MAC_A, passwords[MAC_A])
    assert status == 200
    url = next(
        line.split(" = ", 1)[1]
        for line in cfg.decode().splitlines()
        if line.startswith("static.firmware.url = ")
    )
    assert url == f"https://provd.test:8443{_path(image)}"
    path = url.removeprefix("https://provd.test:8443")
    status, body, _ = await _get(served, session, path, MAC_A, passwords[MAC_A])
    assert status == 200 and body == image_bytes(VERSION)


async def test_range_requests_resume_and_the_last_range_counts_as_fetched(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords, image = await _fleet(served.platform)
    fetched = Fetched(served.platform)
    data = image_bytes(VERSION)
    status, body, headers = await _get(
        served, session, _path(image), MAC_A, passwords[MAC_A], {"Range": "bytes=100-4195"}
    )
    assert status == 206
    assert body == data[100:4196]
    assert headers["Content-Range"] == f"bytes 100-4195/{len(data)}"
    assert fetched.calls == []  # a part from the middle is no download yet

    status, body, headers = await _get(
        served, session, _path(image), MAC_A, passwords[MAC_A], {"Range": "bytes=4196-"}
    )
    assert status == 206
    assert body == data[4196:]
    assert len(fetched.calls) == 1  # the phone now holds every byte

    status, _, headers = await _get(
        served, session, _path(image), MAC_A, passwords[MAC_A], {"Range": f"bytes={len(data)}-"}
    )
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{len(data)}"
    assert len(fetched.calls) == 1


async def test_head_answers_the_size_without_counting(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords, image = await _fleet(served.platform)
    fetched = Fetched(served.platform)
    status, body, headers = await _get(
        served, session, _path(image), MAC_A, passwords[MAC_A], method="HEAD"
    )
    assert status == 200 and body == b""
    assert headers["Content-Length"] == str(image.size)
    assert fetched.calls == []


async def test_curl_resumes_a_download_with_digest(served: Served) -> None:
    passwords, image = await _fleet(served.platform)
    data = image_bytes(VERSION)
    part = served.platform.data_dir / "partial.rom"
    part.write_bytes(data[:1000])
    proc = await asyncio.create_subprocess_exec(
        "curl",
        "-sS",
        "--fail",
        "--digest",
        "-u",
        f"dev-{MAC_A}:{passwords[MAC_A]}",
        "--cacert",
        str(served.tls.ca),
        "-A",
        UA,
        "-C",
        "-",
        "-o",
        str(part),
        served.base + _path(image),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert part.read_bytes() == data


async def test_a_wrong_sha256_or_file_name_gets_404(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords, image = await _fleet(served.platform)
    other_sha = ("0" if image.sha256[0] != "0" else "1") + image.sha256[1:]
    for path in (
        f"/firmware/{other_sha}/{image.filename}",
        f"/firmware/{image.sha256}/T46-28.83.0.121.rom",
        f"/firmware/{image.sha256.upper()}/{image.filename}",
        f"/firmware/{image.sha256}/",
        f"/firmware/{image.sha256}/x/{image.filename}",
        f"/firmware/{image.sha256[:63]}/{image.filename}",
    ):
        status, body, _ = await _get(served, session, path, MAC_A, passwords[MAC_A])
        assert status == 404, path
        assert body != image_bytes(VERSION)


async def test_another_devices_firmware_gets_404(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords, image = await _fleet(served.platform)
    fetched = Fetched(served.platform)
    # A T48G: the image does not fit it.
    status, _, _ = await _get(served, session, _path(image), MAC_48, passwords[MAC_48])
    assert status == 404
    # A T46G pinned to another version may not fetch this one.
    await add_image(served.platform, "28.84.0.1")
    scope = await firmware.pin_scope(device=MAC_B)
    await firmware.set_pin(TEST_ACTOR, scope, model=None, version="28.84.0.1")
    status, _, _ = await _get(served, session, _path(image), MAC_B, passwords[MAC_B])
    assert status == 404
    # An image nobody is pinned to or rolled out to is nobody's.
    await firmware.remove_pin(TEST_ACTOR, await firmware.pin_scope(), model=T46G)
    status, _, _ = await _get(served, session, _path(image), MAC_A, passwords[MAC_A])
    assert status == 404
    assert fetched.calls == []


async def test_the_target_of_an_active_rollout_may_be_fetched(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords, pinned = await _fleet(served.platform)
    target = await add_image(served.platform, "28.84.0.1")
    device = await Device.get(mac=MAC_A)
    rollout = await Rollout.create(state=RolloutState.RUNNING, created_by="test")
    row = await RolloutDevice.create(
        rollout=rollout,
        device=device,
        mac=MAC_A,
        position=0,
        batch=1,
        state=DeviceState.NOTIFIED,
        target_version=target.version,
        target_image=target,
    )
    fetched = Fetched(served.platform)
    status, body, _ = await _get(served, session, _path(target), MAC_A, passwords[MAC_A])
    assert status == 200 and body == image_bytes("28.84.0.1")
    assert fetched.calls == [(device.id, target.id)]
    # Its neighbour is in no rollout.
    status, _, _ = await _get(served, session, _path(target), MAC_B, passwords[MAC_B])
    assert status == 404
    row.state = DeviceState.DONE
    await row.save()
    status, _, _ = await _get(served, session, _path(target), MAC_A, passwords[MAC_A])
    assert status == 404
    assert pinned.id != target.id


async def _raw(
    session: aiohttp.ClientSession, url: str, header: str | None
) -> tuple[int, bytes, list[str]]:
    headers = {"User-Agent": UA} | ({"Authorization": header} if header else {})
    async with session.get(url, headers=headers) as r:
        names = sorted(k for k in r.headers if k.lower() not in ("date", "www-authenticate"))
        return r.status, await r.read(), names


async def test_unauthenticated_unknown_and_wrong_credentials_get_the_same_401(
    served: Served, session: aiohttp.ClientSession
) -> None:
    _, image = await _fleet(served.platform)
    url = served.base + _path(image)
    audit_rows = await AuditEntry.all().count()
    status, body, _ = await _raw(session, url, None)
    assert status == 401 and body == b"Unauthorized\n"
    async with session.get(url) as r:
        challenge = parse_challenge(r.headers.getall("WWW-Authenticate")[1])
    boot = tenants.bootstrap_credential(served.platform, await tenants.get_tenant("default"))
    answers = [
        await _raw(
            session,
            url,
            authorization(challenge, user, password, "GET", _path(image), nc=n),
        )
        for n, (user, password) in enumerate(
            [
                (f"dev-{MAC_A}", "Wr0ng-pass!"),
                ("dev-001565ffffff", "Wr0ng-pass!"),
                (boot.username, boot.password),  # firmware needs the device's own
            ],
            start=1,
        )
    ]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 401
    device = await Device.get(mac=MAC_A)
    assert device.last_fetch_at is None and device.sealed_at is None
    assert await AuditEntry.all().count() == audit_rows


async def test_other_methods_are_refused(served: Served, session: aiohttp.ClientSession) -> None:
    passwords, image = await _fleet(served.platform)
    status, _, _ = await _get(served, session, _path(image), MAC_A, passwords[MAC_A], method="POST")
    assert status == 405
