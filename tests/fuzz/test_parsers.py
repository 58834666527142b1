"""The parsers of what phones and clients send: only the domain's error, never a crash."""

from __future__ import annotations

from typing import Any

from hypothesis import given

from provd.security.digest import parse_authorization
from tests.fuzz import targets
from tests.fuzz.targets import ci_settings

_EXAMPLES = 300


@ci_settings(_EXAMPLES)
@given(targets.macs)
def test_mac(value: str) -> None:
    targets.check_mac(value)


@ci_settings(_EXAMPLES)
@given(targets.user_agents)
def test_user_agent(value: str) -> None:
    targets.check_user_agent(value)


@ci_settings(_EXAMPLES)
@given(targets.file_names)
def test_requested_file_name(value: str) -> None:
    targets.check_file_name(value)


@ci_settings(_EXAMPLES)
@given(targets.digest_headers)
def test_digest_header(value: str) -> None:
    targets.check_digest_header(value)


@ci_settings(_EXAMPLES)
@given(targets.digest_values, targets.digest_usernames)
def test_digest_header_round_trip(values: dict[str, str], username: str) -> None:
    creds = targets.digest_round_trip(values, username)
    if creds is None:
        return  # over the length cap
    assert creds.username == username
    assert (creds.realm, creds.nonce, creds.uri, creds.response, creds.cnonce) == (
        values["realm"],
        values["nonce"],
        values["uri"],
        values["response"],
        values["cnonce"],
    )


def test_digest_header_refuses_what_it_cannot_verify() -> None:
    # A lone surrogate is what a surrogateescape decode makes of a stray byte.
    assert (
        parse_authorization('Digest username="\udcff", realm=r, nonce=n, uri=/, response=x') is None
    )


@ci_settings(_EXAMPLES)
@given(targets.csv_files())
def test_csv_parse(value: bytes | str) -> None:
    targets.tolerating_known(targets.check_csv_parse)(value)


@ci_settings(_EXAMPLES)
@given(targets.key_entries)
def test_key_spec(value: targets.KeyEntry) -> None:
    targets.check_key_entry(value)


def test_mutator_feeds_every_target() -> None:
    import random

    for target in targets.PURE_TARGETS:
        mutate = targets.Mutator(random.Random(1), target.seeds)
        for _ in range(2000):
            value: Any = mutate()
            targets.tolerating_known(target.check)(value)
