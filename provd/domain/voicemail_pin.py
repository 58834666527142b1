"""Voicemail PINs: what a user types on the keypad before their mailbox opens (``*1233``).

A PIN is 4 to 8 digits, not one digit repeated (``0000``) and not the user's own
extension, the first guesses anyone would try. It is stored only as a PBKDF2-SHA256
hash with its own salt and iteration count (:class:`PinHash`, one string in the
database and in the media application's mailboxes.json), so that neither the
database nor the media application's files give a PIN away. The PIN itself is never
logged or audited: an audit row says only that one was set or cleared.

A 4-digit PIN has 10,000 values, so the hash is a barrier against reading PINs off a
stolen file, not against an offline search; the media application's three attempts per
call are what stand against guessing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from provd.domain.errors import InvalidInput

FIELD = "voicemail_pin"
MIN_DIGITS = 4
MAX_DIGITS = 8
ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 100_000
"""About 40 ms per check here: unnoticed on a call, slow for a search of a file."""
SALT_BYTES = 16

_PIN = re.compile(r"[0-9]+")
_STORED = re.compile(r"pbkdf2_sha256\$([1-9][0-9]{0,8})\$([0-9a-f]{2,128})\$([0-9a-f]{64})")


@dataclass(frozen=True, slots=True)
class PinHash:
    iterations: int
    salt: str
    """Hex."""
    digest: str
    """Hex of PBKDF2-SHA256(PIN, salt, iterations)."""

    def stored(self) -> str:
        """``pbkdf2_sha256$<iterations>$<salt hex>$<digest hex>``: the database's form."""
        return f"{ALGORITHM}${self.iterations}${self.salt}${self.digest}"


def check_pin(pin: str, extension: str, *, field: str = FIELD) -> str:
    """The PIN if it may be one (spaces around removed); InvalidInput naming ``field``."""
    if not isinstance(pin, str):
        raise InvalidInput(field, "must be digits")
    cleaned = pin.strip()
    if not _PIN.fullmatch(cleaned) or not cleaned.isascii():
        raise InvalidInput(field, "must be digits only (0-9)")
    if not MIN_DIGITS <= len(cleaned) <= MAX_DIGITS:
        raise InvalidInput(field, f"must be {MIN_DIGITS} to {MAX_DIGITS} digits")
    if len(set(cleaned)) == 1:
        raise InvalidInput(field, "must not be one digit repeated")
    if cleaned == extension:
        raise InvalidInput(field, "must not be the user's own extension")
    return cleaned


def hash_pin(pin: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> PinHash:
    """A new hash of ``pin`` (a fresh random salt unless one is given)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return PinHash(iterations, salt.hex(), digest.hex())


def parse_stored(text: str) -> PinHash:
    """A stored hash read back; ValueError when it is not one this module wrote."""
    match = _STORED.fullmatch(text)
    if match is None:
        raise ValueError("not a stored voicemail PIN hash")
    iterations, salt, digest = match.groups()
    if len(salt) % 2:
        raise ValueError("the salt is not whole bytes of hex")
    return PinHash(int(iterations), salt, digest)


def verify(entered: str, pin_hash: PinHash) -> bool:
    """Whether ``entered`` is the PIN (compared in constant time)."""
    if not _PIN.fullmatch(entered) or len(entered) > MAX_DIGITS:
        return False  # nothing a keypad could give a PIN for costs a PBKDF2 run
    digest = hashlib.pbkdf2_hmac(
        "sha256", entered.encode(), bytes.fromhex(pin_hash.salt), pin_hash.iterations
    )
    return hmac.compare_digest(digest.hex(), pin_hash.digest)


LOCK_AFTER = 10
"""Wrong PINs for one mailbox, from any phone, before it stays shut for a while: three
tries a call would otherwise let a patient caller go through every 4-digit PIN."""
LOCK_WINDOW_S = 900.0
"""The failures counted are the last :data:`LOCK_WINDOW_S` seconds'; the mailbox opens
again when fewer than :data:`LOCK_AFTER` remain in it."""


class Lockout:
    """Wrong PINs per mailbox over a sliding window; times are the caller's clock
    (seconds, monotonic), so this stays pure."""

    def __init__(self, after: int = LOCK_AFTER, window_s: float = LOCK_WINDOW_S) -> None:
        self.after = after
        self.window_s = window_s
        self._failures: dict[str, list[float]] = {}

    def _recent(self, mailbox: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(mailbox, []) if now - t < self.window_s]
        if kept:
            self._failures[mailbox] = kept
        else:
            self._failures.pop(mailbox, None)
        return kept

    def locked(self, mailbox: str, now: float) -> bool:
        """Whether ``mailbox`` refuses every PIN now, the right one included."""
        return len(self._recent(mailbox, now)) >= self.after

    def failed(self, mailbox: str, now: float) -> None:
        self._failures.setdefault(mailbox, []).append(now)
        self._recent(mailbox, now)

    def succeeded(self, mailbox: str) -> None:
        self._failures.pop(mailbox, None)
