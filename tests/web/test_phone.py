"""Phones fetching their files over real TLS with real Digest exchanges."""

from __future__ import annotations

import asyncio
import ssl

import aiohttp
import pytest
from aiohttp import DigestAuthMiddleware

from provd.db.models import AuditEntry, Device
from provd.services import devices
from provd.services.directory import tenants, users
from provd.services.directory import user_view as people
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.digest_client import authorization, parse_challenge
from tests.web.conftest import Served

T46G_MAC = "001565aabb01"
T46G_UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:aa:bb:01"
T48G_MAC = "001565aabb02"
D785_MAC = "000413922d24"
D785_UA = (
    "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 "
    "000413922D24 SXM:0 UXM:0)"
)


async def _fleet(p: Platform) -> dict[str, str]:
    """Two users, a T46G, a T48G and a D785; returns each device's password."""
    await users.add_user(p, TEST_ACTOR, "default", "201", "Front Desk")
    await users.add_user(p, TEST_ACTOR, "default", "202", "Back Office")
    out = {}
    for mac, model, ext in (
        (T46G_MAC, "yealink-t46g", "201"),
        (T48G_MAC, "yealink-t48g", "202"),
        (D785_MAC, "snom-d785", "202"),
    ):
        _, cred = await devices.add_device(p, TEST_ACTOR, mac, model, users=[ext])
        out[mac] = cred.password
    return out


async def _get(
    s: aiohttp.ClientSession, url: str, user: str, password: str, ua: str = T46G_UA
) -> tuple[int, bytes]:
    async with s.get(
        url, headers={"User-Agent": ua}, middlewares=(DigestAuthMiddleware(user, password),)
    ) as r:
        return r.status, await r.read()


async def test_unauthenticated_request_is_challenged_sha256_then_md5(
    served: Served, session: aiohttp.ClientSession
) -> None:
    await _fleet(served.platform)
    async with session.get(f"{served.base}/{T46G_MAC}.cfg", headers={"User-Agent": T46G_UA}) as r:
        assert r.status == 401
        challenges = r.headers.getall("WWW-Authenticate")
        body = await r.read()
    assert [parse_challenge(c)["algorithm"] for c in challenges] == ["SHA-256", "MD5"]
    assert all(parse_challenge(c)["qop"] == "auth" for c in challenges)
    assert b"account" not in body


async def test_t46g_fetches_its_files_with_its_own_credentials(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords = await _fleet(served.platform)
    user = f"dev-{T46G_MAC}"
    status, body = await _get(session, f"{served.base}/{T46G_MAC}.boot", user, passwords[T46G_MAC])
    assert status == 200
    assert b'include:config "y000000000028.cfg"' in body
    status, body = await _get(
        session, f"{served.base}/y000000000028.cfg", user, passwords[T46G_MAC]
    )
    assert status == 200
    assert body.startswith(b"#!version:1.0.0.1\n")
    status, body = await _get(session, f"{served.base}/{T46G_MAC}.cfg", user, passwords[T46G_MAC])
    assert status == 200
    text = body.decode()
    assert text.startswith("#!version:1.0.0.1\n")
    assert "account.1.user_name = 201" in text
    assert "account.1.sip_server.1.address = default.provd.internal" in text
    assert f"static.auto_provision.server.password = {passwords[T46G_MAC]}" in text

    device = await Device.get(mac=T46G_MAC)
    assert device.sealed_at is not None
    assert device.reported_firmware == "28.83.0.120"
    assert device.last_fetch_ip == "127.0.0.1"


async def test_curl_digest_with_t46g_user_agent(served: Served) -> None:
    passwords = await _fleet(served.platform)
    proc = await asyncio.create_subprocess_exec(
        "curl",
        "-sS",
        "--fail",
        "--digest",
        "-u",
        f"dev-{T46G_MAC}:{passwords[T46G_MAC]}",
        "--cacert",
        str(served.tls.ca),
        "-A",
        T46G_UA,
        f"{served.base}/{T46G_MAC}.cfg",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert b"account.1.auth_name = 201" in out


async def test_neighbours_credentials_never_fetch_another_devices_files(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords = await _fleet(served.platform)
    neighbour = f"dev-{T48G_MAC}"
    for name in (f"{T46G_MAC}.cfg", f"{T46G_MAC}.boot", "y000000000028.cfg"):
        status, body = await _get(session, f"{served.base}/{name}", neighbour, passwords[T48G_MAC])
        assert status == 404, name
        assert b"account" not in body and passwords[T46G_MAC].encode() not in body
    assert (await Device.get(mac=T46G_MAC)).last_fetch_at is None


async def _unauthorised(
    session: aiohttp.ClientSession, url: str, user: str, password: str
) -> tuple[int, bytes, list[str]]:
    async with session.get(url, headers={"User-Agent": T46G_UA}) as r:
        challenge = parse_challenge(r.headers.getall("WWW-Authenticate")[1])
    header = authorization(challenge, user, password, "GET", "/" + url.rsplit("/", 1)[1])
    async with session.get(url, headers={"User-Agent": T46G_UA, "Authorization": header}) as r:
        names = sorted(k for k in r.headers if k.lower() not in ("date", "www-authenticate"))
        return r.status, await r.read(), names


async def test_unknown_mac_wrong_password_and_unknown_user_look_the_same(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords = await _fleet(served.platform)
    tenant = await tenants.get_tenant("default")
    boot = tenants.bootstrap_credential(served.platform, tenant)
    audit_rows = await AuditEntry.all().count()
    wrong_password = await _unauthorised(
        session, f"{served.base}/{T46G_MAC}.cfg", f"dev-{T46G_MAC}", "Wr0ng-pass!"
    )
    unknown_user = await _unauthorised(
        session, f"{served.base}/{T46G_MAC}.cfg", "dev-001565ffffff", "Wr0ng-pass!"
    )
    unknown_mac = await _unauthorised(
        session, f"{served.base}/001565ffffff.cfg", boot.username, boot.password
    )
    too_long = await _unauthorised(
        session, f"{served.base}/{T46G_MAC}.cfg", "dev-" + "0" * 500, "Wr0ng-pass!"
    )
    assert wrong_password == unknown_user == unknown_mac == too_long
    assert wrong_password[0] == 401
    assert passwords[T46G_MAC].encode() not in wrong_password[1]
    # Nothing an unauthenticated request said was stored.
    device = await Device.get(mac=T46G_MAC)
    assert (
        device.last_fetch_at is None
        and device.sealed_at is None
        and device.reported_firmware is None
    )
    assert await AuditEntry.all().count() == audit_rows


async def test_bootstrap_credential_until_sealed_then_reset(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords = await _fleet(served.platform)
    tenant = await tenants.get_tenant("default")
    boot = tenants.bootstrap_credential(served.platform, tenant)
    url = f"{served.base}/{T46G_MAC}.cfg"

    status, body = await _get(session, url, boot.username, boot.password)
    assert status == 200
    # The config served with the bootstrap credential carries the device's own.
    assert f"static.auto_provision.server.username = dev-{T46G_MAC}" in body.decode()
    assert f"static.auto_provision.server.password = {passwords[T46G_MAC]}" in body.decode()
    assert (await Device.get(mac=T46G_MAC)).sealed_at is None

    # The common boot file names no MAC: the User-Agent's MAC picks the device.
    status, _ = await _get(
        session, f"{served.base}/y000000000000.boot", boot.username, boot.password
    )
    assert status == 200

    status, _ = await _get(session, url, f"dev-{T46G_MAC}", passwords[T46G_MAC])
    assert status == 200
    assert (await Device.get(mac=T46G_MAC)).sealed_at is not None

    status, _ = await _get(session, url, boot.username, boot.password)
    assert status == 401

    await devices.reset_device(TEST_ACTOR, T46G_MAC)
    status, _ = await _get(session, url, boot.username, boot.password)
    assert status == 200


async def test_changes_reach_the_very_next_request(
    served: Served, session: aiohttp.ClientSession
) -> None:
    # The phone path caches who a username is and what a device gets for a boot's few
    # requests; any audited change must still show on the next one.
    passwords = await _fleet(served.platform)
    url = f"{served.base}/{T46G_MAC}.cfg"
    user = f"dev-{T46G_MAC}"
    status, body = await _get(session, url, user, passwords[T46G_MAC])
    assert status == 200 and "display_name = Front Desk" in body.decode()

    await people.update_user(served.platform, TEST_ACTOR, "default", "201", name="Reception")
    status, body = await _get(session, url, user, passwords[T46G_MAC])
    assert status == 200 and "display_name = Reception" in body.decode()

    await devices.remove_device(TEST_ACTOR, T46G_MAC)
    assert (await _get(session, url, user, passwords[T46G_MAC]))[0] == 401

    # Added again, with a new password: a name unknown a moment ago is known at once,
    # and the old password is not.
    _, cred = await devices.add_device(
        served.platform, TEST_ACTOR, T46G_MAC, "yealink-t46g", users=["201"]
    )
    assert (await _get(session, url, user, passwords[T46G_MAC]))[0] == 401
    assert (await _get(session, url, user, cred.password))[0] == 200


async def test_bootstrap_credential_of_another_tenant_is_refused(
    served: Served, session: aiohttp.ClientSession
) -> None:
    await _fleet(served.platform)
    _, other = await tenants.add_tenant(served.platform, TEST_ACTOR, "other")
    status, _ = await _get(session, f"{served.base}/{T46G_MAC}.cfg", other.username, other.password)
    assert status == 401


async def test_replayed_nonce_count_is_refused(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords = await _fleet(served.platform)
    url = f"{served.base}/{T46G_MAC}.cfg"
    async with session.get(url) as r:
        challenge = parse_challenge(r.headers.getall("WWW-Authenticate")[0])
    header = authorization(
        challenge, f"dev-{T46G_MAC}", passwords[T46G_MAC], "GET", f"/{T46G_MAC}.cfg", nc=1
    )
    async with session.get(url, headers={"Authorization": header}) as r:
        assert r.status == 200
    async with session.get(url, headers={"Authorization": header}) as r:
        assert r.status == 401
    header2 = authorization(
        challenge, f"dev-{T46G_MAC}", passwords[T46G_MAC], "GET", f"/{T46G_MAC}.cfg", nc=2
    )
    async with session.get(url, headers={"Authorization": header2}) as r:
        assert r.status == 200


async def test_digest_for_another_uri_is_refused(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords = await _fleet(served.platform)
    async with session.get(f"{served.base}/{T46G_MAC}.cfg") as r:
        challenge = parse_challenge(r.headers.getall("WWW-Authenticate")[0])
    header = authorization(
        challenge, f"dev-{T46G_MAC}", passwords[T46G_MAC], "GET", "/y000000000028.cfg"
    )
    async with session.get(f"{served.base}/{T46G_MAC}.cfg", headers={"Authorization": header}) as r:
        assert r.status == 401


async def test_repeated_failures_are_refused_with_429(
    served: Served, session: aiohttp.ClientSession
) -> None:
    await _fleet(served.platform)
    statuses = []
    for _ in range(12):
        status, _ = await _get(
            session, f"{served.base}/{T46G_MAC}.cfg", f"dev-{T46G_MAC}", "Wr0ng-pass!"
        )
        statuses.append(status)
    assert statuses[0] == 401
    assert statuses[-1] == 429


async def test_snom_d785_fetches_its_files(served: Served, session: aiohttp.ClientSession) -> None:
    passwords = await _fleet(served.platform)
    user, password = f"dev-{D785_MAC}", passwords[D785_MAC]
    status, body = await _get(session, f"{served.base}/snomD785.htm", user, password, D785_UA)
    assert status == 200 and b"<setting-files>" in body
    status, body = await _get(
        session, f"{served.base}/snomD785-000413922D24.htm", user, password, D785_UA
    )
    assert status == 200 and b"000413922D24.xml" in body
    status, body = await _get(session, f"{served.base}/000413922D24.xml", user, password, D785_UA)
    assert status == 200
    assert b'<user_name idx="1" perm="R">202</user_name>' in body
    # A Yealink file name for a Snom device is not its file.
    status, _ = await _get(session, f"{served.base}/{D785_MAC}.cfg", user, password, D785_UA)
    assert status == 404


async def test_a_module_the_phone_reports_is_in_the_file_it_asked_for(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords = await _fleet(served.platform)
    user, password = f"dev-{D785_MAC}", passwords[D785_MAC]
    url = f"{served.base}/000413922D24.xml"
    status, body = await _get(session, url, user, password, D785_UA)
    assert status == 200 and b'<fkey idx="24"' not in body
    # A D7 plugged in: the very request that reports it gets the module's keys, though
    # the file without them was rendered a moment ago.
    status, body = await _get(session, url, user, password, D785_UA.replace("UXM:0", "UXM:1"))
    assert status == 200 and b'<fkey idx="24"' in body
    assert (await Device.get(mac=D785_MAC)).expansion_modules == 1


@pytest.mark.parametrize("name", ["../etc/passwd", "provd.json", "secret.key", "index.html"])
async def test_other_paths_are_not_served(
    served: Served, session: aiohttp.ClientSession, name: str
) -> None:
    async with session.get(f"{served.base}/{name}") as r:
        assert r.status == 404


async def test_plain_http_is_refused_on_the_tls_port(served: Served) -> None:
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.ClientError):
            async with s.get(f"http://127.0.0.1:{served.server.port}/{T46G_MAC}.cfg") as r:
                await r.read()


async def test_tls_certificate_is_trusted_through_the_provd_ca(served: Served) -> None:
    ctx = ssl.create_default_context()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as s:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            async with s.get(f"{served.base}/{T46G_MAC}.cfg"):
                pass
