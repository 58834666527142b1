"""Replay protection shared by several processes through nonce claims: each nonce is
counted by the one process that used it first, and is stale in every other."""

from __future__ import annotations

import asyncio

import pytest

from provd.security.digest import (
    DigestAuthenticator,
    Outcome,
    Reason,
    VerifyResult,
    parse_authorization,
)
from tests.security.test_digest import KEY, REALM, FakeClock, _challenge, client_header


class SharedClaims:
    """What the database does for provd: the first claim of a nonce wins, once."""

    def __init__(self) -> None:
        self.owner: dict[str, str] = {}
        self.calls = 0
        self.failing = False


class WorkerClaims:
    def __init__(self, shared: SharedClaims, worker: str) -> None:
        self.shared, self.worker = shared, worker

    async def claim(self, nonce: str, issued_ms: int) -> bool:
        self.shared.calls += 1
        await asyncio.sleep(0)  # a round trip: other requests run meanwhile
        if self.shared.failing:
            raise ConnectionError("the database did not answer")
        if nonce in self.shared.owner:
            return False
        self.shared.owner[nonce] = self.worker
        return True


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def shared() -> SharedClaims:
    return SharedClaims()


def _worker(
    clock: FakeClock, shared: SharedClaims, name: str, max_tracked_nonces: int = 65536
) -> DigestAuthenticator:
    return DigestAuthenticator(
        KEY,
        REALM,
        clock=clock,
        claims=WorkerClaims(shared, name),
        max_tracked_nonces=max_tracked_nonces,
    )


async def _verify(auth: DigestAuthenticator, header: str) -> VerifyResult:
    creds = parse_authorization(header)
    assert creds is not None
    return await auth.verify_async(
        creds, method="GET", request_uri="/cfg/001565aabbcc.cfg", password="Secret-1"
    )


async def test_a_replay_is_refused_by_every_worker(clock: FakeClock, shared: SharedClaims) -> None:
    a, b, c = (_worker(clock, shared, name) for name in "abc")
    header = client_header(_challenge(a)["nonce"])
    assert (await _verify(a, header)).ok
    # The same request again, to each worker: never served twice.
    assert (await _verify(a, header)).reason is Reason.REPLAY
    for other in (b, c):
        assert await _verify(other, header) == VerifyResult(Outcome.STALE, reason=Reason.CLAIMED)
        assert (await _verify(other, header)).reason is Reason.REPLAY
    # Higher counts elsewhere are not the owner's: stale, so a real client starts over there.
    assert (await _verify(b, client_header(_challenge(a)["nonce"]))).ok
    later = client_header(header.split('nonce="')[1].split('"')[0], nc="00000002")
    assert (await _verify(b, later)).outcome is Outcome.STALE
    assert (await _verify(a, later)).ok


async def test_a_challenge_from_one_worker_is_answered_on_another(
    clock: FakeClock, shared: SharedClaims
) -> None:
    a, b = _worker(clock, shared, "a"), _worker(clock, shared, "b")
    nonce = _challenge(a)["nonce"]
    # A boot on one connection: the first answer claims the nonce, the rest reuse it.
    for nc in ("00000001", "00000002", "00000003"):
        assert (await _verify(b, client_header(nonce, nc=nc))).ok
    assert shared.calls == 1
    assert shared.owner == {nonce: "b"}
    assert (await _verify(a, client_header(nonce, nc="00000004"))).outcome is Outcome.STALE


async def test_a_nonce_from_before_a_restart_is_accepted_if_never_used(
    clock: FakeClock, shared: SharedClaims
) -> None:
    before = _worker(clock, shared, "old")
    used, unused = _challenge(before)["nonce"], _challenge(before)["nonce"]
    assert (await _verify(before, client_header(used))).ok
    clock.now += 1
    after = _worker(clock, shared, "new")
    # Without claims both would be stale (forgotten); the claims know which was used.
    assert (await _verify(after, client_header(unused))).ok
    assert (await _verify(after, client_header(used))).reason is Reason.CLAIMED


async def test_an_evicted_nonce_is_stale_not_a_first_use(
    clock: FakeClock, shared: SharedClaims
) -> None:
    auth = _worker(clock, shared, "a", max_tracked_nonces=2)
    nonces = [_challenge(auth)["nonce"] for _ in range(3)]
    for nonce in nonces:
        assert (await _verify(auth, client_header(nonce))).ok
    assert auth.tracked_nonces == 2
    # The first is no longer counted here, but its claim is taken: a replay cannot pass.
    assert (await _verify(auth, client_header(nonces[0]))).reason is Reason.CLAIMED


async def test_simultaneous_first_uses_make_one_claim(
    clock: FakeClock, shared: SharedClaims
) -> None:
    auth = _worker(clock, shared, "a")
    nonce = _challenge(auth)["nonce"]
    headers = [client_header(nonce, nc=f"{n:08x}") for n in range(1, 6)]
    results = await asyncio.gather(*(_verify(auth, h) for h in headers))
    assert all(r.ok for r in results)
    assert shared.calls == 1


async def test_a_claim_the_database_failed_is_asked_again(
    clock: FakeClock, shared: SharedClaims
) -> None:
    auth = _worker(clock, shared, "a")
    header = client_header(_challenge(auth)["nonce"])
    shared.failing = True
    with pytest.raises(ConnectionError):
        await _verify(auth, header)
    shared.failing = False
    assert (await _verify(auth, header)).ok
    assert shared.calls == 2


async def test_wrong_credentials_claim_nothing(clock: FakeClock, shared: SharedClaims) -> None:
    auth = _worker(clock, shared, "a")
    header = client_header(_challenge(auth)["nonce"], password="Wrong-1")
    assert (await _verify(auth, header)).reason is Reason.CREDENTIALS
    assert shared.calls == 0


def test_an_authenticator_with_claims_refuses_the_local_check(
    clock: FakeClock, shared: SharedClaims
) -> None:
    auth = _worker(clock, shared, "a")
    creds = parse_authorization(client_header(_challenge(auth)["nonce"]))
    assert creds is not None
    with pytest.raises(RuntimeError):
        auth.verify(creds, method="GET", request_uri="/cfg/001565aabbcc.cfg", password="Secret-1")
