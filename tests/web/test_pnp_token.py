"""The credential a plug-and-play NOTIFY hands a phone: one device's configuration,
once, for minutes, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

import aiohttp
from aiohttp import DigestAuthMiddleware

from provd.db.models import Device, ProvisioningToken
from provd.domain.mac import Mac
from provd.services import devices, discovery
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.web.conftest import Served

T46G_MAC = "001565aabb01"
T46G_UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:aa:bb:01"
T48G_MAC = "001565aabb02"
T48G_UA = "Yealink SIP-T48G 35.83.0.120 00:15:65:aa:bb:02"
D785_MAC = "000413922d24"
D785_UA = (
    "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 "
    "000413922D24 SXM:0 UXM:0)"
)


async def _fleet(p: Platform) -> dict[str, str]:
    """Three unsealed devices of the default tenant; each one's own password."""
    await users.add_user(p, TEST_ACTOR, "default", "201", "Front Desk")
    out = {}
    for mac, model in (
        (T46G_MAC, "yealink-t46g"),
        (T48G_MAC, "yealink-t48g"),
        (D785_MAC, "snom-d785"),
    ):
        _, cred = await devices.add_device(p, TEST_ACTOR, mac, model, users=["201"])
        out[mac] = cred.password
    return out


async def _token(p: Platform, mac: str) -> tuple[str, str]:
    """What the NOTIFY for ``mac`` carries: (username, password)."""
    url = await discovery.pnp_url(p, Mac(mac), answer_unknown=False)
    assert url is not None
    parts = urlsplit(url)
    return unquote(parts.username or ""), unquote(parts.password or "")


async def _get(
    s: aiohttp.ClientSession, url: str, user: str, password: str, ua: str = T46G_UA
) -> tuple[int, bytes]:
    async with s.get(
        url, headers={"User-Agent": ua}, middlewares=(DigestAuthMiddleware(user, password),)
    ) as r:
        return r.status, await r.read()


async def test_the_notify_carries_a_token_not_the_bootstrap_credential(
    platform: Platform,
) -> None:
    await _fleet(platform)
    url = await discovery.pnp_url(platform, Mac(T46G_MAC), answer_unknown=False)
    assert url is not None
    boot = tenants.bootstrap_credential(platform, await tenants.get_tenant("default"))
    parts = urlsplit(url)
    assert parts.username is not None and parts.username.startswith("pnp-")
    assert boot.username not in url
    assert boot.password not in unquote(url) and boot.password not in url
    assert f"{parts.scheme}://{parts.hostname}:{parts.port}/" == platform.settings.provisioning_url
    # Each NOTIFY gets its own token, bound to the MAC it was asked for.
    assert await _token(platform, T46G_MAC) != await _token(platform, T46G_MAC)
    token = await ProvisioningToken.get(username=parts.username).select_related("device")
    assert token.device.mac == T46G_MAC
    assert token.used_at is None
    # Stored sealed, never in clear.
    assert unquote(parts.password or "").encode() not in bytes(token.password_enc)


async def test_a_token_fetches_its_devices_configuration_once(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords = await _fleet(served.platform)
    user, password = await _token(served.platform, T46G_MAC)
    base = served.base

    # What the phone reads before its configuration: boot files and the model's file.
    for name in ("y000000000000.boot", f"{T46G_MAC}.boot", "y000000000028.cfg"):
        assert (await _get(session, f"{base}/{name}", user, password))[0] == 200, name
    status, body = await _get(session, f"{base}/{T46G_MAC}.cfg", user, password)
    assert status == 200
    # The configuration hands the phone its own credential; the token did not seal it.
    assert f"static.auto_provision.server.password = {passwords[T46G_MAC]}" in body.decode()
    device = await Device.get(mac=T46G_MAC)
    assert device.sealed_at is None and device.last_fetch_at is not None

    # Spent: the configuration, and everything else, is refused.
    for name in (f"{T46G_MAC}.cfg", f"{T46G_MAC}.boot", "y000000000028.cfg"):
        assert (await _get(session, f"{base}/{name}", user, password))[0] == 401, name

    # The phone comes back with its own credential, which seals it.
    own = (f"dev-{T46G_MAC}", passwords[T46G_MAC])
    assert (await _get(session, f"{base}/{T46G_MAC}.cfg", *own))[0] == 200
    assert (await Device.get(mac=T46G_MAC)).sealed_at is not None


async def test_a_token_opens_no_other_device(
    served: Served, session: aiohttp.ClientSession
) -> None:
    await _fleet(served.platform)
    user, password = await _token(served.platform, T46G_MAC)
    base = served.base
    # Another unsealed device of the same tenant: its files, by path or by User-Agent.
    assert (await _get(session, f"{base}/{T48G_MAC}.cfg", user, password))[0] == 401
    assert (await _get(session, f"{base}/{T48G_MAC}.boot", user, password))[0] == 401
    assert (await _get(session, f"{base}/y000000000035.cfg", user, password, T48G_UA))[0] == 401
    assert (await _get(session, f"{base}/y000000000000.boot", user, password, T48G_UA))[0] == 401
    # Its own model's common file asked for with a User-Agent naming no MAC.
    assert (await _get(session, f"{base}/y000000000028.cfg", user, password, "curl/8"))[0] == 401
    # None of that spent it.
    assert (await _get(session, f"{base}/{T46G_MAC}.cfg", user, password))[0] == 200
    for device in await Device.all():
        assert device.sealed_at is None


async def test_an_expired_token_is_refused(served: Served, session: aiohttp.ClientSession) -> None:
    await _fleet(served.platform)
    user, password = await _token(served.platform, T46G_MAC)
    await ProvisioningToken.filter(username=user).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert (await _get(session, f"{served.base}/{T46G_MAC}.cfg", user, password))[0] == 401
    assert (await _get(session, f"{served.base}/y000000000028.cfg", user, password))[0] == 401
    assert (await Device.get(mac=T46G_MAC)).last_fetch_at is None


async def test_a_token_is_refused_once_its_device_is_sealed(
    served: Served, session: aiohttp.ClientSession
) -> None:
    passwords = await _fleet(served.platform)
    user, password = await _token(served.platform, T46G_MAC)
    own = (f"dev-{T46G_MAC}", passwords[T46G_MAC])
    assert (await _get(session, f"{served.base}/{T46G_MAC}.cfg", *own))[0] == 200
    assert (await _get(session, f"{served.base}/{T46G_MAC}.cfg", user, password))[0] == 401


async def test_a_wrong_token_password_looks_like_an_unknown_token(
    served: Served, session: aiohttp.ClientSession
) -> None:
    await _fleet(served.platform)
    user, _ = await _token(served.platform, T46G_MAC)
    url = f"{served.base}/{T46G_MAC}.cfg"
    answers = []
    for name, password in ((user, "Wr0ng-pass!"), ("pnp-" + "0" * 24, "Wr0ng-pass!")):
        async with session.get(
            url,
            headers={"User-Agent": T46G_UA},
            middlewares=(DigestAuthMiddleware(name, password),),
        ) as r:
            answers.append((r.status, await r.read()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401


async def test_a_snom_token_fetches_the_container_then_the_settings_once(
    served: Served, session: aiohttp.ClientSession
) -> None:
    await _fleet(served.platform)
    user, password = await _token(served.platform, D785_MAC)
    base = served.base
    for name in ("snomD785.htm", "snomD785-000413922D24.htm"):
        assert (await _get(session, f"{base}/{name}", user, password, D785_UA))[0] == 200, name
    status, body = await _get(session, f"{base}/000413922D24.xml", user, password, D785_UA)
    assert status == 200 and b'<user_name idx="1" perm="R">201</user_name>' in body
    status, _ = await _get(session, f"{base}/000413922D24.xml", user, password, D785_UA)
    assert status == 401


async def test_tokens_do_not_pile_up(platform: Platform) -> None:
    await _fleet(platform)
    for _ in range(10):
        await _token(platform, T46G_MAC)
    assert await ProvisioningToken.filter(device__mac=T46G_MAC).count() == 4
    # Expired tokens go with the next issue.
    await ProvisioningToken.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    await _token(platform, T48G_MAC)
    assert await ProvisioningToken.all().count() == 1
