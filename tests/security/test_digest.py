from __future__ import annotations

import gc
import hashlib
import random
import re
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from provd.security import digest
from provd.security.digest import (
    Algorithm,
    DigestAuthenticator,
    DigestCredentials,
    Outcome,
    Reason,
    VerifyResult,
    ha1,
    parse_authorization,
)

KEY = b"k" * 32
REALM = "provd"
CURL = "/usr/bin/curl"


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- a client written from RFC 7616, independent of the code under test -----------------


def _hex(algorithm: str, text: str) -> str:
    name = {"MD5": "md5", "SHA-256": "sha256"}[algorithm]
    return hashlib.new(name, text.encode()).hexdigest()


def client_response(
    *,
    algorithm: str,
    username: str,
    password: str,
    realm: str,
    nonce: str,
    method: str,
    uri: str,
    nc: str,
    cnonce: str,
    qop: str = "auth",
) -> str:
    a1 = _hex(algorithm, f"{username}:{realm}:{password}")
    a2 = _hex(algorithm, f"{method}:{uri}")
    return _hex(algorithm, f"{a1}:{nonce}:{nc}:{cnonce}:{qop}:{a2}")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def client_header(
    nonce: str,
    *,
    username: str = "alice",
    password: str = "Secret-1",
    realm: str = REALM,
    algorithm: str | None = "SHA-256",
    method: str = "GET",
    uri: str = "/cfg/001565aabbcc.cfg",
    nc: str = "00000001",
    cnonce: str = "0a4f113b",
    opaque: str | None = None,
    extra: str = "",
) -> str:
    response = client_response(
        algorithm=algorithm or "MD5",
        username=username,
        password=password,
        realm=realm,
        nonce=nonce,
        method=method,
        uri=uri,
        nc=nc,
        cnonce=cnonce,
    )
    parts = [
        f"username={_quote(username)}",
        f"realm={_quote(realm)}",
        f"nonce={_quote(nonce)}",
        f"uri={_quote(uri)}",
        f"response={_quote(response)}",
        "qop=auth",
        f"nc={nc}",
        f"cnonce={_quote(cnonce)}",
    ]
    if algorithm is not None:
        parts.append(f"algorithm={algorithm}")
    if opaque is not None:
        parts.append(f"opaque={_quote(opaque)}")
    return "Digest " + ", ".join(parts) + extra


# RFC 7616 §3.9.1, which checks the client above before it is trusted to check the server.
RFC_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_client_helper_matches_rfc_7616_example(algorithm: str, expected: str) -> None:
    assert (
        client_response(
            algorithm=algorithm,
            username="Mufasa",
            password="Circle of Life",
            realm="http-auth@example.org",
            nonce=RFC_NONCE,
            method="GET",
            uri="/dir/index.html",
            nc="00000001",
            cnonce=RFC_CNONCE,
        )
        == expected
    )


def test_ha1_is_the_rfc_a1_hash() -> None:
    assert ha1("MD5", "Mufasa", "http-auth@example.org", "Circle of Life") == _hex(
        "MD5", "Mufasa:http-auth@example.org:Circle of Life"
    )
    assert ha1(Algorithm.SHA256, "u", "r", "p") == hashlib.sha256(b"u:r:p").hexdigest()


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def auth(clock: FakeClock) -> DigestAuthenticator:
    return DigestAuthenticator(KEY, REALM, clock=clock)


def _challenge(auth: DigestAuthenticator, stale: bool = False) -> dict[str, str]:
    """The parameters of the first challenge, parsed the way a client would."""
    value = auth.challenge_headers(stale=stale)[0]
    assert value.startswith("Digest ")
    return _params(value[7:])


def _params(text: str) -> dict[str, str]:
    return {m[0]: m[1] or m[2] for m in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', text)}


def _verify(
    auth: DigestAuthenticator,
    header: str,
    *,
    password: str | None = "Secret-1",
    method: str = "GET",
    uri: str = "/cfg/001565aabbcc.cfg",
) -> VerifyResult:
    creds = parse_authorization(header)
    assert creds is not None, header
    return auth.verify(creds, method=method, request_uri=uri, password=password)


# -- challenges -----------------------------------------------------------------------


def test_challenge_offers_sha256_then_md5_with_one_nonce(auth: DigestAuthenticator) -> None:
    first, second = auth.challenge_headers()
    p1, p2 = _params(first[7:]), _params(second[7:])
    assert p1["algorithm"] == "SHA-256"
    assert p2["algorithm"] == "MD5"
    assert p1["nonce"] == p2["nonce"]
    assert p1["opaque"] == p2["opaque"] and p1["opaque"]
    assert p1["realm"] == REALM
    assert 'qop="auth"' in first and 'qop="auth"' in second
    assert "stale" not in first


def test_challenge_marks_stale_on_request(auth: DigestAuthenticator) -> None:
    assert all(v.endswith(", stale=true") for v in auth.challenge_headers(stale=True))


def test_each_challenge_has_a_fresh_nonce(auth: DigestAuthenticator) -> None:
    nonces = {_challenge(auth)["nonce"] for _ in range(100)}
    assert len(nonces) == 100


def test_algorithms_can_be_narrowed(clock: FakeClock) -> None:
    auth = DigestAuthenticator(KEY, REALM, algorithms=[Algorithm.MD5], clock=clock)
    [only] = auth.challenge_headers()
    assert "algorithm=MD5" in only
    nonce = _params(only[7:])["nonce"]
    assert _verify(auth, client_header(nonce, algorithm="SHA-256")).reason is Reason.ALGORITHM
    assert _verify(auth, client_header(nonce, algorithm="MD5")).ok


@pytest.mark.parametrize(
    ("key", "realm"),
    [(b"short", REALM), (KEY, ""), (KEY, 'a"b'), (KEY, "a\\b"), (KEY, "a\nb")],
)
def test_bad_construction_is_refused(key: bytes, realm: str) -> None:
    with pytest.raises(ValueError):
        DigestAuthenticator(key, realm)


# -- successful authentication ---------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5", "sha-256", "md5"])
def test_correct_response_is_accepted(auth: DigestAuthenticator, algorithm: str) -> None:
    nonce = _challenge(auth)["nonce"]
    header = client_header(nonce, algorithm=algorithm.upper()).replace(
        f"algorithm={algorithm.upper()}", f"algorithm={algorithm}"
    )
    assert _verify(auth, header) == VerifyResult(Outcome.OK, username="alice")


def test_absent_algorithm_means_md5(auth: DigestAuthenticator) -> None:
    nonce = _challenge(auth)["nonce"]
    assert _verify(auth, client_header(nonce, algorithm=None)).ok


def test_opaque_is_optional_but_must_match(auth: DigestAuthenticator) -> None:
    params = _challenge(auth)
    assert _verify(auth, client_header(params["nonce"], opaque=params["opaque"])).ok
    wrong = _verify(auth, client_header(params["nonce"], opaque="x", nc="00000002"))
    assert wrong.reason is Reason.OPAQUE


def test_upper_case_response_hex_is_accepted(auth: DigestAuthenticator) -> None:
    nonce = _challenge(auth)["nonce"]
    header = client_header(nonce)
    response = _params(header)["response"]
    assert _verify(auth, header.replace(response, response.upper())).ok


def test_query_string_is_part_of_the_uri(auth: DigestAuthenticator) -> None:
    nonce = _challenge(auth)["nonce"]
    uri = "/cfg/y000000000028.cfg?mac=001565aabbcc&x=%20"
    assert _verify(auth, client_header(nonce, uri=uri), uri=uri).ok


def test_non_ascii_username_via_username_star(auth: DigestAuthenticator) -> None:
    # RFC 7616 §3.9.2's user, sent in the RFC 8187 form.
    nonce = _challenge(auth)["nonce"]
    header = client_header(nonce, username="Jäsøn Doe").replace(
        'username="Jäsøn Doe"', "username*=UTF-8''J%C3%A4s%C3%B8n%20Doe"
    )
    assert _verify(auth, header).username == "Jäsøn Doe"


# -- rejection -------------------------------------------------------------------------


def test_wrong_password_and_unknown_user_look_the_same(
    auth: DigestAuthenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[str] = []
    real_ha1 = digest.ha1

    def counting_ha1(algorithm: str, username: str, realm: str, password: str) -> str:
        hashed.append(username)
        return real_ha1(algorithm, username, realm, password)

    monkeypatch.setattr(digest, "ha1", counting_ha1)
    nonce = _challenge(auth)["nonce"]
    wrong = _verify(auth, client_header(nonce, password="Wrong-1"))
    unknown = _verify(auth, client_header(nonce, nc="00000002"), password=None)
    assert wrong == unknown == VerifyResult(Outcome.FAILED, reason=Reason.CREDENTIALS)
    # The unknown user costs the same hashing, so timing does not tell them apart.
    assert hashed == ["alice", "alice"]


def test_failed_attempts_do_not_consume_the_nonce_count(auth: DigestAuthenticator) -> None:
    nonce = _challenge(auth)["nonce"]
    assert not _verify(auth, client_header(nonce, password="Wrong-1")).ok
    assert _verify(auth, client_header(nonce)).ok


def test_method_is_covered_by_the_response(auth: DigestAuthenticator) -> None:
    nonce = _challenge(auth)["nonce"]
    result = _verify(auth, client_header(nonce, method="GET"), method="PUT")
    assert result.reason is Reason.CREDENTIALS


@pytest.mark.parametrize(
    "request_uri",
    [
        "/cfg/other.cfg",
        "/cfg/001565aabbcc.cfg?x=1",
        "/cfg/001565AABBCC.cfg",
        "/cfg/001565aabbcc.cfg/",
    ],
)
def test_uri_must_be_the_request_target(auth: DigestAuthenticator, request_uri: str) -> None:
    nonce = _challenge(auth)["nonce"]
    assert _verify(auth, client_header(nonce), uri=request_uri).reason is Reason.URI


def test_realm_must_match(auth: DigestAuthenticator) -> None:
    nonce = _challenge(auth)["nonce"]
    assert _verify(auth, client_header(nonce, realm="other")).reason is Reason.REALM


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("qop=auth", "qop=auth-int", Reason.QOP),
        ("nc=00000001", "nc=xyz", Reason.QOP),
        ("nc=00000001", "nc=000000001", Reason.QOP),
        ("algorithm=SHA-256", "algorithm=SHA-256-sess", Reason.ALGORITHM),
        ("algorithm=SHA-256", "algorithm=SHA-512-256", Reason.ALGORITHM),
    ],
)
def test_unsupported_parameters_fail(
    auth: DigestAuthenticator, old: str, new: str, reason: Reason
) -> None:
    nonce = _challenge(auth)["nonce"]
    header = client_header(nonce).replace(old, new)
    assert _verify(auth, header) == VerifyResult(Outcome.FAILED, reason=reason)


def test_rfc_2069_style_response_without_qop_fails(auth: DigestAuthenticator) -> None:
    nonce = _challenge(auth)["nonce"]
    header = re.sub(r", (qop|nc|cnonce)=[^,]+", "", client_header(nonce))
    assert "qop" not in header
    assert _verify(auth, header).reason is Reason.QOP


def test_userhash_true_is_refused(auth: DigestAuthenticator) -> None:
    nonce = _challenge(auth)["nonce"]
    assert _verify(auth, client_header(nonce, extra=", userhash=true")).reason is Reason.USERHASH
    assert _verify(auth, client_header(nonce, extra=", userhash=false")).ok


# -- nonces ----------------------------------------------------------------------------


def test_expired_nonce_with_right_password_is_stale(
    auth: DigestAuthenticator, clock: FakeClock
) -> None:
    nonce = _challenge(auth)["nonce"]
    clock.now += 300.5
    assert _verify(auth, client_header(nonce)) == VerifyResult(Outcome.STALE, reason=Reason.EXPIRED)


def test_expired_nonce_with_wrong_password_fails(
    auth: DigestAuthenticator, clock: FakeClock
) -> None:
    nonce = _challenge(auth)["nonce"]
    clock.now += 301
    assert _verify(auth, client_header(nonce, password="x")).outcome is Outcome.FAILED


def test_nonce_is_usable_for_its_whole_lifetime(
    auth: DigestAuthenticator, clock: FakeClock
) -> None:
    nonce = _challenge(auth)["nonce"]
    clock.now += 299.9
    assert _verify(auth, client_header(nonce)).ok


def test_nonce_from_the_future_is_stale(auth: DigestAuthenticator, clock: FakeClock) -> None:
    nonce = _challenge(auth)["nonce"]
    clock.now -= 60
    assert _verify(auth, client_header(nonce)).outcome is Outcome.STALE


def test_small_clock_step_back_is_tolerated(auth: DigestAuthenticator, clock: FakeClock) -> None:
    nonce = _challenge(auth)["nonce"]
    clock.now -= 2
    assert _verify(auth, client_header(nonce)).ok


@pytest.mark.parametrize(
    "forge",
    [
        lambda n: n[:-1] + ("A" if n[-1] != "A" else "B"),
        lambda n: ("A" if n[0] != "A" else "B") + n[1:],
        lambda n: n[:-4],
        lambda n: n + "AAAA",
        lambda n: n.replace("-", "+").replace("_", "/") if ("-" in n or "_" in n) else n + "=",
        lambda n: "",
        lambda n: "x" * 48,
        lambda n: "é" * 48,
    ],
)
def test_forged_nonce_never_authenticates(
    auth: DigestAuthenticator, forge: Callable[[str], str]
) -> None:
    nonce = forge(_challenge(auth)["nonce"])
    # Whoever computed the right digest for it knows the password: re-challenge them.
    assert _verify(auth, client_header(nonce)) == VerifyResult(Outcome.STALE, reason=Reason.NONCE)
    assert _verify(auth, client_header(nonce, password="Guess-1")) == VerifyResult(
        Outcome.FAILED, reason=Reason.CREDENTIALS
    )


def test_nonce_from_another_key_is_stale(clock: FakeClock) -> None:
    # A restart with a new key: clients holding old nonces retry instead of failing.
    other = DigestAuthenticator(b"o" * 32, REALM, clock=clock)
    auth = DigestAuthenticator(KEY, REALM, clock=clock)
    nonce = _challenge(other)["nonce"]
    assert _verify(auth, client_header(nonce)).reason is Reason.NONCE
    assert _verify(auth, client_header(nonce)).outcome is Outcome.STALE
    assert _verify(auth, client_header(nonce, password="x")).outcome is Outcome.FAILED


def test_nonce_survives_a_restart_as_stale_not_failed(clock: FakeClock) -> None:
    before = DigestAuthenticator(KEY, REALM, clock=clock)
    nonce = _challenge(before)["nonce"]
    assert _verify(before, client_header(nonce)).ok
    clock.now += 1
    after = DigestAuthenticator(KEY, REALM, clock=clock)
    # The new process cannot know nc=1 was used, so a replay must not pass as a first use.
    assert _verify(after, client_header(nonce)).reason is Reason.FORGOTTEN
    assert _verify(after, client_header(_challenge(after)["nonce"])).ok


def test_nonce_issued_at_startup_instant_is_usable(clock: FakeClock) -> None:
    auth = DigestAuthenticator(KEY, REALM, clock=clock)
    assert _verify(auth, client_header(_challenge(auth)["nonce"])).ok


# -- nonce counts ----------------------------------------------------------------------


def test_replayed_nonce_count_fails(auth: DigestAuthenticator) -> None:
    nonce = _challenge(auth)["nonce"]
    header = client_header(nonce)
    assert _verify(auth, header).ok
    assert _verify(auth, header) == VerifyResult(Outcome.FAILED, reason=Reason.REPLAY)


def test_nonce_count_must_increase(auth: DigestAuthenticator) -> None:
    nonce = _challenge(auth)["nonce"]
    assert _verify(auth, client_header(nonce, nc="00000005")).ok
    assert _verify(auth, client_header(nonce, nc="00000003")).reason is Reason.REPLAY
    # Same number, other spelling: compared as numbers, not strings.
    assert _verify(auth, client_header(nonce, nc="5")).reason is Reason.REPLAY
    assert _verify(auth, client_header(nonce, nc="0000000a")).ok
    assert _verify(auth, client_header(nonce, nc="0000000B")).ok


def test_nonce_count_zero_is_never_valid(auth: DigestAuthenticator) -> None:
    nonce = _challenge(auth)["nonce"]
    assert _verify(auth, client_header(nonce, nc="00000000")).reason is Reason.QOP


def test_nonce_counts_are_per_nonce(auth: DigestAuthenticator) -> None:
    first, second = _challenge(auth)["nonce"], _challenge(auth)["nonce"]
    assert _verify(auth, client_header(first)).ok
    assert _verify(auth, client_header(second)).ok


def test_tracking_is_bounded_and_eviction_never_allows_a_replay(clock: FakeClock) -> None:
    auth = DigestAuthenticator(KEY, REALM, max_tracked_nonces=3, clock=clock)
    nonces = []
    for _ in range(5):
        nonces.append(_challenge(auth)["nonce"])
        clock.now += 1
    for nonce in nonces:
        assert _verify(auth, client_header(nonce)).ok
        assert auth.tracked_nonces <= 3
    for evicted in nonces[:2]:
        assert _verify(auth, client_header(evicted)).reason is Reason.FORGOTTEN
        assert _verify(auth, client_header(evicted, nc="00000002")).outcome is Outcome.STALE
    for kept in nonces[2:]:
        assert _verify(auth, client_header(kept)).reason is Reason.REPLAY
        assert _verify(auth, client_header(kept, nc="00000002")).ok
    # Nonces issued after the eviction are unaffected by it.
    assert _verify(auth, client_header(_challenge(auth)["nonce"])).ok


def test_expired_nonce_counts_are_dropped(auth: DigestAuthenticator, clock: FakeClock) -> None:
    for _ in range(50):
        assert _verify(auth, client_header(_challenge(auth)["nonce"])).ok
    assert auth.tracked_nonces == 50
    clock.now += 301
    assert _verify(auth, client_header(_challenge(auth)["nonce"])).ok
    assert auth.tracked_nonces == 1


def test_concurrent_first_uses_accept_exactly_one(auth: DigestAuthenticator) -> None:
    nonce = _challenge(auth)["nonce"]
    header = client_header(nonce)
    results: list[VerifyResult] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        results.append(_verify(auth, header))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.ok for r in results) == 1


# -- parsing ---------------------------------------------------------------------------

RFC_HEADER = (
    'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", '
    'algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, '
    'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, '
    'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)


def test_parses_the_rfc_example() -> None:
    assert parse_authorization(RFC_HEADER) == DigestCredentials(
        username="Mufasa",
        realm="http-auth@example.org",
        nonce=RFC_NONCE,
        uri="/dir/index.html",
        response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        algorithm="SHA-256",
        qop="auth",
        nc="00000001",
        cnonce=RFC_CNONCE,
        opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
        userhash=False,
    )


def _minimal(**overrides: str) -> str:
    params = {"username": '"u"', "realm": '"r"', "nonce": '"n"', "uri": '"/"', "response": '"x"'}
    params.update(overrides)
    return "Digest " + ", ".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.parametrize(
    ("header", "field", "expected"),
    [
        (_minimal(username=r'"a\"b"'), "username", 'a"b'),
        (_minimal(username=r'"a\\b"'), "username", "a\\b"),
        (_minimal(username=r'"\a\b"'), "username", "ab"),
        (_minimal(uri='"/a,b=c, d"'), "uri", "/a,b=c, d"),
        (_minimal(uri="/bare?x=1&y=2"), "uri", "/bare?x=1&y=2"),
        (_minimal(username='""'), "username", ""),
        (_minimal(username='"with\ttab"'), "username", "with\ttab"),
        (_minimal(qop='"AUTH"'), "qop", "auth"),
        (_minimal(algorithm='"sha-256"'), "algorithm", "SHA-256"),
        (_minimal(), "algorithm", "MD5"),
        (_minimal(), "qop", None),
        (_minimal(userhash="FALSE"), "userhash", False),
        (_minimal(userhash='"true"'), "userhash", True),
        (_minimal(extra='"ignored"', auth_param="tok"), "username", "u"),
        ('dIgEsT  USERNAME="u",REALM="r" ,Nonce = "n",\turi="/", response="x"', "username", "u"),
        ('  Digest username="u", realm="r", nonce="n", uri="/", response="x",', "realm", "r"),
        ('Digest username="u",, ,realm="r", nonce="n", uri="/", response="x"', "nonce", "n"),
        ("Digest\tusername=u, realm=r, nonce=n, uri=/, response=x", "uri", "/"),
        (
            "Digest username*=UTF-8'en'%E2%82%AC, realm=r, nonce=n, uri=/, response=x",
            "username",
            "€",
        ),
        (_minimal(username='"Jäsøn"'), "username", "Jäsøn"),
        (_minimal(username="'single'"), "username", "'single'"),
        (_minimal(nonce="abc=="), "nonce", "abc=="),
    ],
)
def test_parser_accepts_variations(header: str, field: str, expected: object) -> None:
    creds = parse_authorization(header)
    assert creds is not None
    assert getattr(creds, field) == expected


GARBAGE = [
    "",
    " ",
    "Digest",
    "Digest ",
    "Digest  ",
    "Basic dXNlcjpwYXNz",
    "Digestusername=u",
    "Bearer x, Digest username=u",
    _minimal()[len("Digest ") :],
    _minimal(username='"unterminated'),
    _minimal(username='"trailing backslash\\'),
    _minimal(username='"a"b'),
    _minimal(username='"a" "b"'),
    _minimal(username="a b"),
    _minimal(username=""),
    _minimal(username="a\\b"),
    _minimal(username='"ctl\x00"'),
    _minimal(username='"ctl\x7f"'),
    _minimal(username='"lf\nx"'),
    _minimal(username='"surrogate\udcff"'),
    _minimal(userhash="maybe"),
    _minimal(**{"username*": "UTF-8''x"}),
    "Digest realm=r, nonce=n, uri=/, response=x",
    "Digest username*=latin-1''x, realm=r, nonce=n, uri=/, response=x",
    "Digest username*=UTF-8''%FF, realm=r, nonce=n, uri=/, response=x",
    "Digest username*=UTF-8''%0A, realm=r, nonce=n, uri=/, response=x",
    "Digest username*=x, realm=r, nonce=n, uri=/, response=x",
    'Digest username="u", realm="r", nonce="n", uri="/"',
    'Digest username="u", username="v", realm="r", nonce="n", uri="/", response="x"',
    'Digest username="u", USERNAME="v", realm="r", nonce="n", uri="/", response="x"',
    'Digest username="u" realm="r" nonce="n" uri="/" response="x"',
    'Digest username="u", =x, realm="r", nonce="n", uri="/", response="x"',
    'Digest username="u", realm, nonce="n", uri="/", response="x"',
    'Digest username="u", realm="r", nonce="n", uri="/", response="x", "junk"',
    'Digest username=\u00e9\u00e9, realm="r", nonce="n", uri="/", response="x"',
    'Digest us(er="u", realm="r", nonce="n", uri="/", response="x"',
    "Digest " + "a" * 5000,
    _minimal(username='"' + "a" * 4100 + '"'),
    "Digest " + "," * 10000,
    "Digest " + '"' * 3000,
    "Digest " + "\\" * 3000,
    "\x00" * 100,
    "Digest \udc80",
]


@pytest.mark.parametrize("header", GARBAGE)
def test_parser_rejects_garbage(header: str) -> None:
    assert parse_authorization(header) is None


def test_header_size_is_bounded() -> None:
    fits = _minimal(username='"' + "a" * (4096 - len(_minimal(username='""'))) + '"')
    assert len(fits) == 4096
    assert parse_authorization(fits) is not None
    assert parse_authorization(fits + " ") is None


_FUZZ_ALPHABET = [
    '"',
    "\\",
    ",",
    "=",
    " ",
    "\t",
    "a",
    "Z",
    "0",
    "/",
    "'",
    "%",
    "*",
    "é",
    "\x00",
    "\n",
    "\x7f",
    "\udc80",
    "€",
    "digest",
    "username",
    "nc",
    "qop",
    '="',
    '",',
]


def test_parser_and_verifier_never_raise_on_random_input(auth: DigestAuthenticator) -> None:
    rng = random.Random(7616)
    nonce = _challenge(auth)["nonce"]
    template = client_header(nonce)
    fields = list(_params(template[7:]).items())
    for _ in range(3000):
        noise = "".join(rng.choice(_FUZZ_ALPHABET) for _ in range(rng.randint(0, 40)))
        kind = rng.randrange(3)
        if kind == 0:
            header = "Digest " + noise
        elif kind == 1:
            _, value = rng.choice(fields)
            header = template.replace(value, noise, 1)
        else:
            cut = rng.randrange(len(template))
            header = template[:cut] + noise + template[cut:]
        creds = parse_authorization(header)
        if creds is not None:
            result = auth.verify(creds, method="GET", request_uri=creds.uri, password="Secret-1")
            assert isinstance(result, VerifyResult)


def test_verifier_tolerates_hand_built_credentials(auth: DigestAuthenticator) -> None:
    nonce = _challenge(auth)["nonce"]
    creds = parse_authorization(client_header(nonce))
    assert creds is not None
    for odd in [
        replace(creds, response="é" * 64),
        replace(creds, response=""),
        replace(creds, nc=""),
        replace(creds, algorithm="ÉÉ"),
        replace(creds, nonce="=" * 48),
    ]:
        assert auth.verify(odd, method="GET", request_uri=odd.uri, password="p").outcome is (
            Outcome.FAILED
        )


# -- interoperability with real clients ------------------------------------------------

USERS = {"alice": "Secret-1", "bob": "Other-2"}


@dataclass
class _Server:
    auth: DigestAuthenticator
    clock: FakeClock
    url: str
    seen: list[tuple[str, DigestCredentials | None, VerifyResult | None]] = field(
        default_factory=list
    )
    expire_next_challenge: bool = False


def _handler(state: _Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            header = self.headers.get("Authorization")
            creds = parse_authorization(header) if header else None
            result = None
            if creds is not None:
                result = state.auth.verify(
                    creds,
                    method=self.command,
                    request_uri=self.path,
                    password=USERS.get(creds.username),
                )
            state.seen.append((self.path, creds, result))
            if result is not None and result.ok:
                body = f"hello {result.username}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            stale = result is not None and result.outcome is Outcome.STALE
            self.send_response(401)
            for value in state.auth.challenge_headers(stale=stale):
                self.send_header("WWW-Authenticate", value)
            self.send_header("Content-Length", "0")
            self.end_headers()
            if state.expire_next_challenge:
                state.expire_next_challenge = False
                state.clock.now += 301

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def make_server() -> Iterator[Callable[..., _Server]]:
    servers: list[tuple[HTTPServer, threading.Thread]] = []

    def start(algorithms: tuple[Algorithm, ...] = (Algorithm.SHA256, Algorithm.MD5)) -> _Server:
        clock = FakeClock()
        auth = DigestAuthenticator(KEY, REALM, algorithms=algorithms, clock=clock)
        state = _Server(auth=auth, clock=clock, url="")
        httpd = HTTPServer(("127.0.0.1", 0), _handler(state))
        state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        # Polled every 10 ms rather than 0.5 s: shutdown() waits for the next poll.
        thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
        thread.start()
        servers.append((httpd, thread))
        return state

    yield start
    for httpd, thread in servers:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CURL, "--silent", "--show-error", "--digest", "--write-out", " %{http_code}", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_curl_authenticates_with_sha256(make_server: Callable[..., _Server]) -> None:
    server = make_server()
    out = _curl("-u", "alice:Secret-1", f"{server.url}/cfg/001565aabbcc.cfg?x=1")
    assert out.stdout == "hello alice 200", out.stderr
    creds = server.seen[-1][1]
    assert creds is not None
    assert creds.algorithm == "SHA-256"
    assert creds.uri == "/cfg/001565aabbcc.cfg?x=1"


def test_curl_authenticates_with_md5(make_server: Callable[..., _Server]) -> None:
    server = make_server(algorithms=(Algorithm.MD5,))
    out = _curl("-u", "bob:Other-2", f"{server.url}/a")
    assert out.stdout == "hello bob 200", out.stderr


def test_curl_retries_transparently_on_stale(make_server: Callable[..., _Server]) -> None:
    server = make_server()
    server.expire_next_challenge = True
    out = _curl("-u", "alice:Secret-1", f"{server.url}/one")
    assert out.stdout == "hello alice 200", out.stderr
    outcomes = [r.outcome for _, _, r in server.seen if r is not None]
    assert outcomes == [Outcome.STALE, Outcome.OK]


@pytest.mark.parametrize("userpass", ["alice:wrong", "mallory:Secret-1"])
def test_curl_with_bad_credentials_gets_401(
    make_server: Callable[..., _Server], userpass: str
) -> None:
    server = make_server()
    out = _curl("-u", userpass, f"{server.url}/a")
    assert out.stdout.endswith(" 401")
    results = [r for _, _, r in server.seen if r is not None]
    assert results == [VerifyResult(Outcome.FAILED, reason=Reason.CREDENTIALS)]


def _urlopen(server: _Server, user: str, password: str, path: str) -> str:
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    passwords.add_password(None, server.url, user, password)
    opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(passwords))
    with opener.open(f"{server.url}{path}", timeout=10) as response:
        body: bytes = response.read()
    return body.decode()


# urllib's digest handler drops the socket of the 401 it answers without closing
# it; collect it here so the ResourceWarning lands in this test, not a later one.
_urllib_leaks_a_socket = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning"
)


@_urllib_leaks_a_socket
def test_urllib_authenticates(make_server: Callable[..., _Server]) -> None:
    # urllib reads only the first WWW-Authenticate header and knows MD5 but not SHA-256,
    # like many embedded clients: the reason the offered algorithms can be reordered.
    server = make_server(algorithms=(Algorithm.MD5, Algorithm.SHA256))
    assert _urlopen(server, "alice", "Secret-1", "/cfg/x.cfg?a=b") == "hello alice"
    gc.collect()


@_urllib_leaks_a_socket
def test_urllib_with_wrong_password_gets_401(make_server: Callable[..., _Server]) -> None:
    server = make_server(algorithms=(Algorithm.MD5,))
    with pytest.raises(urllib.error.HTTPError) as raised:
        _urlopen(server, "alice", "wrong", "/a")
    assert raised.value.code == 401
    raised.value.close()
    gc.collect()
