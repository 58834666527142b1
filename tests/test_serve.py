"""`provd serve` as a newcomer runs it: a real process, real TLS, curl --digest."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.procs import free_port, provd_json

pytestmark = pytest.mark.slow

T46G_UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:4a:a9:37"


class Running:
    def __init__(self, data_dir: Path, https: int, http: int, log: Path) -> None:
        self.data_dir, self.https, self.http, self.log = data_dir, https, http, log

    def curl(
        self, path: str, user: str, password: str, *, plain: bool = False
    ) -> subprocess.CompletedProcess[str]:
        url = (
            f"http://127.0.0.1:{self.http}/{path}"
            if plain
            else f"https://127.0.0.1:{self.https}/{path}"
        )
        return subprocess.run(
            [
                "curl",
                "-sS",
                "--digest",
                "-u",
                f"{user}:{password}",
                "-A",
                T46G_UA,
                "--cacert",
                str(self.data_dir / "ca.pem"),
                "-w",
                "\n%{http_code}",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Running, dict[str, object], dict[str, object]]]:
    data_dir = tmp_path / "data"
    https, http = free_port(), free_port()
    init = provd_json(data_dir, "init", "--public-host", "127.0.0.1", "--https-port", str(https))
    provd_json(data_dir, "user", "add", "--extension", "201", "--name", "Front Desk")
    device = provd_json(
        data_dir,
        "device",
        "add",
        "--mac",
        "00:15:65:4a:a9:37",
        "--model",
        "yealink-t46g",
        "--user",
        "201",
    )
    provd_json(data_dir, "device", "add", "--mac", "00:15:65:4a:a9:38", "--model", "yealink-t46g")
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
                "--http-port",
                str(http),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", https), timeout=0.5).close()
                    break
                except OSError:
                    assert proc.poll() is None, log.read_text()
                    time.sleep(0.1)
            else:
                pytest.fail("provd serve did not listen in time:\n" + log.read_text())
            yield Running(data_dir, https, http, log), init, device
        finally:
            proc.terminate()
            assert proc.wait(timeout=15) == 0, log.read_text()


def test_t46g_fetches_its_config_and_others_get_nothing(
    running: tuple[Running, dict[str, object], dict[str, object]],
) -> None:
    server, init, device = running
    prov = device["provisioning"]
    assert isinstance(prov, dict)
    user, password = prov["username"], prov["password"]

    ok = server.curl("0015654aa937.cfg", user, password)
    body, status = ok.stdout.rsplit("\n", 1)
    assert status == "200", ok.stderr
    assert body.startswith("#!version:1.0.0.1\n")
    assert "account.1.user_name = 201" in body
    assert f"static.auto_provision.server.url = https://127.0.0.1:{server.https}/" in body

    neighbour = server.curl("0015654aa938.cfg", user, password)
    assert neighbour.stdout.rsplit("\n", 1)[1] == "404"
    assert "account." not in neighbour.stdout

    wrong = server.curl("0015654aa937.cfg", user, "Wr0ng-password!")
    unknown = server.curl(
        "001565ffffff.cfg", str(init["bootstrap_username"]), str(init["bootstrap_password"])
    )
    assert wrong.stdout == unknown.stdout
    assert wrong.stdout.rsplit("\n", 1)[1] == "401"

    # Plain HTTP only because the admin enabled it, and still Digest-protected.
    plain = server.curl("0015654aa937.cfg", user, password, plain=True)
    assert plain.stdout.rsplit("\n", 1)[1] == "200"
    plain_wrong = server.curl("0015654aa937.cfg", user, "Wr0ng-password!", plain=True)
    assert plain_wrong.stdout.rsplit("\n", 1)[1] == "401"

    log = server.log.read_text()
    assert "auth failed" in log
    for secret in (str(password), "Wr0ng-password!", str(init["bootstrap_password"])):
        assert secret not in log
