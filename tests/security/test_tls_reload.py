"""A new certificate loaded into a live server context (``serve`` on SIGHUP; the process
itself is tested in tests/test_serve_tls_reload.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from provd.domain.errors import InvalidInput
from provd.security.tls import (
    CA_CERT,
    SERVER_CERT,
    SERVER_KEY,
    CertificateError,
    TlsPaths,
    ensure_certificates,
    load_admin_certificates,
    server_ssl_context,
)
from provd.security.tls_reload import CertificateReloader, load_into

HOST = "admin.example.test"


def write_pair(directory: Path, common_name: str, *, days: int = 90) -> TlsPaths:
    """A self-signed EC certificate for ``HOST`` and its key, as an admin provides them."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    paths = TlsPaths(cert=directory / "cert.pem", key=directory / "key.pem", ca=None)
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def fingerprint(path: Path) -> str:
    return x509.load_pem_x509_certificates(path.read_bytes())[0].fingerprint(hashes.SHA256()).hex()


class EchoServer:
    """A TLS server on a thread per connection, echoing lines until the client closes."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._echo, args=(conn,))
            self._threads.append(thread)
            thread.start()

    def _echo(self, conn: socket.socket) -> None:
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                while data := tls.recv(1024):
                    tls.sendall(data)
        except (ssl.SSLError, OSError) as e:
            self.errors.append(e)
        finally:
            conn.close()

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for thread in self._threads:
            thread.join(timeout=10)


@contextmanager
def echo_server(context: ssl.SSLContext) -> Iterator[EchoServer]:
    server = EchoServer(context)
    acceptor = threading.Thread(target=server.serve)
    acceptor.start()
    try:
        yield server
    finally:
        server.close()
        acceptor.join(timeout=10)


@contextmanager
def connect(port: int) -> Iterator[ssl.SSLSocket]:
    client = ssl.create_default_context()
    # The certificate is compared by fingerprint; any presented one will do.
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        client.wrap_socket(raw, server_hostname=HOST) as tls,
    ):
        yield tls


def presented(tls: ssl.SSLSocket) -> str:
    der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


def echo(tls: ssl.SSLSocket, data: bytes) -> bytes:
    tls.sendall(data)
    return tls.recv(1024)


def test_new_handshakes_see_the_new_certificate_open_connections_keep_going(
    tmp_path: Path,
) -> None:
    old = write_pair(tmp_path / "old", "old.example.test")
    new = write_pair(tmp_path / "new", "new.example.test")
    context = server_ssl_context(old)
    with echo_server(context) as server, connect(server.port) as before:
        assert echo(before, b"one") == b"one"
        assert presented(before) == fingerprint(old.cert)

        served = load_into(context, new)

        assert served.sha256 == fingerprint(new.cert)
        assert served.subject == "CN=new.example.test"
        with connect(server.port) as after:
            assert presented(after) == fingerprint(new.cert)
            assert echo(after, b"two") == b"two"
        # The connection made before the reload still talks, with what it was made with.
        assert echo(before, b"three") == b"three"
        assert presented(before) == fingerprint(old.cert)
    assert server.errors == []


@pytest.mark.parametrize("damage", ["garbage certificate", "key of another certificate"])
def test_a_failed_load_leaves_the_context_serving_the_old_certificate(
    tmp_path: Path, damage: str
) -> None:
    old = write_pair(tmp_path / "old", "old.example.test")
    bad = write_pair(tmp_path / "bad", "bad.example.test")
    if damage == "garbage certificate":
        bad.cert.write_text(
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"
        )
        expected = f"{bad.cert}"
    else:
        shutil.copy(write_pair(tmp_path / "other", "other.example.test").key, bad.key)
        expected = f"{bad.cert}, {bad.key}: refused by OpenSSL"
    context = server_ssl_context(old)
    with pytest.raises(CertificateError) as e:
        load_into(context, bad)
    assert expected in str(e.value)
    with echo_server(context) as server, connect(server.port) as tls:
        assert presented(tls) == fingerprint(old.cert)
        assert echo(tls, b"still") == b"still"


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    old = write_pair(tmp_path / "old", "old.example.test")
    missing = TlsPaths(cert=tmp_path / "gone.pem", key=old.key, ca=None)
    with pytest.raises(CertificateError, match=f"cannot read {tmp_path / 'gone.pem'}"):
        load_into(server_ssl_context(old), missing)


async def test_reloader_logs_the_new_certificate(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = write_pair(tmp_path / "old", "old.example.test")
    context = server_ssl_context(old)
    write_pair(tmp_path / "old", "renewed.example.test", days=30)
    reloader = CertificateReloader(context, lambda: load_admin_certificates(old.cert, old.key))
    with caplog.at_level(logging.INFO, logger="provd.tls"):
        assert await reloader.reload()
    [record] = [r for r in caplog.records if r.levelno == logging.INFO]
    assert f"TLS certificate reloaded from {old.cert}: CN=renewed.example.test" in (
        record.getMessage()
    )
    assert record.__dict__["sha256"] == fingerprint(old.cert)
    assert record.__dict__["subject"] == "CN=renewed.example.test"
    with echo_server(context) as server, connect(server.port) as tls:
        assert presented(tls) == fingerprint(old.cert)


@pytest.mark.parametrize(
    "failure",
    [CertificateError("/etc/provd/cert.pem holds no PEM certificate"), InvalidInput("x", "y")],
)
async def test_reloader_logs_a_failure_and_keeps_the_old_certificate(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, failure: Exception
) -> None:
    old = write_pair(tmp_path / "old", "old.example.test")
    context = server_ssl_context(old)

    def refuse() -> TlsPaths:
        raise failure

    with caplog.at_level(logging.INFO, logger="provd.tls"):
        assert not await CertificateReloader(context, refuse).reload()
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == (
        f"TLS certificate not reloaded, still serving the previous one: {failure}"
    )
    with echo_server(context) as server, connect(server.port) as tls:
        assert presented(tls) == fingerprint(old.cert)


async def test_an_unexpected_error_is_logged_with_its_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = write_pair(tmp_path / "old", "old.example.test")

    def broken() -> TlsPaths:
        raise PermissionError(13, "Permission denied")

    reloader = CertificateReloader(server_ssl_context(old), broken)
    assert not await reloader.reload()
    [record] = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None


async def test_provd_own_certificate_is_renewed_on_reload(tmp_path: Path) -> None:
    # As serve finds them: missing server files are issued again by the same CA.
    paths = ensure_certificates(tmp_path, ["provd.example.test"], [])
    context = server_ssl_context(paths)
    before = fingerprint(paths.cert)
    (tmp_path / SERVER_CERT).unlink()
    (tmp_path / SERVER_KEY).unlink()
    reloader = CertificateReloader(
        context, lambda: ensure_certificates(tmp_path, ["provd.example.test"], [])
    )
    assert await reloader.reload()
    assert fingerprint(paths.cert) != before
    client = ssl.create_default_context(cafile=str(tmp_path / CA_CERT))
    with (
        echo_server(context) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        client.wrap_socket(raw, server_hostname="provd.example.test") as tls,
    ):
        assert presented(tls) == fingerprint(paths.cert)
