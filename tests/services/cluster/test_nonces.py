"""Nonce claims in the database: two provisioners on one database behave as one
server (a challenge from one is answered on the other; a replay is refused by both)."""

from __future__ import annotations

import asyncio

from provd.db.models import NonceClaim
from provd.security.digest import NONCE_LIFETIME
from provd.services import devices
from provd.services.cluster.housekeeping import CLOCK_SKEW_S, Housekeeping
from provd.services.cluster.nonce_key import nonce_key
from provd.services.cluster.nonces import DatabaseClaims
from provd.services.platform import Platform
from provd.services.provisioning import PhoneRequest, PhoneResponse, Provisioner
from provd.web.server import build_provisioner
from tests.conftest import TEST_ACTOR
from tests.digest_client import authorization, parse_challenge

MAC = "001565aabb01"
UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:aa:bb:01"
FILE = f"{MAC}.cfg"


async def test_the_first_claim_of_a_nonce_wins_once(platform: Platform) -> None:
    a, b = DatabaseClaims("host:1"), DatabaseClaims("host:2")
    results = await asyncio.gather(*(c.claim("n" * 48, 1) for c in (a, b, a, b)))
    assert sorted(results) == [False, False, False, True]
    assert await a.claim("m" * 48, 1) is True
    assert await a.claim("m" * 48, 1) is False
    rows = {r.nonce: r.worker for r in await NonceClaim.all()}
    assert rows["m" * 48] == "host:1"


async def test_housekeeping_deletes_claims_of_expired_nonces_only(platform: Platform) -> None:
    now = 1_800_000_000.0
    horizon_ms = int((now - NONCE_LIFETIME - CLOCK_SKEW_S) * 1000)
    claims = DatabaseClaims("host:1")
    await claims.claim("o" * 48, horizon_ms - 1)
    await claims.claim("y" * 48, horizon_ms + 1)
    await Housekeeping(clock=lambda: now).sweep()
    assert [r.nonce for r in await NonceClaim.all()] == ["y" * 48]


def _request(authorization: str | None = None) -> PhoneRequest:
    return PhoneRequest(FILE, "GET", f"/{FILE}", "192.0.2.10", UA, authorization)


def _answer(challenged: PhoneResponse, password: str, nc: int = 1) -> str:
    header = dict(challenged.headers)["WWW-Authenticate"]
    challenge = parse_challenge(header)
    return authorization(challenge, f"dev-{MAC}", password, "GET", f"/{FILE}", nc=nc)


async def _two_workers(platform: Platform) -> tuple[Provisioner, Provisioner, str]:
    _, cred = await devices.add_device(platform, TEST_ACTOR, MAC, "yealink-t46g")
    key = await nonce_key(platform.box)
    a = build_provisioner(platform, key, shared=True)
    return a, build_provisioner(platform, key, shared=True), cred.password


async def test_a_challenge_from_one_worker_is_answered_on_the_other(platform: Platform) -> None:
    a, b, password = await _two_workers(platform)
    challenged = await a.serve(_request())
    assert challenged.status == 401
    for nc in (1, 2, 3):
        answered = await b.serve(_request(_answer(challenged, password, nc)))
        assert answered.status == 200, answered.body
    assert await NonceClaim.all().count() == 1


async def test_a_replay_to_the_other_worker_is_refused(platform: Platform) -> None:
    a, b, password = await _two_workers(platform)
    header = _answer(await a.serve(_request()), password)
    assert (await a.serve(_request(header))).status == 200
    replayed = await b.serve(_request(header))
    assert replayed.status == 401
    # Stale: a phone with the password starts over with a nonce of its own there.
    assert all("stale=true" in v for k, v in replayed.headers if k == "WWW-Authenticate")
    assert (await b.serve(_request(header))).status == 401
    assert (await a.serve(_request(header))).status == 401
    fresh = _answer(replayed, password)
    assert (await b.serve(_request(fresh))).status == 200
