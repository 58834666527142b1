"""Passwords are stored as argon2id at argon2-cffi's default cost; the suite hashes
with cheap parameters (tests/conftest.py), so this checks the application's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provd.db.models import Account
from provd.services.access import accounts
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR, TEST_HASHER

PASSWORD = "Corr3ct-horse"


@pytest.fixture
def application_hasher() -> Iterator[None]:
    accounts.use_hasher(None)
    yield
    accounts.use_hasher(TEST_HASHER)


@pytest.mark.usefixtures("application_hasher")
async def test_the_application_hashes_at_rfc_9106_cost(platform: Platform) -> None:
    await accounts.add_account(TEST_ACTOR, "alice", PASSWORD)
    stored = (await Account.get(username="alice")).password_hash
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert accounts.APPLICATION_HASHER.verify(stored, PASSWORD)


async def test_a_hash_made_at_another_cost_signs_in_and_is_rehashed(platform: Platform) -> None:
    # The suite's cheap hash, read by the application's hasher: what a lowered
    # default would look like to a real server, which then upgrades it.
    await accounts.add_account(TEST_ACTOR, "alice", PASSWORD)
    cheap = (await Account.get(username="alice")).password_hash
    assert cheap.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    accounts.use_hasher(None)
    try:
        signed_in = await accounts.sign_in(accounts.SignInGuard(), "alice", PASSWORD, "192.0.2.1")
    finally:
        accounts.use_hasher(TEST_HASHER)
    assert signed_in.principal.name == "web:alice"
    rehashed = (await Account.get(username="alice")).password_hash
    assert rehashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_an_unknown_name_is_checked_against_a_hash_of_the_same_cost() -> None:
    accounts.use_hasher(None)
    try:
        guard = accounts.SignInGuard()
    finally:
        accounts.use_hasher(TEST_HASHER)
    assert not accounts.APPLICATION_HASHER.check_needs_rehash(guard.dummy_hash)
