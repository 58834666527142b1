"""The README's first command, `bash scripts/run`, as a newcomer types it on a fresh data
directory: it initialises, prints credentials that work, serves HTTPS with its own CA,
runs the PBX, and stops cleanly. Ports and addresses are passed through to `serve` so the
test does not collide with anything else on the machine."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.pbx.conftest import ip
from tests.procs import matching, serve_pbx_args

ROOT = Path(__file__).resolve().parents[1]
PROXY = ip(198)
MEDIA = ip(199)
_TIMEOUT_S = 180.0  # the script first checks system packages and refreshes .venv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _curl(ca: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    # The printed URLs name "localhost"; the CA provd made must vouch for it.
    return subprocess.run(
        ["curl", "-sS", "--cacert", str(ca), "-o", "-", "-w", "\n%{http_code}", *args, url],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_scripts_run_on_a_fresh_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = _free_port()
    log = tmp_path / "run.log"
    # scripts/run passes --pbx itself; a second one is harmless.
    argv = ["bash", "scripts/run", "--https-port", str(port), *serve_pbx_args(PROXY, MEDIA)]
    env = {**os.environ, "PROVD_DATA_DIR": str(data_dir)}
    with log.open("w") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + _TIMEOUT_S
        while "phones register at" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "scripts/run not up:\n" + log.read_text()
            time.sleep(0.2)
        text = log.read_text()
        # Printed once, on the first run: where to go and with what.
        url = re.search(r"web console:\s+(\S+)", text)
        token = re.search(r"admin API token:\s+(\S+)", text)
        assert url is not None and token is not None, text
        assert url[1] == f"https://localhost:{port}/login", "the URL printed is not the one served"
        assert re.search(r"console sign-in:\s+admin / \S+", text), text
        assert re.search(r"bootstrap password:\s+\S+", text), text
        ca = data_dir / "ca.pem"

        login = _curl(ca, url[1])
        assert login.returncode == 0, login.stderr
        assert login.stdout.endswith("\n200") and "<form" in login.stdout

        base = url[1].removesuffix("/login")
        api = _curl(ca, f"{base}/api/v1/tenants", "-H", f"Authorization: Bearer {token[1]}")
        assert api.stdout.endswith("\n200") and '"default"' in api.stdout, api.stdout
        refused = _curl(ca, f"{base}/api/v1/tenants", "-H", "Authorization: Bearer nope")
        assert refused.stdout.endswith("\n401"), refused.stdout
        assert (data_dir / "pbx" / "kamailio.pid").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        left = matching(str(data_dir), f"--listen-ng={PROXY}:")
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert rc == 0, log.read_text()
    assert left == [], "scripts/run left processes behind"
