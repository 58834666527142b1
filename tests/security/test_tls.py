from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import ssl
import stat
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provd.domain.errors import InvalidInput
from provd.security.tls import (
    CA_CERT,
    CA_KEY,
    SERVER_CERT,
    SERVER_KEY,
    CertificateError,
    TlsPaths,
    ensure_certificates,
    load_admin_certificates,
    server_ssl_context,
)

HOSTS = ["prov.example.test"]
IPS = ["192.0.2.10"]
FILES = (CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated set, copied by tests that change it (RSA key generation is slow)."""
    directory = tmp_path_factory.mktemp("tls")
    ensure_certificates(directory, HOSTS, IPS)
    return directory


@pytest.fixture
def tls_dir(generated: Path, tmp_path: Path) -> Path:
    target = tmp_path / "tls"
    shutil.copytree(generated, target)
    return target


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in FILES}


def _chain(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def _paths(directory: Path) -> TlsPaths:
    return TlsPaths(
        cert=directory / SERVER_CERT, key=directory / SERVER_KEY, ca=directory / CA_CERT
    )


# -- a real handshake ------------------------------------------------------------------


def _handshake(
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
    server_hostname: str = "localhost",
) -> tuple[str, str]:
    """Connect over 127.0.0.1 and return the negotiated (cipher, protocol)."""
    server_errors: list[BaseException] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            try:
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError) as e:
                server_errors.append(e)
            finally:
                conn.close()

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
                client_ctx.wrap_socket(raw, server_hostname=server_hostname) as tls,
            ):
                assert tls.recv(2) == b"ok"
                cipher, version = tls.cipher(), tls.version()
                assert cipher is not None and version is not None
                return cipher[0], version
        finally:
            thread.join(timeout=10)


def _client(ca: Path | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca) if ca else None)


def test_generated_chain_verifies_for_every_name(generated: Path) -> None:
    paths = _paths(generated)
    server = server_ssl_context(paths)
    for name in ["localhost", "prov.example.test", "127.0.0.1", "192.0.2.10", "::1"]:
        _cipher, protocol = _handshake(server, _client(paths.ca), name)
        assert protocol in ("TLSv1.2", "TLSv1.3")


def test_unlisted_name_is_refused_by_the_client(generated: Path) -> None:
    paths = _paths(generated)
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(server_ssl_context(paths), _client(paths.ca), "other.example.test")


def test_client_without_the_ca_refuses(generated: Path) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(server_ssl_context(_paths(generated)), _client(None))


def _legacy_client(ca: Path, ciphers: str) -> ssl.SSLContext:
    """A TLS 1.2-only client offering exactly ``ciphers``, like old phone firmware."""
    ctx = _client(ca)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(ciphers)
    return ctx


@pytest.mark.parametrize(
    "cipher",
    [
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES128-SHA256",
        "ECDHE-RSA-AES256-SHA384",
        "ECDHE-RSA-AES128-SHA",
        "ECDHE-RSA-AES256-SHA",
    ],
)
def test_old_phone_cipher_suites_negotiate(generated: Path, cipher: str) -> None:
    paths = _paths(generated)
    assert paths.ca is not None
    got = _handshake(server_ssl_context(paths), _legacy_client(paths.ca, cipher))
    assert got == (cipher, "TLSv1.2")


def test_server_prefers_aead_over_cbc(generated: Path) -> None:
    paths = _paths(generated)
    assert paths.ca is not None
    client = _legacy_client(paths.ca, "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256")
    assert _handshake(server_ssl_context(paths), client)[0] == "ECDHE-RSA-AES128-GCM-SHA256"


@pytest.mark.parametrize("cipher", ["AES128-SHA", "AES128-GCM-SHA256"])
def test_static_rsa_key_exchange_is_refused(generated: Path, cipher: str) -> None:
    paths = _paths(generated)
    assert paths.ca is not None
    with pytest.raises(ssl.SSLError, match="HANDSHAKE_FAILURE"):
        _handshake(server_ssl_context(paths), _legacy_client(paths.ca, cipher))


def test_tls_1_1_is_refused(generated: Path) -> None:
    paths = _paths(generated)
    client = _client(paths.ca)
    # Level 0 so that the client really offers TLS 1.1 and the refusal is the server's.
    client.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client.minimum_version = ssl.TLSVersion.TLSv1_1
        client.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError, match="ALERT_PROTOCOL_VERSION"):
        _handshake(server_ssl_context(paths), client)


# -- certificate contents --------------------------------------------------------------


def test_server_certificate_contents(generated: Path) -> None:
    leaf, ca = _chain(generated / SERVER_CERT)
    assert ca == _chain(generated / CA_CERT)[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "prov.example.test"}
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
        ipaddress.ip_address("192.0.2.10"),
    }
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "prov.example.test"
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert dt.timedelta(days=825) <= lifetime <= dt.timedelta(days=826)
    key = leaf.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    leaf.verify_directly_issued_by(ca)


def test_ca_certificate_contents(generated: Path) -> None:
    [ca] = _chain(generated / CA_CERT)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert ca.not_valid_after_utc - ca.not_valid_before_utc >= dt.timedelta(days=3650)
    assert ca.issuer == ca.subject
    ca.verify_directly_issued_by(ca)


def test_key_files_are_private_and_no_temporary_files_remain(generated: Path) -> None:
    for name in (CA_KEY, SERVER_KEY):
        assert stat.S_IMODE((generated / name).stat().st_mode) == 0o600
    for name in (CA_CERT, SERVER_CERT):
        assert stat.S_IMODE((generated / name).stat().st_mode) == 0o644
    leftovers = {p.name for p in generated.iterdir()} - set(FILES) - {".tls.lock"}
    assert leftovers == set()


# -- reuse and renewal -----------------------------------------------------------------


def test_second_run_reuses_everything(tls_dir: Path) -> None:
    before = _snapshot(tls_dir)
    assert ensure_certificates(tls_dir, HOSTS, IPS) == _paths(tls_dir)
    assert _snapshot(tls_dir) == before


def test_fewer_names_do_not_renew(tls_dir: Path) -> None:
    before = _snapshot(tls_dir)
    ensure_certificates(tls_dir, [], [])
    assert _snapshot(tls_dir) == before


@pytest.mark.parametrize(("hosts", "ips"), [(["new.example.test"], []), ([], ["192.0.2.99"])])
def test_new_name_renews_the_server_certificate_only(
    tls_dir: Path, hosts: list[str], ips: list[str]
) -> None:
    before = _snapshot(tls_dir)
    ensure_certificates(tls_dir, HOSTS + hosts, IPS + ips)
    after = _snapshot(tls_dir)
    assert after[CA_CERT] == before[CA_CERT] and after[CA_KEY] == before[CA_KEY]
    assert after[SERVER_CERT] != before[SERVER_CERT]
    assert after[SERVER_KEY] != before[SERVER_KEY]
    leaf = _chain(tls_dir / SERVER_CERT)[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = {str(v) for v in san.get_values_for_type(x509.DNSName)}
    names |= {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    assert set(HOSTS + hosts + IPS + ips) <= names
    paths = _paths(tls_dir)
    _handshake(server_ssl_context(paths), _client(paths.ca), (hosts + ips)[0])


def test_nearly_expired_server_certificate_is_renewed(tls_dir: Path) -> None:
    before = _snapshot(tls_dir)
    expiry = _chain(tls_dir / SERVER_CERT)[0].not_valid_after_utc
    ensure_certificates(tls_dir, HOSTS, IPS, now=expiry - dt.timedelta(days=31))
    assert _snapshot(tls_dir) == before
    ensure_certificates(tls_dir, HOSTS, IPS, now=expiry - dt.timedelta(days=29))
    after = _snapshot(tls_dir)
    assert after[CA_CERT] == before[CA_CERT]
    assert after[SERVER_CERT] != before[SERVER_CERT]
    assert _chain(tls_dir / SERVER_CERT)[0].not_valid_after_utc > expiry


def test_damaged_server_files_are_replaced(tls_dir: Path) -> None:
    (tls_dir / SERVER_KEY).write_bytes(b"garbage")
    ensure_certificates(tls_dir, HOSTS, IPS)
    server_ssl_context(_paths(tls_dir))


def test_server_certificate_from_another_ca_is_replaced(tls_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(tls_dir, other)
    (other / CA_CERT).unlink()
    (other / CA_KEY).unlink()
    ensure_certificates(other, HOSTS, IPS)
    for name in (SERVER_CERT, SERVER_KEY):
        shutil.copy(other / name, tls_dir / name)
    ensure_certificates(tls_dir, HOSTS, IPS)
    leaf = _chain(tls_dir / SERVER_CERT)[0]
    leaf.verify_directly_issued_by(_chain(tls_dir / CA_CERT)[0])


def test_ca_without_its_key_is_an_error(tls_dir: Path) -> None:
    (tls_dir / CA_KEY).unlink()
    with pytest.raises(CertificateError, match=r"ca\.key is missing"):
        ensure_certificates(tls_dir, HOSTS, IPS)


def test_ca_with_a_foreign_key_is_an_error(tls_dir: Path) -> None:
    shutil.copy(tls_dir / SERVER_KEY, tls_dir / CA_KEY)
    with pytest.raises(CertificateError, match="not the private key"):
        ensure_certificates(tls_dir, HOSTS, IPS)


def test_half_written_first_run_starts_over(tls_dir: Path) -> None:
    (tls_dir / CA_CERT).unlink()
    old_key = (tls_dir / CA_KEY).read_bytes()
    ensure_certificates(tls_dir, HOSTS, IPS)
    assert (tls_dir / CA_KEY).read_bytes() != old_key
    paths = _paths(tls_dir)
    _handshake(server_ssl_context(paths), _client(paths.ca))


def test_concurrent_first_runs_agree_on_one_ca(tmp_path: Path) -> None:
    results: list[TlsPaths] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_certificates(tmp_path, [], [])))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3
    leaf, ca = _chain(tmp_path / SERVER_CERT)
    assert ca == _chain(tmp_path / CA_CERT)[0]
    leaf.verify_directly_issued_by(ca)


@pytest.mark.parametrize(
    ("hosts", "ips", "field"),
    [
        (["bad host"], [], "hostnames"),
        (["-leading.example"], [], "hostnames"),
        (["a..b"], [], "hostnames"),
        (["*.example.test"], [], "hostnames"),
        (["x" * 64 + ".test"], [], "hostnames"),
        ([], ["300.1.1.1"], "ips"),
        ([], ["example.test"], "ips"),
    ],
)
def test_invalid_names_are_refused(
    tmp_path: Path, hosts: list[str], ips: list[str], field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        ensure_certificates(tmp_path, hosts, ips)
    assert raised.value.field == field
    assert not (tmp_path / CA_KEY).exists()


def test_hostnames_are_normalised(tls_dir: Path) -> None:
    ensure_certificates(tls_dir, ["Prov.Example.TEST.", "bücher.example"], [" 192.0.2.10 "])
    leaf = _chain(tls_dir / SERVER_CERT)[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"prov.example.test", "xn--bcher-kva.example"} <= set(
        san.get_values_for_type(x509.DNSName)
    )


# -- admin certificates ----------------------------------------------------------------


def _self_signed(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, days: int
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "admin.example.test")])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("admin.example.test")]), critical=False
        )
        .sign(key, hashes.SHA256())
    )


def _write_pair(
    directory: Path,
    cert: x509.Certificate,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    encryption: serialization.KeySerializationEncryption | None = None,
) -> tuple[Path, Path]:
    cert_path, key_path = directory / "admin.pem", directory / "admin.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            encryption or serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_admin_certificate_chain_is_accepted(generated: Path) -> None:
    paths = load_admin_certificates(generated / SERVER_CERT, generated / SERVER_KEY)
    assert paths == TlsPaths(cert=generated / SERVER_CERT, key=generated / SERVER_KEY, ca=None)
    _handshake(server_ssl_context(paths), _client(generated / CA_CERT))


def test_admin_ec_certificate_is_accepted(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _self_signed(key, 90)
    cert_path, key_path = _write_pair(tmp_path, cert, key)
    paths = load_admin_certificates(cert_path, key_path)
    _handshake(server_ssl_context(paths), _client(cert_path), "admin.example.test")


def test_admin_key_that_does_not_match_is_an_error(generated: Path, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    _cert, stranger_key = _write_pair(tmp_path, _self_signed(key, 90), key)
    with pytest.raises(CertificateError, match="is not the private key of the certificate"):
        load_admin_certificates(generated / SERVER_CERT, stranger_key)


def test_admin_chain_in_the_wrong_order_is_an_error(generated: Path, tmp_path: Path) -> None:
    leaf, ca = _chain(generated / SERVER_CERT)
    reversed_chain = tmp_path / "chain.pem"
    reversed_chain.write_bytes(
        ca.public_bytes(serialization.Encoding.PEM) + leaf.public_bytes(serialization.Encoding.PEM)
    )
    with pytest.raises(CertificateError, match="must come first"):
        load_admin_certificates(reversed_chain, generated / SERVER_KEY)


def test_admin_chain_with_an_unrelated_certificate_is_an_error(
    generated: Path, tmp_path: Path
) -> None:
    leaf = _chain(generated / SERVER_CERT)[0]
    stranger = _self_signed(ec.generate_private_key(ec.SECP256R1()), 90)
    chain = tmp_path / "chain.pem"
    chain.write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM)
        + stranger.public_bytes(serialization.Encoding.PEM)
    )
    with pytest.raises(CertificateError, match="did not sign"):
        load_admin_certificates(chain, generated / SERVER_KEY)


def test_admin_key_with_a_passphrase_is_an_error(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert_path, key_path = _write_pair(
        tmp_path, _self_signed(key, 90), key, serialization.BestAvailableEncryption(b"pw")
    )
    with pytest.raises(CertificateError, match="passphrase"):
        load_admin_certificates(cert_path, key_path)


def test_expired_admin_certificate_is_an_error(generated: Path) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=900)
    with pytest.raises(CertificateError, match="expired on"):
        load_admin_certificates(generated / SERVER_CERT, generated / SERVER_KEY, now=later)


@pytest.mark.parametrize(
    ("break_files", "message"),
    [
        (lambda c, k: c.unlink(), "cannot read"),
        (lambda c, k: k.unlink(), "cannot read"),
        (lambda c, k: c.write_text("not a certificate"), "no PEM certificate"),
        (lambda c, k: k.write_text("not a key"), "no PEM private key"),
        (lambda c, k: k.write_bytes(c.read_bytes()), "no PEM private key"),
    ],
)
def test_unusable_admin_files_are_errors(
    tls_dir: Path, break_files: Callable[[Path, Path], object], message: str
) -> None:
    cert, key = tls_dir / SERVER_CERT, tls_dir / SERVER_KEY
    break_files(cert, key)
    with pytest.raises(CertificateError, match=message):
        load_admin_certificates(cert, key)
