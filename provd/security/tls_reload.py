"""A new certificate for a running server (``serve`` on SIGHUP), without a restart.

``load_cert_chain`` on the context the listener already uses changes what handshakes
from then on present; a connection set up before keeps the certificate it was made
with, so nothing in flight is dropped. A failed load must leave the context as it
was: OpenSSL installs the certificate before it checks the key, so a certificate
whose key does not match would leave the context with no usable key at all. Hence the
files are read once, the bytes tried on a fresh context first, and the same bytes (not
the files again, which may change in between) then loaded into the live one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from provd.domain.errors import ProvdError
from provd.security.tls import CertificateError, TlsPaths, server_ssl_context

log = logging.getLogger("provd.tls")


@dataclass(frozen=True, slots=True)
class ServedCertificate:
    subject: str
    not_after: dt.datetime
    sha256: str
    """The leaf certificate's fingerprint, as hex."""


def load_into(context: ssl.SSLContext, paths: TlsPaths) -> ServedCertificate:
    """Make ``context`` present ``paths``' certificate from the next handshake on.

    Raises :class:`CertificateError` naming the file, with ``context`` unchanged."""
    chain_pem, key_pem = _read(paths.cert), _read(paths.key)
    try:
        leaf = x509.load_pem_x509_certificates(chain_pem)[0]
    except ValueError:
        raise CertificateError(f"{paths.cert} holds no PEM certificate") from None
    with _memory_file(chain_pem) as chain_file, _memory_file(key_pem) as key_file:
        try:
            server_ssl_context(TlsPaths(cert=chain_file, key=key_file, ca=None))
        except ssl.SSLError as e:
            raise CertificateError(
                f"{paths.cert}, {paths.key}: refused by OpenSSL: {e.reason or e}"
            ) from None
        context.load_cert_chain(chain_file, key_file)
    return ServedCertificate(
        subject=leaf.subject.rfc4514_string(),
        not_after=leaf.not_valid_after_utc,
        sha256=leaf.fingerprint(hashes.SHA256()).hex(),
    )


class CertificateReloader:
    """Reloads ``context`` from the files ``find_paths`` names (checking, and for provd's
    own certificate renewing, them as at start), one reload at a time."""

    def __init__(self, context: ssl.SSLContext, find_paths: Callable[[], TlsPaths]) -> None:
        self._context = context
        self._find_paths = find_paths
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[bool]] = set()

    def on_signal(self) -> None:
        """For ``loop.add_signal_handler``: start a reload, keep the task until done."""
        log.info("reloading the TLS certificate")
        task = asyncio.get_running_loop().create_task(self.reload())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def reload(self) -> bool:
        """True when the new certificate is served; on failure the old one still is."""
        async with self._lock:
            try:
                # A thread for the file checks and a renewal's key generation; the context
                # itself is only touched here, on the loop that hands it to handshakes.
                paths = await asyncio.to_thread(self._find_paths)
                served = load_into(self._context, paths)
            except ProvdError as e:
                log.error("TLS certificate not reloaded, still serving the previous one: %s", e)
                return False
            except Exception:
                log.exception("TLS certificate not reloaded, still serving the previous one")
                return False
        log.info(
            "TLS certificate reloaded from %s: %s, expires %s, sha256 %s",
            paths.cert,
            served.subject,
            f"{served.not_after:%Y-%m-%dT%H:%M:%SZ}",
            served.sha256,
            extra={
                "cert_file": str(paths.cert),
                "subject": served.subject,
                "not_after": served.not_after,
                "sha256": served.sha256,
            },
        )
        return True


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise CertificateError(f"cannot read {path}: {e.strerror}") from None


@contextmanager
def _memory_file(data: bytes) -> Iterator[Path]:
    """``data`` as a path OpenSSL can open, in memory: a private key is never copied to
    disk. Linux's memfd, reached through /proc like any open descriptor."""
    fd = os.memfd_create("provd-tls", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        yield Path(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)
