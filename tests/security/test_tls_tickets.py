"""Shared TLS ticket keys: a session one server context issued resumes on another that
derived the same keys, as a phone reconnecting to another worker or node does (the
processes themselves: tests/test_serve_workers.py)."""

from __future__ import annotations

import ssl

import pytest

from provd.security import tls_tickets
from provd.security.tls import TlsPaths, server_ssl_context
from tests.security.test_tls_reload import HOST, write_pair

SECRET = b"s" * 32


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> TlsPaths:
    return write_pair(tmp_path_factory.mktemp("tickets"), HOST)


def _client(paths: TlsPaths, version: ssl.TLSVersion) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(paths.cert))
    ctx.maximum_version = version
    return ctx


def _connect(
    server: ssl.SSLContext, client: ssl.SSLContext, session: ssl.SSLSession | None = None
) -> ssl.SSLObject:
    """A full handshake over memory, and the server's first bytes read (TLS 1.3 sends its
    tickets after the handshake); the client's side is returned."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname=HOST, session=session)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"c": False, "s": False}
    for _ in range(20):
        for name, end in (("c", c), ("s", s)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            break
    assert all(done.values()), "handshake did not finish"
    s.write(b"x")
    c_in.write(s_out.read())
    assert c.read(1) == b"x"
    return c


def _server(paths: TlsPaths, keys: bytes | None) -> ssl.SSLContext:
    ctx = server_ssl_context(paths)
    if keys is not None:
        assert tls_tickets.install(ctx, keys)
    return ctx


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_a_session_resumes_on_another_context_with_the_same_keys(
    pair: TlsPaths, version: ssl.TLSVersion
) -> None:
    keys = tls_tickets.keys_for(SECRET, 7)
    client = _client(pair, version)
    first = _connect(_server(pair, keys), client)
    assert not first.session_reused
    again = _connect(_server(pair, keys), client, first.session)
    assert again.session_reused


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_without_shared_keys_or_after_a_rotation_it_does_not(
    pair: TlsPaths, version: ssl.TLSVersion
) -> None:
    client = _client(pair, version)
    first = _connect(_server(pair, None), client)
    # OpenSSL's own random keys: another context (another process) cannot open the ticket.
    assert not _connect(_server(pair, None), client, first.session).session_reused
    issued = _connect(_server(pair, tls_tickets.keys_for(SECRET, 7)), client)
    rotated = _server(pair, tls_tickets.keys_for(SECRET, 8))
    assert not _connect(rotated, client, issued.session).session_reused


def test_keys_differ_by_window_and_secret_and_are_what_openssl_takes() -> None:
    keys = tls_tickets.keys_for(SECRET, 1)
    assert len(keys) == tls_tickets.KEY_BYTES == 80
    assert keys == tls_tickets.keys_for(SECRET, 1)
    assert keys != tls_tickets.keys_for(SECRET, 2)
    assert keys != tls_tickets.keys_for(b"t" * 32, 1)
    assert tls_tickets.window_at(0) == 0
    assert tls_tickets.window_at(tls_tickets.ROTATE_S - 0.001) == 0
    assert tls_tickets.window_at(tls_tickets.ROTATE_S) == 1


def test_keys_of_the_wrong_length_are_refused(pair: TlsPaths) -> None:
    with pytest.raises(ValueError, match="80 bytes"):
        tls_tickets.install(server_ssl_context(pair), b"short")
