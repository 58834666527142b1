"""/metrics scraped over HTTPS with an admin's token and read with prometheus_client's
parser: what a phone fetch, a failed Digest, a throttled client and other requests
move, by exactly how much, and that no MAC, user name or secret shows."""

from __future__ import annotations

import aiohttp
from aiohttp import DigestAuthMiddleware

from provd.services import devices
from provd.services.access import tokens
from tests.conftest import TEST_ACTOR
from tests.scrape import Samples, moved, parse, value
from tests.web.conftest import Served

MAC = "0015654aa937"
UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:4a:a9:37"
WRONG = "Wr0ng-pass!"
_LABELS = {"route", "status", "state", "process", "le", "outcome"}
"""Every label provd's metrics have: values from fixed sets, never a name or a MAC."""


async def _scrape(served: Served, session: aiohttp.ClientSession, token: str) -> str:
    async with session.get(
        served.base + "/metrics", headers={"Authorization": f"Bearer {token}"}
    ) as r:
        assert r.status == 200, await r.text()
        assert r.content_type == "text/plain"
        return await r.text()


async def _fetch(served: Served, session: aiohttp.ClientSession, user: str, password: str) -> int:
    """A phone's fetch: the challenge, then the answer to it (two requests)."""
    async with session.get(
        f"{served.base}/{MAC}.cfg",
        headers={"User-Agent": UA},
        middlewares=(DigestAuthMiddleware(user, password),),
    ) as r:
        await r.read()
        return r.status


def _requests(route: str, status: int) -> tuple[str, frozenset[tuple[str, str]]]:
    return ("provd_http_requests_total", frozenset({("route", route), ("status", str(status))}))


def _counted(
    before: Samples, after: Samples
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """What moved, without the histogram's buckets and sum (checked on their own)."""
    return {k: v for k, v in moved(before, after).items() if not k[0].endswith(("_bucket", "_sum"))}


async def test_a_phone_fetch_and_a_failed_digest_move_the_counters_by_exactly_one(
    served: Served, session: aiohttp.ClientSession
) -> None:
    _, credential = await devices.add_device(served.platform, TEST_ACTOR, MAC, "yealink-t46g")
    token = await tokens.create_token(TEST_ACTOR, "prometheus")
    before = parse(await _scrape(served, session, token))

    assert await _fetch(served, session, credential.username, credential.password) == 200
    assert await _fetch(served, session, credential.username, WRONG) == 401
    text = await _scrape(served, session, token)
    after = parse(text)

    assert _counted(before, after) == {
        _requests("phone", 200): 1,
        # Two challenges (each fetch starts without credentials) and the wrong password.
        _requests("phone", 401): 3,
        _requests("other", 200): 1,  # the first scrape, counted as it was sent
        ("provd_phone_auth_failures_total", frozenset()): 1,
        ("provd_phone_fetch_seconds_count", frozenset()): 1,
    }
    inf = ("provd_phone_fetch_seconds_bucket", frozenset({("le", "+Inf")}))
    assert moved(before, after)[inf] == 1
    assert value(after, "provd_phone_fetch_seconds_sum") > value(
        before, "provd_phone_fetch_seconds_sum"
    )
    assert value(after, "provd_phone_auth_throttled_total") == value(
        before, "provd_phone_auth_throttled_total"
    )
    # Nothing that names a phone, a user or a secret.
    for shown in (MAC, "00:15:65:4a:a9:37", credential.username, credential.password, token):
        assert shown not in text
    assert {name for _, labels in after for name, _ in labels} <= _LABELS


async def test_a_throttled_phone_is_counted_once_per_429(
    served: Served, session: aiohttp.ClientSession
) -> None:
    _, credential = await devices.add_device(served.platform, TEST_ACTOR, MAC, "yealink-t46g")
    token = await tokens.create_token(TEST_ACTOR, "prometheus")
    before = parse(await _scrape(served, session, token))
    statuses: list[int] = []
    while not statuses or statuses[-1] == 401:
        statuses.append(await _fetch(served, session, credential.username, WRONG))
        assert len(statuses) < 50
    assert statuses[-1] == 429
    after = parse(await _scrape(served, session, token))

    changed = _counted(before, after)
    assert changed[("provd_phone_auth_failures_total", frozenset())] == len(statuses)
    assert changed[("provd_phone_auth_throttled_total", frozenset())] == 1
    assert changed[_requests("phone", 429)] == 1


async def test_requests_are_counted_by_what_they_were_for(
    served: Served, session: aiohttp.ClientSession
) -> None:
    token = await tokens.create_token(TEST_ACTOR, "prometheus")
    before = parse(await _scrape(served, session, token))
    bearer = {"Authorization": f"Bearer {token}"}
    for path, headers in (
        ("/api/v1/devices", bearer),
        ("/api/v1/devices", {}),
        ("/static/app.css", {}),
        ("/login", {}),
        ("/console", {}),
        ("/healthz", {}),
        ("/no/such/thing", {}),
    ):
        async with session.get(served.base + path, headers=headers, allow_redirects=False) as r:
            await r.read()
    after = parse(await _scrape(served, session, token))

    assert _counted(before, after) == {
        _requests("api", 200): 1,
        _requests("api", 401): 1,
        _requests("static", 200): 1,
        _requests("console", 200): 1,
        _requests("console", 303): 1,  # to the sign-in
        _requests("other", 200): 2,  # /healthz and the first scrape
        _requests("other", 404): 1,
    }


async def test_metrics_take_an_admins_token(served: Served, session: aiohttp.ClientSession) -> None:
    async with session.get(served.base + "/metrics") as r:
        assert r.status == 401
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="provd"'
    installer = await tokens.create_token(
        TEST_ACTOR, "fitter", role="installer", tenant_slug="default"
    )
    async with session.get(
        served.base + "/metrics", headers={"Authorization": f"Bearer {installer}"}
    ) as r:
        assert r.status == 403
        assert "provd_" not in await r.text()
    admin = await tokens.create_token(TEST_ACTOR, "prometheus")
    assert "provd_http_requests_total" in await _scrape(served, session, admin)


async def test_openmetrics_when_prometheus_asks_for_it(
    served: Served, session: aiohttp.ClientSession
) -> None:
    token = await tokens.create_token(TEST_ACTOR, "prometheus")
    async with session.get(
        served.base + "/metrics",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
        },
    ) as r:
        assert r.status == 200
        assert r.content_type == "application/openmetrics-text"
        assert (await r.text()).endswith("# EOF\n")
