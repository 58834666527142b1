"""`provd serve --workers 2` as real processes: phones served by every worker as by one
server (a nonce from one answered on the other, a replay refused by both, failures
counted together), a worker that dies started again, and the leader's PBX moving to
the other worker when the leader is killed.

Which worker accepts a connection is the kernel's choice; each test repeats until it
has seen both workers at work (bounded), and reads which one answered from the
``Provd-Worker`` header.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from provd.web.workers import WORKER_HEADER
from tests.digest_client import authorization, parse_challenge
from tests.pbx.conftest import ip
from tests.procs import alive, free_port, matching, provd_json, serve_pbx_args
from tests.scrape import parse, value
from tests.web.test_proxy_protocol import v1 as proxy_v1

pytestmark = pytest.mark.slow

MAC = "001565c00001"
UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:c0:00:01"
FILE = f"{MAC}.cfg"
PROXY, MEDIA = ip(210), ip(211)
_TIMEOUT_S = 60.0
_TRIES = 200
"""Requests a test may make to see both workers at work before it gives up."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def worker(self) -> str:
        return self.headers[WORKER_HEADER]

    def challenge(self) -> dict[str, str]:
        return parse_challenge(self.headers["WWW-Authenticate"])


@dataclass
class Pool:
    data_dir: Path
    port: int
    log: Path
    username: str
    password: str
    token: str
    proc: subprocess.Popen[bytes] | None = None
    _context: ssl.SSLContext | None = field(default=None, repr=False)

    def get(self, authorization: str | None = None, path: str = f"/{FILE}") -> Answer:
        """One request on a new connection, as a phone opening a new one would."""
        if self._context is None:
            self._context = ssl.create_default_context(cafile=str(self.data_dir / "ca.pem"))
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=self._context, timeout=30
        )
        headers = {"User-Agent": UA}
        if authorization:
            headers["Authorization"] = authorization
        try:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            # The first of several headers of one name (SHA-256's challenge).
            return Answer(r.status, {k: v for k, v in reversed(r.getheaders())}, r.read())
        finally:
            conn.close()

    def via_balancer(self, client: str, authorization: str | None = None) -> Answer:
        """One request as a TCP balancer at 127.0.0.2 passes a client's connection on."""
        raw = socket.create_connection(("127.0.0.1", self.port), 30, ("127.0.0.2", 0))
        raw.sendall(proxy_v1(client))
        if self._context is None:
            self._context = ssl.create_default_context(cafile=str(self.data_dir / "ca.pem"))
        with self._context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            head = f"GET /{FILE} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {UA}\r\n"
            if authorization:
                head += f"Authorization: {authorization}\r\n"
            tls.sendall((head + "Connection: close\r\n\r\n").encode())
            response = http.client.HTTPResponse(tls)
            response.begin()
            headers = {k: v for k, v in reversed(response.getheaders())}
            return Answer(response.status, headers, response.read())

    def answer(self, challenged: Answer, password: str | None = None, nc: int = 1) -> str:
        return authorization(
            challenged.challenge(),
            self.username,
            password or self.password,
            "GET",
            f"/{FILE}",
            nc=nc,
        )

    def fetch(self) -> tuple[Answer, Answer]:
        """A phone's fetch: challenged on one connection, answered on another."""
        challenged = self.get()
        assert challenged.status == 401
        return challenged, self.get(self.answer(challenged))

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, *, count: int = 1) -> list[re.Match[str]]:
        deadline = time.monotonic() + _TIMEOUT_S
        while True:
            found = list(re.finditer(pattern, self.text()))
            if len(found) >= count:
                return found
            assert self.proc is not None and self.proc.poll() is None, self.text()
            assert time.monotonic() < deadline, f"no {pattern!r} in:\n{self.text()}"
            time.sleep(0.1)

    def workers(self) -> dict[str, int]:
        """Worker index → pid of its latest start."""
        return {
            m[1]: int(m[2]) for m in re.finditer(r"worker (\d+) started \(pid (\d+)\)", self.text())
        }

    def leader(self) -> int:
        return int(re.findall(r"leader \(pid (\d+)\)", self.text())[-1])

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -1


Start = Callable[..., Pool]


def _holders(port: int) -> set[int]:
    """Processes holding the socket that listens on ``port`` (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            # local address, state 0A (LISTEN), inode
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(f"socket:[{fields[9]}]")
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
            except OSError:
                continue
            if links & inodes:
                found.add(int(entry.name))
    return found


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    pools: list[Pool] = []

    def run(*extra: str) -> Pool:
        data_dir = tmp_path / "data"
        port = free_port()
        init = provd_json(data_dir, "init", "--public-host", "127.0.0.1", "--https-port", str(port))
        device = provd_json(data_dir, "device", "add", "--mac", MAC, "--model", "yealink-t46g")
        cred = device["provisioning"]
        pool = Pool(
            data_dir,
            port,
            tmp_path / "serve.log",
            cred["username"],
            cred["password"],
            init["api_token"],
        )
        argv = [sys.executable, "-m", "provd", "--data-dir", str(data_dir), "serve"]
        argv += ["--bind", "127.0.0.1", "--workers", "2", *extra]
        with pool.log.open("wb") as out:
            pool.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        pools.append(pool)
        pool.wait_for("provd serving phones at .* with 2 workers")
        return pool

    yield run
    for pool in pools:
        assert pool.stop() == 0, pool.text()
        left = matching(str(pool.data_dir))
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert left == [], "processes left behind"


def test_every_worker_serves_and_answers_the_others_challenges(start: Start) -> None:
    pool = start()
    pairs: set[tuple[str, str]] = set()
    served = 0
    for _ in range(_TRIES):
        challenged, answered = pool.fetch()
        served += 1
        # However the two connections fall, the answer is served: one platform key, and
        # the first use claims the nonce wherever it lands.
        assert answered.status == 200, answered.body
        assert b"static.auto_provision" in answered.body
        pairs.add((challenged.worker, answered.worker))
        if ("1", "2") in pairs and ("2", "1") in pairs:
            break
    assert ("1", "2") in pairs and ("2", "1") in pairs, pairs
    # Whichever worker answers a scrape counts what every worker did.
    scrape = pool.get(authorization=f"Bearer {pool.token}", path="/metrics")
    assert scrape.status == 200
    samples = parse(scrape.body.decode())
    assert value(samples, "provd_http_requests_total", route="phone", status="200") == served
    assert value(samples, "provd_http_requests_total", route="phone", status="401") == served


def test_a_replayed_request_is_refused_by_every_worker(start: Start) -> None:
    pool = start()
    header = pool.answer(pool.get())
    assert pool.get(header).status == 200
    refused_by: set[str] = set()
    for _ in range(_TRIES):
        replay = pool.get(header)
        # The same nonce and nc again, on a new connection: never served twice.
        assert replay.status == 401, replay.body
        refused_by.add(replay.worker)
        if refused_by == {"1", "2"}:
            break
    assert refused_by == {"1", "2"}


def test_ten_failures_over_both_workers_block_the_source(start: Start) -> None:
    pool = start()
    for round_ in range(10):
        # A user name of its own per round: its count starts from nothing.
        pool.username = f"dev-guess-{round_}"
        answers = []
        for _ in range(10):
            answers.append(pool.get(pool.answer(pool.get(), password="Wr0ng-pass!")))
        assert [a.status for a in answers] == [401] * 9 + [429], [a.status for a in answers]
        assert int(answers[-1].headers["Retry-After"]) > 0
        # Blocked on every worker from now on.
        after = [pool.get(pool.answer(pool.get(), password="Wr0ng-pass!")) for _ in range(6)]
        assert {a.status for a in after} == {429}
        if {a.worker for a in answers} == {"1", "2"}:
            break
    else:
        pytest.fail("the failures never fell on both workers")


def test_a_killed_worker_is_started_again_and_phones_are_still_served(start: Start) -> None:
    pool = start()
    before = pool.workers()
    victim_index, victim = next((i, p) for i, p in before.items() if p != pool.leader())
    os.kill(victim, signal.SIGKILL)
    # Phones go on being served while it is down and after.
    for _ in range(10):
        assert pool.fetch()[1].status == 200
    pool.wait_for(rf"worker {victim_index} started \(pid (?!{victim}\b)\d+\)")
    again = pool.workers()[victim_index]
    assert again != victim and alive(again)
    pool.wait_for(rf"worker {victim_index} \(pid {again}\) serving")
    assert f"worker {victim_index} (pid {victim}) ended with signal 9" in pool.text()
    seen: set[str] = set()
    for _ in range(_TRIES):
        _, answered = pool.fetch()
        assert answered.status == 200
        seen.add(answered.worker)
        if seen == {"1", "2"}:
            break
    assert seen == {"1", "2"}, pool.text()


def test_the_pbx_moves_to_the_other_worker_when_the_leader_is_killed(start: Start) -> None:
    pool = start(*serve_pbx_args(PROXY, MEDIA))
    pool.wait_for("phones register at")
    leader = pool.leader()
    kamailio = int((pool.data_dir / "pbx" / "kamailio.pid").read_text())
    assert alive(kamailio)
    os.kill(leader, signal.SIGKILL)
    [took_over] = pool.wait_for(r"took over as leader \(pid (\d+)\)")
    assert int(took_over[1]) != leader and int(took_over[1]) in pool.workers().values()
    pool.wait_for("phones register at", count=2)
    # The new leader stopped the dead one's Kamailio and runs its own.
    assert "was left running by a provd that did not stop" in pool.text()
    fresh = int((pool.data_dir / "pbx" / "kamailio.pid").read_text())
    assert fresh != kamailio and alive(fresh) and not alive(kamailio)
    assert pool.fetch()[1].status == 200
    # The port is the workers' and the parent's: the daemons a worker starts do not
    # inherit it (they would hold it past provd's own end).
    holders = _holders(pool.port)
    assert pool.proc is not None and pool.proc.pid in holders
    assert fresh not in holders and holders <= {pool.proc.pid, *pool.workers().values()}


def test_workers_whose_parent_was_killed_stop_and_the_next_serve_takes_over(
    start: Start,
) -> None:
    pool = start(*serve_pbx_args(PROXY, MEDIA))
    pool.wait_for("phones register at")
    assert pool.proc is not None
    workers = set(pool.workers().values())
    kamailio = int((pool.data_dir / "pbx" / "kamailio.pid").read_text())
    # Only the parent, as the OOM killer or a stray `kill -9 <pid>` would.
    pool.proc.kill()
    assert pool.proc.wait(timeout=_TIMEOUT_S) == -signal.SIGKILL
    # Started at once, as systemd's Restart= would: it must wait for nothing by hand.
    argv = [sys.executable, "-m", "provd", "--data-dir", str(pool.data_dir), "serve"]
    argv += ["--bind", "127.0.0.1", "--workers", "2", *serve_pbx_args(PROXY, MEDIA)]
    first_log = pool.text()
    pool.log = pool.log.with_name("serve-again.log")
    with pool.log.open("wb") as out:
        pool.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    pool.wait_for("provd serving phones at .* with 2 workers")
    pool.wait_for("phones register at")
    # The orphaned workers stopped by themselves, their Kamailio with them (or it was
    # stopped as an orphan by the new leader), and the new workers hold the port.
    deadline = time.monotonic() + _TIMEOUT_S
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers), first_log
    assert not alive(kamailio)
    fresh = set(pool.workers().values())
    assert fresh.isdisjoint(workers)
    assert _holders(pool.port) <= {pool.proc.pid, *fresh}
    assert pool.fetch()[1].status == 200


def test_a_phone_resumes_its_tls_session_on_either_worker(start: Start) -> None:
    pool = start()
    context = ssl.create_default_context(cafile=str(pool.data_dir / "ca.pem"))
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # as a T46G offers
    session = None
    resumed_by: dict[str, list[bool]] = {"1": [], "2": []}
    for _ in range(_TRIES):
        raw = socket.create_connection(("127.0.0.1", pool.port), 30)
        with context.wrap_socket(raw, server_hostname="127.0.0.1", session=session) as tls:
            tls.sendall(f"GET /{FILE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            response = http.client.HTTPResponse(tls)
            response.begin()
            response.read()
            resumed_by[response.getheader(WORKER_HEADER) or "?"].append(bool(tls.session_reused))
            if session is None:
                session = tls.session
        if all(len(seen) >= 3 for seen in resumed_by.values()):
            break
    # The first connection made the session; every later one resumed it, whichever
    # worker took it: the workers share their ticket keys.
    first_worker = next(w for w, seen in resumed_by.items() if seen and not seen[0])
    assert resumed_by[first_worker][0] is False
    later = resumed_by[first_worker][1:] + resumed_by["2" if first_worker == "1" else "1"]
    assert all(len(seen) >= 3 for seen in resumed_by.values()), resumed_by
    assert all(later), resumed_by


def test_behind_a_balancer_each_client_is_counted_as_itself(start: Start) -> None:
    pool = start("--proxy-protocol-from", "127.0.0.2")
    guesser, neighbour = "198.51.100.9", "198.51.100.10"
    statuses = [
        pool.via_balancer(guesser, pool.answer(pool.via_balancer(guesser), "Wr0ng-pass!")).status
        for _ in range(10)
    ]
    assert statuses == [401] * 9 + [429]
    # The same user from another client behind the same balancer is not blocked with it.
    challenged = pool.via_balancer(neighbour)
    assert pool.via_balancer(neighbour, pool.answer(challenged, "Wr0ng-pass!")).status == 401
    assert pool.via_balancer(neighbour, pool.answer(pool.via_balancer(neighbour))).status == 200
    log = pool.text()
    assert f"ip={guesser}" in log and f"ip={neighbour}" in log and "ip=127.0.0.2" not in log


def test_sighup_reaches_every_worker(start: Start) -> None:
    pool = start()
    assert pool.proc is not None
    pool.proc.send_signal(signal.SIGHUP)
    # Each worker holds its own TLS context, and each reloads it.
    pool.wait_for("TLS certificate reloaded from", count=2)
    assert pool.fetch()[1].status == 200
