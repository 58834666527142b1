"""The backup file's encryption: a key derived from the passphrase, AES-256-GCM in chunks.

The file is a header, then records. The header holds the key derivation's cost and
salt, the nonce prefix and a check value derived with the key (so a wrong passphrase
is told apart from a damaged file). A record is a flag byte (1 on the last), the
ciphertext's length (4 bytes, big-endian) and the ciphertext of up to :data:`CHUNK`
bytes with its tag. Each chunk's nonce is the prefix, the chunk's number and the
last-flag (the STREAM construction) and the header is its associated data: a chunk
cannot be changed, dropped, reordered or moved to another file, nor the header
altered, without decryption failing; a file that ends before its last record is
truncated. Neither side ever holds more than a chunk.
"""

from __future__ import annotations

import hmac
import os
import struct
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from provd.domain.errors import InvalidInput

MAGIC = b"PROVDBAK"
VERSION = 1
CHUNK = 1024**2
_SALT = 16
_PREFIX = 7
_CHECK = 16
_TAG = 16
_HEADER = struct.Struct(f">8sBBBB{_SALT}s{_PREFIX}s{_CHECK}s")
_RECORD = struct.Struct(">BI")
_LAST_CHUNK = 2**32 - 1


@dataclass(frozen=True, slots=True)
class Cost:
    """scrypt's parameters: 2**log2_n iterations over 128 * r * 2**log2_n bytes."""

    log2_n: int
    r: int
    p: int

    def check(self) -> None:
        """Bounds for a cost read from a file: a crafted header must not ask for
        gigabytes of memory or hours of work before the passphrase is even checked."""
        if not (10 <= self.log2_n <= 20 and 1 <= self.r <= 16 and 1 <= self.p <= 4):
            raise InvalidInput("file", "the backup's key derivation parameters are out of range")
        if 128 * self.r * 2**self.log2_n > 1024**3:
            raise InvalidInput("file", "the backup's key derivation asks for over 1 GiB")


WRITE_COST = Cost(log2_n=17, r=8, p=1)
"""128 MiB and about half a second: the interactive cost scrypt's author and OWASP name."""


def _derive(passphrase: str, salt: bytes, cost: Cost) -> tuple[bytes, bytes]:
    # One passphrase typed on two systems may arrive composed or decomposed.
    secret = unicodedata.normalize("NFC", passphrase).encode()
    kdf = Scrypt(salt=salt, length=32 + _CHECK, n=2**cost.log2_n, r=cost.r, p=cost.p)
    derived = kdf.derive(secret)
    return derived[:32], derived[32:]


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    return prefix + number.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class EnvelopeWriter:
    """Encrypts what is written to it into ``out``; :meth:`finish` writes the last record."""

    def __init__(self, out: BinaryIO, passphrase: str, cost: Cost | None = None) -> None:
        cost = cost or WRITE_COST
        salt, prefix = os.urandom(_SALT), os.urandom(_PREFIX)
        key, check = _derive(passphrase, salt, cost)
        self._header = _HEADER.pack(
            MAGIC, VERSION, cost.log2_n, cost.r, cost.p, salt, prefix, check
        )
        self._out = out
        self._aead = AESGCM(key)
        self._prefix = prefix
        self._number = 0
        self._buffer = bytearray()
        out.write(self._header)

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) >= CHUNK:
            self._emit(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def finish(self) -> None:
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _emit(self, plain: bytes, *, last: bool) -> None:
        if self._number > _LAST_CHUNK:
            raise InvalidInput("file", "the backup is too large for its format")
        nonce = _nonce(self._prefix, self._number, last)
        sealed = self._aead.encrypt(nonce, plain, self._header)
        self._out.write(_RECORD.pack(1 if last else 0, len(sealed)) + sealed)
        self._number += 1


def _truncated() -> InvalidInput:
    return InvalidInput("file", "the backup is truncated: it ends before its last chunk")


class EnvelopeReader:
    """Decrypts ``src`` as it is read; refuses a wrong passphrase before any chunk.

    Every chunk is authenticated before its bytes are handed out, so a reader never
    acts on bytes that were not written by the holder of the passphrase.
    """

    def __init__(self, src: BinaryIO, passphrase: str) -> None:
        header = src.read(_HEADER.size)
        if len(header) < _HEADER.size or not header.startswith(MAGIC):
            raise InvalidInput("file", "is not a provd backup")
        _, version, log2_n, r, p, salt, prefix, check = _HEADER.unpack(header)
        if version != VERSION:
            raise InvalidInput(
                "file", f"the backup's encryption is version {version}; this provd reads {VERSION}"
            )
        cost = Cost(log2_n, r, p)
        cost.check()
        key, expected = _derive(passphrase, salt, cost)
        if not hmac.compare_digest(check, expected):
            raise InvalidInput("passphrase", "does not open this backup: it is not the one used")
        self._src = src
        self._header = header
        self._aead = AESGCM(key)
        self._prefix = prefix
        self._number = 0
        self._plain = bytearray()
        self._done = False

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._plain) < size):
            self._next_chunk()
        size = len(self._plain) if size < 0 else min(size, len(self._plain))
        out = bytes(self._plain[:size])
        del self._plain[:size]
        return out

    def finish(self) -> None:
        """Read to the last chunk: a stream is whole only once its last chunk checked out."""
        while not self._done:
            self._next_chunk()
            self._plain.clear()

    def _next_chunk(self) -> None:
        head = self._src.read(_RECORD.size)
        if len(head) < _RECORD.size:
            raise _truncated()
        flag, length = _RECORD.unpack(head)
        if flag not in (0, 1) or not _TAG <= length <= CHUNK + _TAG:
            raise self._corrupt()
        sealed = self._src.read(length)
        if len(sealed) < length:
            raise _truncated()
        last = flag == 1
        try:
            plain = self._aead.decrypt(
                _nonce(self._prefix, self._number, last), sealed, self._header
            )
        except InvalidTag:
            raise self._corrupt() from None
        self._number += 1
        self._plain += plain
        if last:
            self._done = True
            if self._src.read(1):
                raise InvalidInput("file", "the backup is corrupt: it goes on after its last chunk")

    def _corrupt(self) -> InvalidInput:
        return InvalidInput(
            "file", f"the backup is corrupt: chunk {self._number + 1} fails its integrity check"
        )
