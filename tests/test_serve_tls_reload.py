"""SIGHUP makes a running ``provd serve`` present the certificate now on disk: a real
process, the admin's certificate files replaced, connections compared by fingerprint."""

from __future__ import annotations

import hashlib
import http.client
import json
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provd.security.tls import TlsPaths
from tests.procs import free_port, provd_json
from tests.security.test_tls_reload import HOST, fingerprint, write_pair

pytestmark = pytest.mark.slow


def _client() -> ssl.SSLContext:
    client = ssl.create_default_context()
    # What is served is compared by fingerprint; any certificate will do for the handshake.
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    return client


def _presented(sock: object) -> str:
    assert isinstance(sock, ssl.SSLSocket)
    der = sock.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


@dataclass
class Serving:
    proc: subprocess.Popen[bytes]
    https: int
    tls: TlsPaths
    log: Path

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def wait_for(self, found: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            matching = [r for r in self.records() if found(r)]
            if matching:
                return matching[-1]
            time.sleep(0.1)
        pytest.fail("no such log record:\n" + self.log.read_text())

    def new_connection_presents(self) -> str:
        with (
            socket.create_connection(("127.0.0.1", self.https), timeout=10) as raw,
            _client().wrap_socket(raw, server_hostname=HOST) as tls,
        ):
            return _presented(tls)

    def reload(self) -> None:
        self.proc.send_signal(signal.SIGHUP)


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[Serving]:
    data_dir = tmp_path / "data"
    https = free_port()
    provd_json(data_dir, "init", "--public-host", "127.0.0.1", "--https-port", str(https))
    # A keep-alive connection must outlive the test's steps whatever the machine's load.
    settings = json.loads((data_dir / "provd.json").read_text())
    settings["keepalive_seconds"] = 600
    (data_dir / "provd.json").write_text(json.dumps(settings))
    tls = write_pair(tmp_path / "tls", "old.example.test")
    log = tmp_path / "serve.log"
    with log.open("w") as log_file:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "provd",
                "--data-dir",
                str(data_dir),
                "serve",
                "--bind",
                "127.0.0.1",
                "--tls-cert",
                str(tls.cert),
                "--tls-key",
                str(tls.key),
                "--log-format",
                "json",
            ],
            stderr=log_file,
        )
        try:
            server = Serving(proc, https, tls, log)
            server.wait_for(lambda r: r["message"].startswith("provd serving phones"))
            yield server
        finally:
            proc.terminate()
            # SIGHUP did not stop it; SIGTERM still does, cleanly.
            assert proc.wait(timeout=15) == 0, log.read_text()


def test_sighup_serves_the_new_certificate_and_keeps_open_connections(
    serving: Serving, tmp_path: Path
) -> None:
    old = fingerprint(serving.tls.cert)
    assert serving.new_connection_presents() == old
    kept = http.client.HTTPSConnection("127.0.0.1", serving.https, context=_client())
    try:
        kept.request("GET", "/login")
        assert kept.getresponse().read() and kept.sock is not None
        sock = kept.sock
        assert _presented(sock) == old

        write_pair(tmp_path / "tls", "new.example.test", days=60)
        new = fingerprint(serving.tls.cert)
        serving.reload()
        reloaded = serving.wait_for(lambda r: r["message"].startswith("TLS certificate reloaded"))

        assert reloaded["level"] == "INFO"
        assert reloaded["logger"] == "provd.tls"
        assert reloaded["sha256"] == new
        assert reloaded["subject"] == "CN=new.example.test"
        assert reloaded["cert_file"] == str(serving.tls.cert)
        assert "not_after" in reloaded
        assert serving.new_connection_presents() == new
        # The connection opened before the reload answers on the same socket, as it was made.
        kept.request("GET", "/login")
        response = kept.getresponse()
        assert response.status == 200 and response.read()
        assert kept.sock is sock
        assert _presented(sock) == old
    finally:
        kept.close()


def test_a_broken_certificate_is_logged_and_the_old_one_still_served(
    serving: Serving,
) -> None:
    old = fingerprint(serving.tls.cert)
    serving.tls.cert.write_text("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
    serving.reload()
    error = serving.wait_for(lambda r: r["level"] == "ERROR")
    assert error["logger"] == "provd.tls"
    assert error["message"].startswith("TLS certificate not reloaded, still serving the previous")
    assert str(serving.tls.cert) in error["message"]
    assert serving.new_connection_presents() == old
    assert serving.proc.poll() is None
