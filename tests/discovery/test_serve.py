"""A real `provd serve --pnp --pnp-interface … --dhcp-observe …` on the test LAN: a
phone that was never scanned appears under discovered (CLI and API), a claimed phone's
real-format SUBSCRIBE is answered, and SIGTERM stops it all cleanly."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from provd.discovery import sip
from tests.discovery.conftest import Lan
from tests.discovery.samples import yealink_subscribe
from tests.procs import free_port, provd_json

pytestmark = pytest.mark.slow

T46G = "0015654aa937"
UNKNOWN_T46G = "805ec0445566"
NEW_D785 = "000413a11fa7"


class Served:
    def __init__(self, data_dir: Path, port: int, token: str) -> None:
        self.data_dir, self.port, self.token = data_dir, port, token

    def api(self, method: str, path: str) -> tuple[int, Any]:
        context = ssl.create_default_context(cafile=str(self.data_dir / "ca.pem"))
        context.check_hostname = False
        request = urllib.request.Request(
            f"https://127.0.0.1:{self.port}/api/v1{path}",
            method=method,
            headers={"Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, context=context, timeout=30) as r:
            body = r.read()
            return r.status, json.loads(body) if body else None


@pytest.fixture
def served(tmp_path: Path, lan: Lan) -> Iterator[Served]:
    data_dir = tmp_path / "data"
    port = free_port()
    init = provd_json(data_dir, "init", "--public-host", "127.0.0.1", "--https-port", str(port))
    provd_json(data_dir, "device", "add", "--mac", T46G, "--model", "yealink-t46g")
    log = (tmp_path / "serve.log").open("w")
    command = [sys.executable, "-m", "provd", "--data-dir", str(data_dir), "serve"]
    command += ["--pnp", "--pnp-interface", lan.host_if, "--dhcp-observe", lan.host_if]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        # Discovery runs in the leader worker, which starts it before its own listener;
        # the port answers as soon as serve's parent holds it, so wait for the line that
        # says every worker serves.
        for _ in range(600):
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            if "provd serving phones" in (tmp_path / "serve.log").read_text():
                break
            time.sleep(0.1)
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        yield Served(data_dir, port, init["api_token"])
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        output = (tmp_path / "serve.log").read_text()
        assert "Traceback" not in output, output
        assert f"PnP responder listening on {lan.host_if}" in output
        assert f"DHCP observer listening on {lan.host_if}" in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        log.close()


def _wait_discovered(served: Served, mac: str, seen: int) -> list[dict[str, Any]]:
    for _ in range(300):
        rows: list[dict[str, Any]] = provd_json(served.data_dir, "discovered", "list")
        if any(r["mac"] == mac and r["seen_count"] >= seen for r in rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"{mac} not discovered: {rows}")


def test_serve_discovers_and_answers(served: Served, lan: Lan) -> None:
    lan.dhcp(NEW_D785, "snomD785", [1, 3, 6, 42, 66, 67, 43], "snomD785")
    rows = _wait_discovered(served, NEW_D785, seen=2)
    [d785] = [r for r in rows if r["mac"] == NEW_D785]
    assert (d785["ip"], d785["vendor"], d785["model"], d785["source"]) == (
        lan.phone_ip,
        "snom",
        "snomD785",
        "dhcp",
    )
    assert d785["vendor_class"] == "snomD785"
    assert d785["hostname"] == "snomD785"
    assert d785["requested_options"] == [1, 3, 6, 42, 66, 67, 43]

    claimed = yealink_subscribe(T46G, lan.phone_ip)
    unknown = yealink_subscribe(UNKNOWN_T46G, lan.phone_ip)
    call_id = sip.parse_request(claimed).header("Call-ID") or ""
    received = lan.pnp([(unknown, 5059), (claimed, 5059)], wait_for=[call_id])
    answered = {sip.parse_message(r["text"].encode()).header("Call-ID") for r in received}
    assert answered == {call_id}
    [notify] = [r for r in received if r["text"].startswith("NOTIFY ")]
    assert notify["dst_port"] == 5059
    assert notify["src"] == [lan.host_ip, 5060]
    url = urlsplit(sip.parse_request(notify["text"].encode()).body.decode())
    assert (url.hostname, url.port) == ("127.0.0.1", served.port)
    # A single-use token for this phone, not the tenant's bootstrap credential.
    assert url.username is not None and url.username.startswith("pnp-")

    # The unknown T46G is listed from its SUBSCRIBE; the claimed one is not.
    _wait_discovered(served, UNKNOWN_T46G, seen=1)
    status, listed = served.api("GET", "/discovered")
    assert status == 200
    by_mac = {r["mac"]: r for r in listed}
    assert set(by_mac) == {NEW_D785, UNKNOWN_T46G}
    assert (by_mac[UNKNOWN_T46G]["source"], by_mac[UNKNOWN_T46G]["model"]) == ("pnp", "SIP-T46G")

    assert served.api("DELETE", f"/discovered/{NEW_D785}") == (204, None)
    assert [r["mac"] for r in provd_json(served.data_dir, "discovered", "list")] == [UNKNOWN_T46G]
    assert provd_json(served.data_dir, "discovered", "forget", "--all") == {"forgotten": 1}
