"""TLS certificates for the provisioning server: a private CA, or the admin's own.

On first start provd makes a CA and a server certificate it signs, so HTTPS works
before anyone has thought about certificates; admins who push ``ca.pem`` to their
phones get verified connections. The CA is made once and never replaced
automatically (phones may trust it); the server certificate is renewed whenever it
nears expiry or misses a name the server is now reached by.

The server key is RSA by default, not EC: older Yealink firmware is widely reported
to lack ECDSA support, and a phone that cannot verify the signature fails closed.
RSA-2048 is what every phone handles. For fleets whose phones all support it, the
server key can be ECDSA P-256 (``tls_key_type``): its signature costs the server a
small fraction of an RSA-2048 one in every full handshake (bench/README.md). The CA
stays RSA in either case, with 3072 bits because it lives ten years, past the point
(2030) where 2048-bit RSA is no longer recommended for new signatures; it signs the
server certificate once, so its key type costs no handshake anything.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import itertools
import os
import re
import secrets
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provd.domain.errors import InvalidInput, ProvdError

CA_CERT = "ca.pem"
CA_KEY = "ca.key"
SERVER_CERT = "server.pem"
SERVER_KEY = "server.key"
_LOCK = ".tls.lock"

CA_VALIDITY = dt.timedelta(days=3650)
# 825 days is the longest validity Apple platforms accept for a TLS server
# certificate; staying within it keeps the certificate usable from admins' Macs.
SERVER_VALIDITY = dt.timedelta(days=825)
RENEW_BEFORE = dt.timedelta(days=30)
# Phones often boot with a clock that is a little off until NTP answers.
_BACKDATE = dt.timedelta(hours=1)
_CA_KEY_BITS = 3072
_SERVER_KEY_BITS = 2048
KEY_TYPES = ("rsa", "ecdsa")
"""The server key provd makes: RSA-2048 (the default), or ECDSA on the P-256 curve."""
_ALWAYS_DNS = ("localhost",)
_ALWAYS_IPS = ("127.0.0.1", "::1")

# TLS 1.2 suites with forward secrecy only, ECDHE with RSA or ECDSA. The CBC suites,
# including those with an HMAC-SHA1 record MAC, stay on purpose: older phone TLS
# stacks (Yealink T4x firmware among them) may offer no AEAD suite, and HMAC-SHA1 as
# a record MAC is not broken the way SHA-1 signatures are. Static-RSA key exchange
# (no forward secrecy) is left out; the server's preference order makes clients that
# can do better pick GCM or ChaCha20. TLS 1.3 suites are OpenSSL's defaults.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:!aNULL:!eNULL:!AESCCM"

_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


_IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class CertificateError(ProvdError):
    """A certificate or key on disk cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True)
class TlsPaths:
    cert: Path
    """The server certificate followed by its issuers (a full chain)."""
    key: Path
    ca: Path | None
    """provd's own CA, for admins to install on phones; None for admin certificates."""


@dataclass(frozen=True, slots=True)
class _Names:
    dns: frozenset[str]
    ips: frozenset[_IpAddress]
    common_name: str


def ensure_certificates(
    data_dir: Path,
    hostnames: list[str],
    ips: list[str],
    *,
    now: dt.datetime | None = None,
    key_type: str = KEY_TYPES[0],
) -> TlsPaths:
    """Create, reuse or renew provd's CA and server certificate in ``data_dir``; a
    server key of another type than ``key_type`` (one of :data:`KEY_TYPES`) is replaced."""
    if key_type not in KEY_TYPES:
        raise InvalidInput("tls_key_type", f"must be one of: {', '.join(KEY_TYPES)}")
    names = _requested_names(hostnames, ips)
    now = now or dt.datetime.now(dt.UTC)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = TlsPaths(cert=data_dir / SERVER_CERT, key=data_dir / SERVER_KEY, ca=data_dir / CA_CERT)
    with _locked(data_dir / _LOCK):
        ca_cert, ca_key = _ensure_ca(data_dir, now)
        if not _server_is_current(paths, ca_cert, names, now, key_type):
            _issue_server(paths, ca_cert, ca_key, names, now, key_type)
    return paths


def load_admin_certificates(cert: Path, key: Path, *, now: dt.datetime | None = None) -> TlsPaths:
    """Check admin-supplied PEM files and return them, or say what is wrong with them."""
    now = now or dt.datetime.now(dt.UTC)
    chain = _read_certificates(cert)
    private_key = _read_key(key)
    leaf = chain[0]
    if not _same_key(private_key, leaf):
        if any(_same_key(private_key, other) for other in chain[1:]):
            raise CertificateError(
                f"{cert}: the certificate for {key} must come first, before its issuers"
            )
        raise CertificateError(f"{key} is not the private key of the certificate in {cert}")
    if leaf.not_valid_after_utc <= now:
        raise CertificateError(f"{cert} expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
    if leaf.not_valid_before_utc > now:
        raise CertificateError(
            f"{cert} is not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        )
    for child, issuer in itertools.pairwise(chain):
        if not _issued_by(child, issuer):
            raise CertificateError(
                f"{cert}: each certificate must be followed by the one that signed it; "
                f"{issuer.subject.rfc4514_string()!r} did not sign "
                f"{child.subject.rfc4514_string()!r}"
            )
    paths = TlsPaths(cert=cert, key=key, ca=None)
    try:
        server_ssl_context(paths)
    except ssl.SSLError as e:
        raise CertificateError(f"{cert}, {key}: refused by OpenSSL: {e.reason or e}") from None
    return paths


def server_ssl_context(paths: TlsPaths) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    # Old clients list CBC suites first; the server's order puts AEAD first for them.
    ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_COMPRESSION
    ctx.load_cert_chain(paths.cert, paths.key)
    return ctx


# -- names -----------------------------------------------------------------------------


def _requested_names(hostnames: list[str], ips: list[str]) -> _Names:
    dns = [_normalise_hostname(h) for h in hostnames]
    addresses = []
    for text in [*ips, *_ALWAYS_IPS]:
        try:
            addresses.append(ipaddress.ip_address(text.strip()))
        except ValueError:
            raise InvalidInput("ips", f"{text!r} is not an IP address") from None
    return _Names(
        dns=frozenset([*dns, *_ALWAYS_DNS]),
        ips=frozenset(addresses),
        common_name=dns[0] if dns else _ALWAYS_DNS[0],
    )


def _normalise_hostname(text: str) -> str:
    name = text.strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInput("hostnames", f"{text!r} is not a valid host name") from None
    labels = name.split(".")
    if len(name) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise InvalidInput("hostnames", f"{text!r} is not a valid host name")
    return name


def _certificate_names(cert: x509.Certificate) -> tuple[set[str], set[_IpAddress]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    ips = {
        ip
        for ip in san.get_values_for_type(x509.IPAddress)
        if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address)
    }
    return set(san.get_values_for_type(x509.DNSName)), ips


# -- the CA ----------------------------------------------------------------------------


def _ensure_ca(data_dir: Path, now: dt.datetime) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    cert_path, key_path = data_dir / CA_CERT, data_dir / CA_KEY
    if cert_path.exists():
        if not key_path.exists():
            # Phones may already trust this CA; inventing a new one would silently
            # break them, so a human decides.
            raise CertificateError(
                f"{cert_path} exists but {key_path} is missing; restore the key, or delete "
                f"{cert_path} to create a new CA (phones that trust the old one must then "
                "be given the new one)"
            )
        cert = _read_certificates(cert_path)[0]
        key = _read_key(key_path)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise CertificateError(f"{key_path}: provd's CA key must be an RSA key")
        if not _same_key(key, cert):
            raise CertificateError(f"{key_path} is not the private key of {cert_path}")
        if cert.not_valid_after_utc <= now:
            raise CertificateError(
                f"the CA in {cert_path} expired on {cert.not_valid_after_utc:%Y-%m-%d}; "
                f"delete {cert_path} and {key_path} to create a new one"
            )
        return cert, key

    # A key without its certificate is a first run that died half-way: nothing can
    # trust a CA whose certificate was never written, so start over.
    key = rsa.generate_private_key(public_exponent=65537, key_size=_CA_KEY_BITS)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "provd"),
            # A random suffix tells apart the CAs of several installations on a phone.
            x509.NameAttribute(NameOID.COMMON_NAME, f"provd local CA {secrets.token_hex(4)}"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_atomic(key_path, _key_pem(key), 0o600)
    _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert, key


# -- the server certificate ------------------------------------------------------------


def _server_is_current(
    paths: TlsPaths, ca_cert: x509.Certificate, names: _Names, now: dt.datetime, key_type: str
) -> bool:
    if not (paths.cert.exists() and paths.key.exists()):
        return False
    try:
        leaf = _read_certificates(paths.cert)[0]
        key = _read_key(paths.key)
    except CertificateError:
        return False
    dns, ips = _certificate_names(leaf)
    return (
        _type_of(key) == key_type
        and _same_key(key, leaf)
        and _issued_by(leaf, ca_cert)
        and leaf.not_valid_after_utc > now + RENEW_BEFORE
        and names.dns <= dns
        and names.ips <= ips
    )


def _issue_server(
    paths: TlsPaths,
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    names: _Names,
    now: dt.datetime,
    key_type: str,
) -> None:
    key: _PrivateKey
    if key_type == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=_SERVER_KEY_BITS)
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in sorted(names.dns)]
    alt_names += [x509.IPAddress(ip) for ip in sorted(names.ips, key=str)]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names.common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(min(now + SERVER_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                # Kept for RSA clients that check it even though static-RSA suites are off;
                # an EC key signs (ECDHE-ECDSA) and encrypts nothing.
                key_encipherment=key_type == "rsa",
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(
        serialization.Encoding.PEM
    )
    # Key before certificate: a crash in between leaves a mismatch that the next
    # start detects and repairs, never a certificate served with a stale key.
    _write_atomic(paths.key, _key_pem(key), 0o600)
    _write_atomic(paths.cert, chain, 0o644)


# -- files and keys --------------------------------------------------------------------

_PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _read_certificates(path: Path) -> list[x509.Certificate]:
    data = _read(path)
    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CertificateError(f"{path} holds no PEM certificate") from None
    return chain


def _read_key(path: Path) -> _PrivateKey:
    data = _read(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise CertificateError(
            f"{path} is protected by a passphrase; provide the key without one"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise CertificateError(f"{path} holds no PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CertificateError(f"{path}: only RSA and EC keys are supported")
    return key


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise CertificateError(f"cannot read {path}: {e.strerror}") from None


def _same_key(key: _PrivateKey, cert: x509.Certificate) -> bool:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return key.public_key().public_bytes(der, spki) == cert.public_key().public_bytes(der, spki)


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _type_of(key: _PrivateKey) -> str:
    return "ecdsa" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa"


def _key_pem(key: _PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write via a fresh temporary file so readers never see a partial file and a key
    is never, even briefly, readable with a wider mode than ``mode``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Two processes starting together must not each make a CA and overwrite the other's.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
