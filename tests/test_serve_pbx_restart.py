"""`provd serve --pbx` after a crash: a provd killed outright cannot stop Kamailio and
rtpengine, which keep their ports. The next serve stops those orphans before starting
its own daemons, instead of its Kamailio failing to bind while the orphan answers
the readiness probe with the old configuration. A second serve on the same data
directory while one runs is refused (by the data directory's serve lock, before its
PBX lock) and touches nothing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pbx.conftest import ip
from tests.procs import alive, free_port, group, matching, serve_pbx_args

pytestmark = pytest.mark.slow

PROXY = ip(195)
MEDIA = ip(196)
_TIMEOUT_S = 30.0
_READY = "phones register at"


def _sip_options(host: str) -> str:
    """The status line of the answer to an OPTIONS sent to host:5060."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((ip(197), 0))
        s.settimeout(5)
        port = s.getsockname()[1]
        request = (
            f"OPTIONS sip:{host} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {ip(197)}:{port};branch=z9hG4bK-restart-1;rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:probe@{ip(197)}>;tag=restart\r\n"
            f"To: <sip:{host}>\r\n"
            "Call-ID: restart-probe-1\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        s.sendto(request.encode(), (host, 5060))
        return s.recv(65535).decode(errors="replace").split("\r\n", 1)[0]


def _daemon_pids(data_dir: Path) -> dict[str, int]:
    return {
        name: int((data_dir / "pbx" / f"{name}.pid").read_text())
        for name in ("kamailio", "rtpengine")
    }


class Serve:
    def __init__(self, data_dir: Path, log: Path) -> None:
        argv = [sys.executable, "-m", "provd", "--data-dir", str(data_dir), "serve"]
        argv += ["--bind", "127.0.0.1", *serve_pbx_args(PROXY, MEDIA)]
        self.log = log
        self._log_file = log.open("w")
        # A session of its own: "killed outright" kills serve and all its workers.
        self.proc = subprocess.Popen(
            argv, stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + _TIMEOUT_S
        while _READY not in self.log.read_text():
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "serve --pbx not up:\n" + self.log.read_text()
            time.sleep(0.1)

    def wait_exit(self) -> int:
        try:
            return self.proc.wait(timeout=_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self._log_file.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit()


def _leftovers(data_dir: Path) -> list[int]:
    """serve, Kamailio and rtpengine processes of this data directory or addresses."""
    return matching(str(data_dir), f"--listen-ng={PROXY}:")


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    init = ["init", "--json", "--public-host", "127.0.0.1", "--https-port", str(free_port())]
    subprocess.run(
        [sys.executable, "-m", "provd", "--data-dir", str(data), *init],
        check=True,
        capture_output=True,
        timeout=_TIMEOUT_S,
    )
    yield data
    # What a failed assertion left running; a passing test leaves nothing.
    left = _leftovers(data)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], "processes left behind"


def test_a_restart_after_provd_was_killed_stops_the_orphaned_daemons(
    data_dir: Path, tmp_path: Path
) -> None:
    first = Serve(data_dir, tmp_path / "first.log")
    try:
        first.wait_ready()
    finally:
        first.kill()
    orphans = _daemon_pids(data_dir)
    assert first.wait_exit() == -signal.SIGKILL
    # The scenario is real: killed outright, provd left both daemons running.
    assert all(alive(pid) for pid in orphans.values()), orphans

    second = Serve(data_dir, tmp_path / "second.log")
    try:
        second.wait_ready()
        text = second.log.read_text()
        for name, pid in orphans.items():
            assert f"{name} (pid {pid}) was left running by a provd that did not stop" in text
            assert group(pid) == [], f"{name} orphan group still running"
        fresh = _daemon_pids(data_dir)
        assert set(fresh.values()).isdisjoint(orphans.values())
        # The new daemons hold their ports: none dies and gets restarted.
        time.sleep(1.5)
        assert all(alive(pid) for pid in fresh.values()), second.log.read_text()
        assert "died with rc" not in second.log.read_text()
        # And answer SIP: the orphan is gone, so this is the new Kamailio.
        assert _sip_options(PROXY).startswith("SIP/2.0 ")
    finally:
        assert second.stop() == 0, second.log.read_text()
    assert all(group(pid) == [] for pid in fresh.values())
    assert not (data_dir / "pbx" / "kamailio.pid").exists()


def test_a_second_serve_on_the_same_data_dir_is_refused_and_stops_nothing(
    data_dir: Path, tmp_path: Path
) -> None:
    running = Serve(data_dir, tmp_path / "running.log")
    try:
        running.wait_ready()
        pids = _daemon_pids(data_dir)
        other = Serve(data_dir, tmp_path / "other.log")
        assert other.wait_exit() == 1
        assert "another provd serve is already running with" in other.log.read_text()
        assert _daemon_pids(data_dir) == pids
        assert all(alive(pid) for pid in pids.values())
    finally:
        assert running.stop() == 0, running.log.read_text()
