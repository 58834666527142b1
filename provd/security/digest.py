"""Server side of HTTP Digest authentication (RFC 7616), free of any web framework.

Phones fetch their configuration with Digest because it keeps the password off the
wire even over plain HTTP. The web layer turns a request into
:func:`parse_authorization` + :meth:`DigestAuthenticator.verify` and a
:class:`VerifyResult` back into a response.

Nonces carry their own issue time and an HMAC, so checking one needs no storage and
survives any number of challenges during a boot storm. The only state is the highest
nonce-count seen per nonce (replay protection), in a bounded map.

Several processes serving one realm share the key, and a :class:`NonceClaims` store:
a nonce's first use with valid credentials claims it for the process that saw it,
which alone counts its nc from then on. Any other process answers a claimed nonce as
stale, so a replay to another worker or node is refused while a phone that moved
costs one round trip, never a failed login.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from urllib.parse import unquote

MAX_HEADER_LENGTH = 4096


class Algorithm(StrEnum):
    SHA256 = "SHA-256"
    MD5 = "MD5"


class Outcome(StrEnum):
    OK = "ok"
    STALE = "stale"
    """The client knows the password but its nonce is no longer usable: challenge
    again with ``stale=true`` so it retries without asking its user."""
    FAILED = "failed"


class Reason(StrEnum):
    """Why a request did not authenticate, for logs only: never tell the client."""

    REALM = "realm mismatch"
    QOP = "qop is not auth, or nc or cnonce is missing or malformed"
    ALGORITHM = "unsupported algorithm"
    USERHASH = "userhash is not supported"
    URI = "uri does not match the request"
    OPAQUE = "opaque mismatch"
    NONCE = "nonce not issued with this server's key"
    CREDENTIALS = "wrong username or password"
    EXPIRED = "nonce expired"
    FORGOTTEN = "nonce count history no longer held"
    REPLAY = "nonce count did not increase"
    CLAIMED = "nonce first used in another process"


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str
    """Upper-cased; ``MD5`` when the client sent none (RFC 7616 §3.4)."""
    qop: str | None
    nc: str | None
    cnonce: str | None
    opaque: str | None
    userhash: bool


@dataclass(frozen=True, slots=True)
class VerifyResult:
    outcome: Outcome
    username: str | None = None
    """Set only when the outcome is OK."""
    reason: Reason | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


_HASHES: dict[str, Callable[[bytes], hashlib._Hash]] = {
    Algorithm.MD5: hashlib.md5,
    Algorithm.SHA256: hashlib.sha256,
}


def _h(algorithm: str, data: str) -> str:
    return _HASHES[algorithm](data.encode("utf-8")).hexdigest()


def ha1(algorithm: str, username: str, realm: str, password: str) -> str:
    """H(username:realm:password) in lower-case hex, as RFC 7616 §3.4.2 defines it."""
    return _h(algorithm, f"{username}:{realm}:{password}")


def _response(algorithm: str, ha1_hex: str, creds: DigestCredentials, method: str) -> str:
    ha2 = _h(algorithm, f"{method}:{creds.uri}")
    return _h(algorithm, f"{ha1_hex}:{creds.nonce}:{creds.nc}:{creds.cnonce}:{creds.qop}:{ha2}")


# -- nonces ----------------------------------------------------------------------------

_TS_BYTES = 8
_RANDOM_BYTES = 12
_MAC_BYTES = 16
# 36 bytes is a multiple of 3, so the base64 form has no padding to get wrong.
_NONCE_BYTES = _TS_BYTES + _RANDOM_BYTES + _MAC_BYTES
_NONCE_RE = re.compile(rf"[A-Za-z0-9_-]{{{_NONCE_BYTES * 4 // 3}}}")
NONCE_LIFETIME = 300.0
"""Seconds a nonce is accepted after it was issued (by default)."""
# A nonce issued "in the future" means the wall clock stepped back (NTP); a few
# seconds of that is normal and must not make every phone re-authenticate.
_FUTURE_SKEW_MS = 5000


class NonceClaims(Protocol):
    """Where the processes serving one realm record which of them used a nonce first."""

    async def claim(self, nonce: str, issued_ms: int) -> bool:
        """Record the first use of ``nonce``; True only when this call recorded it (no
        process had used it), False when one had, this one included."""
        ...


@dataclass(slots=True)
class _NcEntry:
    highest: int
    issued_ms: int
    claim: asyncio.Future[bool] | None = None
    """With claims: whether this process holds the nonce (pending while it asks)."""


class DigestAuthenticator:
    """Issues challenges and verifies Digest responses for one realm.

    Every process serving the realm needs the same ``key``: a nonce made with another
    key is answered as stale, so a client sent to alternating processes would be
    re-challenged on every request. A new key at restart costs each client one stale
    round trip. The clock is wall time (not monotonic) because a nonce's timestamp
    must mean the same thing in every process and after a restart.

    With ``claims``, use :meth:`verify_async`: replay protection then holds across
    every process sharing the claims, and a nonce issued before this process started
    is accepted if no process has used it yet.
    """

    def __init__(
        self,
        key: bytes,
        realm: str,
        *,
        nonce_lifetime: float = NONCE_LIFETIME,
        max_tracked_nonces: int = 65536,
        algorithms: Sequence[Algorithm] = (Algorithm.SHA256, Algorithm.MD5),
        clock: Callable[[], float] = time.time,
        claims: NonceClaims | None = None,
    ) -> None:
        if len(key) < 16:
            raise ValueError("the digest key must be at least 16 bytes")
        if not realm or any(c in realm for c in '"\\') or not realm.isprintable():
            raise ValueError("the realm must be printable and contain no quote or backslash")
        if not algorithms:
            raise ValueError("at least one algorithm must be offered")
        self.realm = realm
        self.algorithms = tuple(Algorithm(a) for a in algorithms)
        self._key = key
        self._lifetime_ms = int(nonce_lifetime * 1000)
        self._max_tracked = max_tracked_nonces
        self._clock = clock
        self._opaque = base64.urlsafe_b64encode(
            hmac.digest(key, b"opaque\0" + realm.encode(), "sha256")[:18]
        ).decode()
        # Nonce counts seen since this process started, keyed by nonce, oldest first.
        self._seen: OrderedDict[str, _NcEntry] = OrderedDict()
        # Every nonce issued at or before this instant may have a use we no longer
        # remember (before a restart, or evicted from _seen); one of those that we do
        # not find in _seen is answered STALE, so a replay cannot pass as a first use.
        self._forgotten_before_ms = self._now_ms()
        self._dummy_password = secrets.token_urlsafe(16)
        self._lock = threading.Lock()
        self._claims = claims

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # -- challenges --------------------------------------------------------------------

    def new_nonce(self) -> str:
        ts = max(self._now_ms(), self._forgotten_before_ms + 1)
        body = ts.to_bytes(_TS_BYTES, "big") + secrets.token_bytes(_RANDOM_BYTES)
        mac = hmac.digest(self._key, body, "sha256")[:_MAC_BYTES]
        return base64.urlsafe_b64encode(body + mac).decode()

    def challenge_headers(self, stale: bool = False) -> list[str]:
        """Values for one ``WWW-Authenticate`` header each, in order of preference."""
        nonce = self.new_nonce()
        tail = ", stale=true" if stale else ""
        return [
            f'Digest realm="{self.realm}", qop="auth", algorithm={algorithm}, '
            f'nonce="{nonce}", opaque="{self._opaque}"{tail}'
            for algorithm in self.algorithms
        ]

    def _nonce_issued_ms(self, nonce: str) -> int | None:
        """The nonce's issue time if this server made it, else None."""
        if not _NONCE_RE.fullmatch(nonce):
            return None
        try:
            raw = base64.urlsafe_b64decode(nonce)
        except (binascii.Error, ValueError):
            return None
        body, mac = raw[: _TS_BYTES + _RANDOM_BYTES], raw[_TS_BYTES + _RANDOM_BYTES :]
        expected = hmac.digest(self._key, body, "sha256")[:_MAC_BYTES]
        if not hmac.compare_digest(mac, expected):
            return None
        return int.from_bytes(body[:_TS_BYTES], "big")

    # -- verification ------------------------------------------------------------------

    def verify(
        self,
        creds: DigestCredentials,
        *,
        method: str,
        request_uri: str,
        password: str | None,
    ) -> VerifyResult:
        """Check a parsed ``Authorization`` header against the request it came with.

        ``request_uri`` is the request target exactly as received (path and query,
        not percent-decoded), because that is the string the client hashed.
        ``password`` is None when the user is unknown; the answer and the work done are
        then the same as for a wrong password.
        """
        if self._claims is not None:
            raise RuntimeError("an authenticator with nonce claims verifies with verify_async")
        checked = self._check(creds, method=method, request_uri=request_uri, password=password)
        if isinstance(checked, VerifyResult):
            return checked
        issued_ms, nc, now_ms = checked
        reason = self._advance_nc(creds.nonce, issued_ms, nc, now_ms)
        if reason is Reason.FORGOTTEN:
            return VerifyResult(Outcome.STALE, reason=reason)
        if reason is not None:
            return _failed(reason)
        return VerifyResult(Outcome.OK, username=creds.username)

    async def verify_async(
        self,
        creds: DigestCredentials,
        *,
        method: str,
        request_uri: str,
        password: str | None,
    ) -> VerifyResult:
        """:meth:`verify`, with replay protection shared through the claims.

        A nonce this process has not seen is claimed: the first claim anywhere makes it
        this process's to count; a nonce another process claimed first is stale here.
        Requests that reuse a nonce this process holds cost no claim.
        """
        claims = self._claims
        if claims is None:
            return self.verify(creds, method=method, request_uri=request_uri, password=password)
        checked = self._check(creds, method=method, request_uri=request_uri, password=password)
        if isinstance(checked, VerifyResult):
            return checked
        issued_ms, nc, now_ms = checked
        with self._lock:
            self._expire(now_ms)
            entry = self._seen.get(creds.nonce)
            if entry is None:
                entry = self._track(creds.nonce, nc, issued_ms)
                asked = asyncio.ensure_future(claims.claim(creds.nonce, issued_ms))
                asked.add_done_callback(lambda done: self._claim_done(creds.nonce, done))
                entry.claim = asked
            elif nc <= entry.highest:
                return _failed(Reason.REPLAY)
            else:
                entry.highest = nc
            claim = entry.claim
        assert claim is not None
        # Shielded: a client that hangs up does not cancel the claim, which other
        # requests with the same nonce may be waiting for.
        if not await asyncio.shield(claim):
            return VerifyResult(Outcome.STALE, reason=Reason.CLAIMED)
        return VerifyResult(Outcome.OK, username=creds.username)

    def _claim_done(self, nonce: str, claim: asyncio.Future[bool]) -> None:
        # A claim that failed (the database did not answer) leaves nothing behind: the
        # nonce's next use claims again, and a claim that did commit then says so.
        if claim.cancelled() or claim.exception() is not None:
            with self._lock:
                entry = self._seen.get(nonce)
                if entry is not None and entry.claim is claim:
                    del self._seen[nonce]

    def _check(
        self,
        creds: DigestCredentials,
        *,
        method: str,
        request_uri: str,
        password: str | None,
    ) -> VerifyResult | tuple[int, int, int]:
        """Everything but the nonce count: the refusal, or (issue time, nc, now)."""
        if creds.realm != self.realm:
            return _failed(Reason.REALM)
        if creds.qop != "auth" or creds.nc is None or creds.cnonce is None:
            return _failed(Reason.QOP)
        nc = _parse_nc(creds.nc)
        if nc is None:
            return _failed(Reason.QOP)
        if creds.algorithm not in _HASHES or creds.algorithm not in self.algorithms:
            return _failed(Reason.ALGORITHM)
        if creds.userhash:
            return _failed(Reason.USERHASH)
        if creds.uri != request_uri:
            return _failed(Reason.URI)
        if creds.opaque is not None and creds.opaque != self._opaque:
            return _failed(Reason.OPAQUE)
        known = password is not None
        secret = password if password is not None else self._dummy_password
        expected = _response(
            creds.algorithm,
            ha1(creds.algorithm, creds.username, self.realm, secret),
            creds,
            method,
        )
        matches = hmac.compare_digest(expected.encode(), creds.response.lower().encode())
        if not (matches and known):
            return _failed(Reason.CREDENTIALS)

        # A nonce this server did not make, answered with the right digest, comes from a
        # client that knows the password and holds a nonce from before a key change or
        # from another process. RFC 7616 §3.3 calls that stale, and so do we: the client
        # retries at once instead of counting as a failed login.
        issued_ms = self._nonce_issued_ms(creds.nonce)
        if issued_ms is None:
            return VerifyResult(Outcome.STALE, reason=Reason.NONCE)
        now_ms = self._now_ms()
        if not now_ms - self._lifetime_ms <= issued_ms <= now_ms + _FUTURE_SKEW_MS:
            return VerifyResult(Outcome.STALE, reason=Reason.EXPIRED)
        return issued_ms, nc, now_ms

    def _advance_nc(self, nonce: str, issued_ms: int, nc: int, now_ms: int) -> Reason | None:
        with self._lock:
            self._expire(now_ms)
            entry = self._seen.get(nonce)
            if entry is None:
                if issued_ms <= self._forgotten_before_ms:
                    return Reason.FORGOTTEN
                self._track(nonce, nc, issued_ms)
                return None
            if nc <= entry.highest:
                return Reason.REPLAY
            entry.highest = nc
            return None

    def _track(self, nonce: str, nc: int, issued_ms: int) -> _NcEntry:
        """A first use seen here; the caller holds the lock."""
        entry = self._seen[nonce] = _NcEntry(nc, issued_ms)
        while len(self._seen) > self._max_tracked:
            _, evicted = self._seen.popitem(last=False)
            # Without claims, a use of an evicted nonce could pass as a first one. With
            # them it cannot: its claim is already taken, so it is answered stale.
            self._forgotten_before_ms = max(self._forgotten_before_ms, evicted.issued_ms)
        return entry

    def _expire(self, now_ms: int) -> None:
        # _seen is ordered by first use, not by issue time, so this only trims the
        # front; anything expired further in is rejected by its timestamp anyway and
        # leaves through eviction.
        horizon = now_ms - self._lifetime_ms
        while self._seen:
            entry = next(iter(self._seen.values()))
            if entry.issued_ms >= horizon:
                break
            self._seen.popitem(last=False)

    @property
    def tracked_nonces(self) -> int:
        return len(self._seen)


def _failed(reason: Reason) -> VerifyResult:
    return VerifyResult(Outcome.FAILED, reason=reason)


_NC_RE = re.compile(r"[0-9a-fA-F]{1,8}")


def _parse_nc(text: str) -> int | None:
    if not _NC_RE.fullmatch(text):
        return None
    # Counting starts at 1; a 0 would slip past "greater than nothing seen yet".
    return int(text, 16) or None


# -- parsing ---------------------------------------------------------------------------

# RFC 7230 qdtext and quoted-pair: anything but control characters (HTAB allowed).
# Lone surrogates, which a surrogateescape header decode can produce, are refused
# too, so that hashing a parsed value can never fail to encode. Possessive
# quantifiers: each value has one reading, and backtracking into it on a malformed
# header would cost time exponential in its length.
_QDTEXT = r"[^\"\\\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]++"
_QUOTED_PAIR = r"\\[^\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]"
# Bare values are wider than a token, because some clients leave a URI or base64
# unquoted: any visible ASCII but the comma, quote and backslash.
_BARE = r"[!#-+\--\[\]-~]++"
_PARAM_RE = re.compile(
    rf"[ \t,]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*=[ \t]*"
    rf"(?:\"((?:{_QDTEXT}|{_QUOTED_PAIR})*+)\"|({_BARE}))"
    r"[ \t]*(?:,|\Z)"
)
_SEPARATORS_RE = re.compile(r"[ \t,]*")
_QUOTED_PAIR_RE = re.compile(r"\\(.)", re.DOTALL)
_REQUIRED = ("realm", "nonce", "uri", "response")
_SCHEME_RE = re.compile(r"[ \t]*digest[ \t]+(.*)", re.IGNORECASE | re.DOTALL)


def parse_authorization(header: str) -> DigestCredentials | None:
    """The Digest credentials in an ``Authorization`` value, or None if there are none.

    Lenient where clients differ harmlessly (quoted or bare values, case of names,
    spacing, empty list elements) and strict where ambiguity could be abused
    (duplicate parameters, control characters, oversized input).
    """
    if len(header) > MAX_HEADER_LENGTH:
        return None
    match = _SCHEME_RE.match(header)
    if match is None:
        return None
    params = _parse_params(match.group(1))
    if params is None or any(name not in params for name in _REQUIRED):
        return None

    if "username" in params:
        if "username*" in params:
            return None
        username: str | None = params["username"]
    elif "username*" in params:
        username = _decode_ext_value(params["username*"])
    else:
        return None
    if username is None:
        return None

    userhash = params.get("userhash", "false").lower()
    if userhash not in ("true", "false"):
        return None
    qop = params.get("qop")
    return DigestCredentials(
        username=username,
        realm=params["realm"],
        nonce=params["nonce"],
        uri=params["uri"],
        response=params["response"],
        algorithm=params.get("algorithm", Algorithm.MD5).upper(),
        qop=qop.lower() if qop is not None else None,
        nc=params.get("nc"),
        cnonce=params.get("cnonce"),
        opaque=params.get("opaque"),
        userhash=userhash == "true",
    )


def _parse_params(text: str) -> dict[str, str] | None:
    params: dict[str, str] = {}
    pos = 0
    while True:
        if _SEPARATORS_RE.fullmatch(text, pos):
            return params
        m = _PARAM_RE.match(text, pos)
        if m is None:
            return None
        name, quoted, bare = m.group(1, 2, 3)
        name = name.lower()
        if name in params:
            return None
        if quoted is None:
            params[name] = bare
        elif "\\" in quoted:
            params[name] = _QUOTED_PAIR_RE.sub(r"\1", quoted)
        else:
            params[name] = quoted
        pos = m.end()


def _decode_ext_value(value: str) -> str | None:
    """RFC 8187 ``UTF-8''percent%20encoded`` as used by ``username*``."""
    charset, sep, rest = value.partition("'")
    _language, sep2, encoded = rest.partition("'")
    if not (sep and sep2) or charset.lower() != "utf-8":
        return None
    try:
        decoded = unquote(encoded, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return None
    return decoded if decoded.isprintable() else None
