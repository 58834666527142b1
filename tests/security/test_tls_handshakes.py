"""What provd's TLS server offers phones: an ECDSA P-256 key when asked for
(``tls_key_type = "ecdsa"``: made, kept, switched, served), and session resumption."""

from __future__ import annotations

import json
import shutil
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from provd.domain.errors import InvalidInput
from provd.security.tls import CA_CERT, CA_KEY, TlsPaths, ensure_certificates, server_ssl_context
from provd.settings import SETTINGS_FILE, load_settings
from tests.cli.runner import run

HOSTS = ["prov.example.test"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tls")
    ensure_certificates(directory, HOSTS, [], key_type="ecdsa")
    return directory


@pytest.fixture
def tls_dir(generated: Path, tmp_path: Path) -> Path:
    target = tmp_path / "tls"
    shutil.copytree(generated, target)
    return target


def _key(path: Path) -> object:
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _leaf(paths: TlsPaths) -> x509.Certificate:
    return x509.load_pem_x509_certificates(paths.cert.read_bytes())[0]


def _handshake(
    server: ssl.SSLContext, client: ssl.SSLContext, session: ssl.SSLSession | None = None
) -> ssl.SSLObject:
    """A TLS handshake between two contexts in memory, then both ends close it with
    close_notify, as a phone and provd's listener do; the client's side of it."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname=HOSTS[0], session=session)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    for step in ("do_handshake", "unwrap"):
        done = {c: False, s: False}
        for _ in range(10):
            for side in (c, s):
                if not done[side]:
                    try:
                        getattr(side, step)()
                        done[side] = True
                    except ssl.SSLWantReadError:
                        pass
            s_in.write(c_out.read())
            c_in.write(s_out.read())
            if all(done.values()):
                break
        else:
            raise AssertionError(f"{step} did not finish")
    return c


def _client(ca: Path, ciphers: str) -> ssl.SSLContext:
    client = ssl.create_default_context(cafile=str(ca))
    client.maximum_version = ssl.TLSVersion.TLSv1_2  # as a T46G
    client.set_ciphers(ciphers)
    return client


def test_an_ecdsa_server_key_is_p256_and_signed_by_the_rsa_ca(tls_dir: Path) -> None:
    paths = ensure_certificates(tls_dir, HOSTS, [], key_type="ecdsa")
    key = _key(paths.key)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP256R1)
    assert isinstance(_key(tls_dir / CA_KEY), rsa.RSAPrivateKey)
    leaf = _leaf(paths)
    leaf.verify_directly_issued_by(x509.load_pem_x509_certificate((tls_dir / CA_CERT).read_bytes()))
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_encipherment


def test_phones_with_ecdsa_suites_connect_and_rsa_only_ones_cannot(tls_dir: Path) -> None:
    paths = ensure_certificates(tls_dir, HOSTS, [], key_type="ecdsa")
    server = server_ssl_context(paths)
    assert paths.ca is not None
    side = _handshake(server, _client(paths.ca, "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA"))
    cipher = side.cipher()
    assert cipher is not None and cipher[0] == "ECDHE-ECDSA-AES128-SHA"
    with pytest.raises(ssl.SSLError):
        _handshake(server, _client(paths.ca, "ECDHE-RSA-AES128-GCM-SHA256"))


def test_changing_the_key_type_reissues_the_server_certificate_only(tls_dir: Path) -> None:
    ca = (tls_dir / CA_CERT).read_bytes(), (tls_dir / CA_KEY).read_bytes()
    kept = ensure_certificates(tls_dir, HOSTS, [], key_type="ecdsa")
    first = kept.cert.read_bytes()
    assert ensure_certificates(tls_dir, HOSTS, [], key_type="ecdsa").cert.read_bytes() == first
    paths = ensure_certificates(tls_dir, HOSTS, [])  # the default: RSA
    assert isinstance(_key(paths.key), rsa.RSAPrivateKey)
    assert paths.cert.read_bytes() != first
    assert ((tls_dir / CA_CERT).read_bytes(), (tls_dir / CA_KEY).read_bytes()) == ca
    assert isinstance(
        _key(ensure_certificates(tls_dir, HOSTS, [], key_type="ecdsa").key),
        ec.EllipticCurvePrivateKey,
    )


def test_an_unknown_key_type_is_refused_by_its_field(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as e:
        ensure_certificates(tmp_path, HOSTS, [], key_type="dsa")
    assert e.value.field == "tls_key_type"
    assert not list(tmp_path.iterdir())
    (tmp_path / SETTINGS_FILE).write_text(json.dumps({"tls_key_type": "ed25519"}))
    with pytest.raises(InvalidInput) as e:
        load_settings(tmp_path)
    assert e.value.field == "tls_key_type"


def test_init_with_an_ecdsa_key(tmp_path: Path, migrated_db: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    shutil.copy(migrated_db, data / "provd.sqlite3")
    result = run(data, "init", "--public-host", "provd.test", "--tls-key-type", "ecdsa")
    assert result.exit_code == 0, result.output
    assert load_settings(data).tls_key_type == "ecdsa"
    assert isinstance(_key(data / "server.key"), ec.EllipticCurvePrivateKey)
    refused = run(tmp_path / "other", "init", "--tls-key-type", "dsa")
    assert refused.exit_code == 2 and "tls-key-type" in refused.output


@pytest.mark.parametrize("tickets", [True, False], ids=["ticket", "session id"])
def test_a_phone_that_reconnects_resumes_its_session(tls_dir: Path, tickets: bool) -> None:
    # OpenSSL's server defaults, which provd keeps: a session cache and tickets, for
    # TLS 1.2 as a T46G speaks it; a phone without ticket support resumes by id (if
    # its last connection ended with close_notify: OpenSSL forgets a session whose
    # connection was cut).
    paths = ensure_certificates(tls_dir, HOSTS, [], key_type="ecdsa")
    server = server_ssl_context(paths)
    assert paths.ca is not None
    client = _client(paths.ca, "ECDHE-ECDSA-AES128-GCM-SHA256")
    if not tickets:
        client.options |= ssl.OP_NO_TICKET
    first = _handshake(server, client)
    session = first.session
    assert session is not None and not first.session_reused
    assert session.has_ticket is tickets
    again = _handshake(server, client, session)
    assert again.session_reused
