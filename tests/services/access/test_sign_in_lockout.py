"""The console's sign-in lockout: an account is locked after repeated failures, but
no address's failures lock anyone else out unless that address sprays many names."""

from __future__ import annotations

import pytest

from provd.services.access import accounts
from provd.services.audit import Actor
from provd.services.platform import Platform

ROOT = Actor("test")
PASSWORD = "Corr3ct-horse"
WRONG = "Wr0ng-horse!"
OFFICE = "192.0.2.1"


async def _refused(guard: accounts.SignInGuard, user: str, password: str, client: str) -> str:
    with pytest.raises(accounts.SignInRefused) as e:
        await accounts.sign_in(guard, user, password, client)
    return e.value.message


async def test_failures_for_one_account_never_lock_another(platform: Platform) -> None:
    for name in ("alice", "bob"):
        await accounts.add_account(ROOT, name, PASSWORD)
    guard = accounts.SignInGuard()
    messages = [await _refused(guard, "alice", WRONG, OFFICE) for _ in range(40)]
    assert messages[:5] == [accounts.WRONG] * 5
    assert all("too many" in m for m in messages[5:])
    # The account is locked even for its right password: standard practice.
    assert "too many" in await _refused(guard, "alice", PASSWORD, OFFICE)
    signed_in = await accounts.sign_in(guard, "bob", PASSWORD, OFFICE)
    assert signed_in.principal.name == "web:bob"


async def test_colleagues_mistyping_behind_one_address_do_not_lock_it(
    platform: Platform,
) -> None:
    names = [f"user{i}" for i in range(9)]
    for name in names:
        await accounts.add_account(ROOT, name, PASSWORD)
    guard = accounts.SignInGuard()
    # Eight people behind the office's NAT each mistype three times in a minute.
    for name in names[:8]:
        for _ in range(3):
            assert await _refused(guard, name, WRONG, OFFICE) == accounts.WRONG
    signed_in = await accounts.sign_in(guard, names[8], PASSWORD, OFFICE)
    assert signed_in.principal.name == f"web:{names[8]}"


async def test_spraying_many_names_from_one_address_is_stopped(platform: Platform) -> None:
    await accounts.add_account(ROOT, "bob", PASSWORD)
    guard = accounts.SignInGuard()
    messages = [await _refused(guard, f"guess{i}", WRONG, "198.51.100.7") for i in range(70)]
    assert messages.count(accounts.WRONG) == 60
    assert all("too many" in m for m in messages[60:])
    # Every check costs an argon2 hash, so the ceiling refuses before checking: the
    # spraying address is stopped for everyone, and no other address is.
    assert "too many" in await _refused(guard, "bob", PASSWORD, "198.51.100.7")
    assert (await accounts.sign_in(guard, "bob", PASSWORD, OFFICE)).principal.name == "web:bob"
