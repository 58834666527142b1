"""One load-generator process of ``boot_storm.py``: simulated Yealink T46G phones.

Standard library only, and deliberately thin: raw HTTP/1.1 over blocking TLS sockets,
one thread per phone in flight, so that the handshake and the waits run in OpenSSL and
the kernel without the GIL and the generator costs as little CPU as possible per phone
(about a quarter less than asyncio's pure-Python TLS layer). Each phone opens its own
TLS connection (no session resumption, nothing shared with other phones), asks for its
boot file without credentials, takes the 401 challenge, then fetches its boot, common
and MAC files with its credentials on that connection, and checks that the MAC file
sets its own account. With ``reconnect`` each request goes on a connection of its own
instead, each after the first resuming the TLS session of the one before (as phones
that keep their session do). With ``ports`` the phones are spread over several servers
(nodes of one provd), in turn as they start: all of a phone's requests go to its own.

Protocol with the parent: ``argv[1]`` is a JSON job file. The process runs the warm-up
phones, prints ``ready``, waits for ``go`` on stdin, runs its share of the measured
phones and prints one JSON line with the results.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import resource
import secrets
import socket
import ssl
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODEL = "T46G"
FIRMWARE = "28.83.0.120"
COMMON_FILE = "y000000000028.cfg"
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]+))')
_MAX_SAMPLES = 5


class PhoneError(Exception):
    """A phone did not get what a real phone needs; ``kind`` groups them in the report."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Phone:
    mac: str
    username: str
    password: str
    extension: str
    tenant: str = "default"
    name: str = ""

    @property
    def user_agent(self) -> str:
        colons = ":".join(self.mac[i : i + 2] for i in range(0, 12, 2))
        return f"Yealink SIP-{MODEL} {FIRMWARE} {colons}"

    @property
    def files(self) -> tuple[str, str, str]:
        return (f"{self.mac}.boot", COMMON_FILE, f"{self.mac}.cfg")


@dataclass(frozen=True, slots=True)
class Job:
    host: str
    port: int
    cafile: str
    scheme: str
    """``digest`` (provd) or ``basic`` (the nginx reference)."""
    concurrency: int
    phone_timeout: float
    deadline: float
    """Seconds after ``go`` past which no new phone starts."""
    warmup: list[Phone]
    phones: list[Phone]
    reconnect: bool = False
    ports: list[int] = field(default_factory=list)
    """Several servers' ports, for phones in turn; empty: ``port`` alone."""

    def port_for(self, index: int) -> int:
        """The port of the ``index``-th phone started."""
        return self.ports[index % len(self.ports)] if self.ports else self.port

    @classmethod
    def load(cls, path: str) -> Job:
        raw: dict[str, Any] = json.loads(Path(path).read_text())
        raw["warmup"] = [Phone(**p) for p in raw["warmup"]]
        raw["phones"] = [Phone(**p) for p in raw["phones"]]
        return cls(**raw)


# -- authentication ------------------------------------------------------------------


class _Credentials:
    """Builds the Authorization header for each request of one phone."""

    def __init__(self, scheme: str, phone: Phone, challenges: list[str]) -> None:
        self._basic: str | None = None
        self._nc = 0
        self.stale = False
        if scheme == "basic":
            if not any(c.lower().startswith("basic ") for c in challenges):
                raise PhoneError("challenge", f"no Basic challenge in {challenges!r}")
            token = base64.b64encode(f"{phone.username}:{phone.password}".encode()).decode()
            self._basic = f"Basic {token}"
            return
        offers = [_parse_digest(c) for c in challenges if c.lower().startswith("digest ")]
        if not offers:
            raise PhoneError("challenge", f"no Digest challenge in {challenges!r}")
        # Phones of the T46G's generation answer with MD5 when it is offered.
        chosen = next((o for o in offers if o.get("algorithm", "MD5").upper() == "MD5"), offers[0])
        # A nonce another process issued (serve --workers): a phone asks again, once.
        self.stale = chosen.get("stale", "").lower() == "true"
        self._algorithm = chosen.get("algorithm", "MD5")
        self._hash = hashlib.md5 if self._algorithm.upper() == "MD5" else hashlib.sha256
        self._realm = chosen["realm"]
        self._nonce = chosen["nonce"]
        self._opaque = chosen.get("opaque")
        self._username = phone.username
        self._cnonce = secrets.token_hex(8)
        self._ha1 = self._h(f"{phone.username}:{self._realm}:{phone.password}")

    def _h(self, text: str) -> str:
        return self._hash(text.encode()).hexdigest()

    def header(self, method: str, uri: str) -> str:
        if self._basic is not None:
            return self._basic
        self._nc += 1
        nc = f"{self._nc:08x}"
        ha2 = self._h(f"{method}:{uri}")
        response = self._h(f"{self._ha1}:{self._nonce}:{nc}:{self._cnonce}:auth:{ha2}")
        parts = [
            f'Digest username="{self._username}"',
            f'realm="{self._realm}"',
            f'nonce="{self._nonce}"',
            f'uri="{uri}"',
            f"algorithm={self._algorithm}",
            "qop=auth",
            f"nc={nc}",
            f'cnonce="{self._cnonce}"',
            f'response="{response}"',
        ]
        if self._opaque is not None:
            parts.append(f'opaque="{self._opaque}"')
        return ", ".join(parts)


def _parse_digest(header: str) -> dict[str, str]:
    return {m[0].lower(): m[1] or m[2] for m in _PARAM.findall(header[7:])}


# -- HTTP/1.1 ------------------------------------------------------------------------


@dataclass(slots=True)
class _Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]


class _Connection:
    """One phone's TLS connection; responses are read by Content-Length."""

    def __init__(self, sock: ssl.SSLSocket, host_header: str, user_agent: str) -> None:
        self._sock = sock
        self._buffer = b""
        self._prefix = f"Host: {host_header}\r\nUser-Agent: {user_agent}\r\nAccept: */*\r\n"

    def _fill(self) -> None:
        data = self._sock.recv(65536)
        if not data:
            raise PhoneError("closed", "the server closed the connection mid-boot")
        self._buffer += data

    def get(self, path: str, authorization: str | None) -> _Response:
        auth = f"Authorization: {authorization}\r\n" if authorization else ""
        self._sock.sendall(f"GET {path} HTTP/1.1\r\n{self._prefix}{auth}\r\n".encode())
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        head, self._buffer = self._buffer[:end].decode("latin-1"), self._buffer[end + 4 :]
        status_line, *header_lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise PhoneError("protocol", f"bad status line {status_line!r}")
        headers = []
        for line in header_lines:
            name, _, value = line.partition(":")
            headers.append((name.strip().lower(), value.strip()))
        length = [v for k, v in headers if k == "content-length"]
        if len(length) != 1 or not length[0].isdigit():
            raise PhoneError("protocol", f"{path}: no usable Content-Length")
        size = int(length[0])
        while len(self._buffer) < size:
            self._fill()
        body, self._buffer = self._buffer[:size], self._buffer[size:]
        return _Response(int(parts[1]), headers, body)


class _Reconnecting:
    """A phone that opens a connection per request and resumes its TLS session."""

    def __init__(self, run: _Run, phone: Phone, port: int) -> None:
        self._run = run
        self._phone = phone
        self._port = port
        self._session: ssl.SSLSession | None = None

    def get(self, path: str, authorization: str | None) -> _Response:
        with self._run._connect(self._port, self._session) as sock:
            response = _Connection(
                sock, self._run.host_header(self._port), self._phone.user_agent
            ).get(path, authorization)
            self._session = sock.session
            # close_notify, as a well-behaved client ends a connection: OpenSSL keeps a
            # session for resumption by id only when its connection was closed so. A
            # server may close without answering it (nginx does): the file is here.
            with contextlib.suppress(ssl.SSLError, OSError):
                sock.unwrap()
        return response


# -- phones ----------------------------------------------------------------------------


def client_context(cafile: str) -> ssl.SSLContext:
    """What a T46G does: verifies the server against the CA it was given, TLS 1.2."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class _Run:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.ssl = client_context(job.cafile)
        self.latencies_ms: list[float] = []
        self.errors: Counter[str] = Counter()
        self.samples: list[str] = []
        self.tls: str | None = None
        self.connections = 0
        self.resumed = 0
        self.stale = 0
        self._lock = threading.Lock()

    def host_header(self, port: int) -> str:
        return f"{self.job.host}:{port}"

    def _connect(self, port: int, session: ssl.SSLSession | None = None) -> ssl.SSLSocket:
        raw = socket.create_connection((self.job.host, port), self.job.phone_timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = self.ssl.wrap_socket(raw, server_hostname=self.job.host, session=session)
        with self._lock:
            self.connections += 1
            self.resumed += bool(sock.session_reused)
            if self.tls is None:
                self.tls = f"{sock.version()} {(sock.cipher() or ('?',))[0]}"
        return sock

    def boot(self, phone: Phone, port: int) -> None:
        """One phone's whole boot; its latency counts only when everything checked out."""
        start = time.perf_counter()
        if self.job.reconnect:
            self._fetch_all(_Reconnecting(self, phone, port), phone)
        else:
            with self._connect(port) as sock:
                conn = _Connection(sock, self.host_header(port), phone.user_agent)
                self._fetch_all(conn, phone)
        self.latencies_ms.append((time.perf_counter() - start) * 1000)

    def _fetch_all(self, conn: _Connection | _Reconnecting, phone: Phone) -> None:
        boot, common, own = phone.files
        first = conn.get(f"/{boot}", None)
        if first.status != 401:
            raise PhoneError("status", f"/{boot} without credentials: {first.status}, not 401")
        creds = _Credentials(self.job.scheme, phone, first.all("www-authenticate"))
        for name in (boot, common, own):
            path = f"/{name}"
            r = conn.get(path, creds.header("GET", path))
            if r.status == 401 and not creds.stale:
                creds = _Credentials(self.job.scheme, phone, r.all("www-authenticate"))
                if creds.stale:
                    with self._lock:
                        self.stale += 1
                    r = conn.get(path, creds.header("GET", path))
            if r.status != 200:
                raise PhoneError("status", f"{path}: {r.status}")
            creds.stale = False
            if name == own and f"account.1.user_name = {phone.extension}\n".encode() not in r.body:
                raise PhoneError("content", f"{path} does not set account.1.user_name")

    def _record(self, e: BaseException) -> None:
        kind = e.kind if isinstance(e, PhoneError) else type(e).__name__
        with self._lock:
            self.errors[kind] += 1
            if len(self.samples) < _MAX_SAMPLES:
                self.samples.append(str(e) or kind)

    def run(self, phones: list[Phone], concurrency: int, deadline: float) -> int:
        """Boot ``phones``, at most ``concurrency`` at once (one thread each: the TLS
        handshake and socket waits run in C without the GIL); returns how many started."""
        queue = iter(phones)
        started = 0
        stop_at = time.monotonic() + deadline

        def next_phone() -> tuple[Phone, int] | None:
            nonlocal started
            with self._lock:
                phone = next(queue, None)
                if phone is None or time.monotonic() > stop_at:
                    return None
                started += 1
                return phone, self.job.port_for(started - 1)

        def worker() -> None:
            while (next_one := next_phone()) is not None:
                phone, port = next_one
                try:
                    self.boot(phone, port)
                except Exception as e:  # every failure is a counted error, never a crash
                    self._record(e)

        threads = [
            threading.Thread(target=worker, daemon=True)
            for _ in range(max(1, min(concurrency, len(phones))))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return started


def main(job: Job) -> dict[str, Any]:
    run = _Run(job)
    if job.warmup:
        run.run(job.warmup, job.concurrency, job.deadline)
    warm_errors = sum(run.errors.values())
    run.latencies_ms.clear()
    run.errors.clear()
    run.connections = run.resumed = run.stale = 0
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return {"aborted": True}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    began = time.monotonic()
    started = run.run(job.phones, job.concurrency, job.deadline)
    ended = time.monotonic()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "began": began,
        "ended": ended,
        "started": started,
        "latencies_ms": run.latencies_ms,
        "errors": dict(run.errors),
        "samples": run.samples,
        "warmup_errors": warm_errors,
        "cpu_seconds": (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime),
        "tls": run.tls,
        "connections": run.connections,
        "resumed": run.resumed,
        "stale": run.stale,
    }


if __name__ == "__main__":
    result = main(Job.load(sys.argv[1]))
    print(json.dumps(result), flush=True)
