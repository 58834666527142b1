"""TLS session-ticket keys shared by every worker and node.

A phone that reconnects (Yealink and Snom keep their TLS session) resumes it with a
ticket: the session's state, encrypted with a key the server chose. OpenSSL picks a
random key per process, so under ``serve --workers`` or several nodes a ticket opened
only on the worker that issued it and every other reconnection paid a full handshake
(the RSA signature is most of a phone's TLS cost). Here each process derives the same
key from one platform secret and the current rotation window, as nginx's workers share
theirs.

Python's ``ssl`` has no call for ticket keys, so they are set on the context's
``SSL_CTX`` through ctypes (OpenSSL's ``SSL_CTX_set_tlsext_ticket_keys``), after checking
that the library and the pointer are the ones ``ssl`` itself uses; where that check
fails, OpenSSL's own per-process keys stay and only cross-process resumption is lost.

One key at a time: a ticket issued before a rotation is not accepted after it (that
phone makes one full handshake). Rotating bounds how long a leaked key can decrypt
recorded sessions, as forward secrecy for resumed sessions requires.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import hmac
import logging
import ssl
import sys
from pathlib import Path

log = logging.getLogger(__name__)

KEY_BYTES = 80
"""What OpenSSL 1.1 and 3 take: a 16-byte key name, a 32-byte HMAC key, a 32-byte AES key."""
ROTATE_S = 12 * 3600
_SSL_CTRL_GET_TLSEXT_TICKET_KEYS = 58
_SSL_CTRL_SET_TLSEXT_TICKET_KEYS = 59


def window_at(now: float) -> int:
    """The rotation window a wall-clock time falls in; every process agrees on it."""
    return int(now // ROTATE_S)


def keys_for(secret: bytes, window: int) -> bytes:
    """The ticket keys of one window: HMAC-SHA256 of the secret as an expander."""
    blocks = [
        hmac.new(secret, f"provd tls tickets {window} {i}".encode(), hashlib.sha256).digest()
        for i in range(3)
    ]
    return b"".join(blocks)[:KEY_BYTES]


class _LibSsl:
    """The libssl that Python's ``ssl`` module runs on, or None where it cannot be
    found for certain."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        lib.SSL_CTX_ctrl.restype = ctypes.c_long
        lib.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
        lib.SSL_CTX_get_options.restype = ctypes.c_uint64
        lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
        self._lib = lib

    @classmethod
    def find(cls) -> _LibSsl | None:
        path = _loaded_libssl()
        if path is None:
            return None
        try:
            lib = ctypes.CDLL(path)
            version = ctypes.CDLL(str(path).replace("libssl", "libcrypto")).OpenSSL_version_num
        except (OSError, AttributeError):
            return None
        version.restype = ctypes.c_ulong
        # Another OpenSSL than the one ``ssl`` was built with: its structures may differ.
        if version() != ssl.OPENSSL_VERSION_NUMBER:
            return None
        return cls(lib)

    def ctx_pointer(self, context: ssl.SSLContext) -> int | None:
        """The ``SSL_CTX *`` of a context: CPython keeps it as the object's first field,
        after the object header; checked by reading the options back through it."""
        offset = ctypes.sizeof(ctypes.c_ssize_t) + ctypes.sizeof(ctypes.c_void_p)
        pointer = ctypes.c_void_p.from_address(id(context) + offset).value
        if not pointer or self._lib.SSL_CTX_get_options(pointer) != context.options:
            return None
        return pointer

    def set_keys(self, pointer: int, keys: bytes) -> bool:
        given = ctypes.create_string_buffer(keys, KEY_BYTES)
        if self._lib.SSL_CTX_ctrl(pointer, _SSL_CTRL_SET_TLSEXT_TICKET_KEYS, KEY_BYTES, given) != 1:
            return False
        back = ctypes.create_string_buffer(KEY_BYTES)
        self._lib.SSL_CTX_ctrl(pointer, _SSL_CTRL_GET_TLSEXT_TICKET_KEYS, KEY_BYTES, back)
        return back.raw == keys


def _loaded_libssl() -> str | None:
    """The one libssl mapped into this process (``ssl`` loaded it), from /proc."""
    import _ssl  # noqa: F401  (maps libssl if nothing did yet)

    maps = Path("/proc/self/maps")
    if not sys.platform.startswith("linux") or not maps.exists():
        return None
    found = {
        line.split()[-1]
        for line in maps.read_text().splitlines()
        if "/libssl" in line and line.split()[-1].startswith("/")
    }
    return found.pop() if len(found) == 1 else None


_lib: _LibSsl | None = None
_looked = False


def install(context: ssl.SSLContext, keys: bytes) -> bool:
    """Make ``context`` issue and accept tickets under ``keys``; False (and OpenSSL's
    own keys kept) where this Python's ssl cannot be reached safely."""
    global _lib, _looked
    if len(keys) != KEY_BYTES:
        raise ValueError(f"ticket keys are {KEY_BYTES} bytes, not {len(keys)}")
    if not _looked:
        _lib, _looked = _LibSsl.find(), True
        if _lib is None:
            log.info("TLS tickets stay per process: this Python's libssl was not found")
    if _lib is None:
        return False
    pointer = _lib.ctx_pointer(context)
    if pointer is None:
        log.info("TLS tickets stay per process: the SSL context's layout is not CPython's")
        return False
    return _lib.set_keys(pointer, keys)
