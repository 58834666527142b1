"""One load-generator process of ``fleet_storm.py``: phones that retry as real ones do.

Built on ``_loadgen``'s phone (blocking TLS, one thread per phone in flight, Digest,
the boot, common and MAC files on one connection), with what a fleet coming back from
a power cut adds:

- each phone connects from its own loopback address (127.x.y.z, bound before connect),
  as real phones come from many addresses: provd counts connections and failures per
  source address, and a thousand phones behind one address are not what it guards;
- a phone whose boot fails (refused, reset or timed-out connection, a 429, 503 or any
  other unexpected status) waits a few seconds with jitter and starts its boot over, up
  to a bounded number of attempts; a waiting phone holds no thread, so ``concurrency``
  is the number of boots in flight;
- each phone reports when its successful MAC-file request started (``time.monotonic``,
  one clock for every process of the machine) and the display name the file carried,
  so that the parent can tell a stale file from a fresh one (``_freshness``).

Protocol with the parent as ``_loadgen``'s: ``argv[1]`` is a JSON job file; the
process runs the warm-up phones, prints ``ready``, waits for ``go`` on stdin, runs its
phones and prints one JSON line with the results.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import random
import resource
import socket
import ssl
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _loadgen import Phone, PhoneError, _Connection, _Credentials, client_context

_IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
_THREAD_STACK = 512 * 1024
_MAX_SAMPLES = 5


class BootFailed(Exception):
    """One attempt failed; ``cause`` groups them in the report."""

    def __init__(self, cause: str, detail: str) -> None:
        super().__init__(f"{cause}: {detail}")
        self.cause = cause


@dataclass(frozen=True, slots=True)
class StormJob:
    host: str
    port: int
    cafile: str
    concurrency: int
    phone_timeout: float
    deadline: float
    """Seconds after ``go`` past which no attempt starts."""
    attempts: int
    retry_min: float
    retry_max: float
    warmup: list[Phone]
    phones: list[Phone]
    sources: list[str]
    """The source address of each phone of ``phones``, in order."""
    warmup_sources: list[str]

    @classmethod
    def load(cls, path: str) -> StormJob:
        raw: dict[str, Any] = json.loads(Path(path).read_text())
        raw["warmup"] = [Phone(**p) for p in raw["warmup"]]
        raw["phones"] = [Phone(**p) for p in raw["phones"]]
        return cls(**raw)


@dataclass(slots=True)
class _State:
    """One phone across its attempts."""

    index: int
    phone: Phone
    source: str
    attempts: int = 0
    first_start: float = 0.0


def cause_of(e: BaseException) -> str:
    """A short, countable name for why an attempt failed."""
    if isinstance(e, BootFailed):
        return e.cause
    if isinstance(e, PhoneError):
        return e.kind
    if isinstance(e, TimeoutError):
        return "timeout"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, ConnectionResetError | BrokenPipeError):
        return "reset"
    if isinstance(e, ssl.SSLError):
        return f"TLS {e.reason or type(e).__name__}"
    if isinstance(e, OSError) and e.errno is not None:
        return f"{type(e).__name__} errno {e.errno}"
    return type(e).__name__


def display_name_in(body: bytes) -> str | None:
    for line in body.split(b"\n"):
        if line.startswith(b"account.1.display_name = "):
            return line[len(b"account.1.display_name = ") :].decode("utf-8", "replace")
    return None


class _Storm:
    def __init__(self, job: StormJob) -> None:
        self.job = job
        self.ssl = client_context(job.cafile)
        self.host_header = f"{job.host}:{job.port}"
        self.done: list[list[Any]] = []
        """Per configured phone: index, first start, MAC-file start, end, attempts,
        display name seen, whether the file set the phone's own account."""
        self.causes: Counter[str] = Counter()
        self.samples: list[str] = []
        self.gave_up = 0
        self.unfinished = 0
        self._lock = threading.Lock()

    def _connect(self, source: str) -> ssl.SSLSocket:
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            raw.setsockopt(socket.IPPROTO_IP, _IP_BIND_ADDRESS_NO_PORT, 1)
            raw.bind((source, 0))
            raw.settimeout(self.job.phone_timeout)
            raw.connect((self.job.host, self.job.port))
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return self.ssl.wrap_socket(raw, server_hostname=self.job.host)
        except BaseException:
            raw.close()
            raise

    def attempt(self, state: _State) -> list[Any]:
        """One boot from the start; what the phone saw, or an exception."""
        phone = state.phone
        boot, common, own = phone.files
        with self._connect(state.source) as sock:
            conn = _Connection(sock, self.host_header, phone.user_agent)
            first = conn.get(f"/{boot}", None)
            if first.status != 401:
                raise BootFailed(f"HTTP {first.status}", f"/{boot} without credentials")
            creds = _Credentials("digest", phone, first.all("www-authenticate"))
            mac_start = 0.0
            for name in (boot, common, own):
                path = f"/{name}"
                mac_start = time.monotonic()
                r = conn.get(path, creds.header("GET", path))
                if r.status == 401 and not creds.stale:
                    creds = _Credentials("digest", phone, r.all("www-authenticate"))
                    if creds.stale:
                        mac_start = time.monotonic()
                        r = conn.get(path, creds.header("GET", path))
                if r.status != 200:
                    raise BootFailed(f"HTTP {r.status}", path)
                creds.stale = False
            own_account = f"account.1.user_name = {phone.extension}\n".encode() in r.body
            return [
                state.index,
                state.first_start,
                mac_start,
                time.monotonic(),
                state.attempts,
                display_name_in(r.body),
                own_account,
            ]

    def _fail(self, state: _State, e: BaseException) -> float | None:
        """Count the failure; when the phone is to try again, the time to do so."""
        cause = cause_of(e)
        with self._lock:
            self.causes[cause] += 1
            if len(self.samples) < _MAX_SAMPLES:
                self.samples.append(f"{state.phone.mac} attempt {state.attempts}: {e}")
            if state.attempts >= self.job.attempts:
                self.gave_up += 1
                return None
        return time.monotonic() + random.uniform(self.job.retry_min, self.job.retry_max)

    def run(self, phones: list[Phone], sources: list[str], concurrency: int) -> None:
        fresh = iter(
            _State(i, phone, source)
            for i, (phone, source) in enumerate(zip(phones, sources, strict=True))
        )
        waiting: list[tuple[float, int, _State]] = []  # (retry at, index, state), a heap
        stop_at = time.monotonic() + self.job.deadline
        ready = threading.Condition(self._lock)
        exhausted = False

        def take() -> _State | None:
            nonlocal exhausted
            with ready:
                while True:
                    now = time.monotonic()
                    if now > stop_at:
                        return None
                    if waiting and waiting[0][0] <= now:
                        return heapq.heappop(waiting)[2]
                    if not exhausted:
                        state = next(fresh, None)
                        if state is not None:
                            return state
                        exhausted = True
                    if not waiting:
                        return None
                    ready.wait(min(waiting[0][0], stop_at) - now)

        def worker() -> None:
            while (state := take()) is not None:
                state.attempts += 1
                if state.attempts == 1:
                    state.first_start = time.monotonic()
                try:
                    seen = self.attempt(state)
                except Exception as e:  # every failure is counted, never a crash
                    retry_at = self._fail(state, e)
                    if retry_at is not None:
                        with ready:
                            heapq.heappush(waiting, (retry_at, state.index, state))
                            ready.notify()
                    continue
                with self._lock:
                    self.done.append(seen)

        threading.stack_size(_THREAD_STACK)
        threads = [
            threading.Thread(target=worker, daemon=True)
            for _ in range(max(1, min(concurrency, len(phones))))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.unfinished = len(phones) - len(self.done) - self.gave_up


def _raise_fd_limit(needed: int) -> None:
    """Each phone in flight holds a socket: the usual soft limit of 1024 is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = hard if hard == resource.RLIM_INFINITY else min(hard, max(needed, soft))
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise SystemExit(f"RLIMIT_NOFILE is {soft}, {needed} needed: raise the hard limit")


def main(job: StormJob) -> dict[str, Any]:
    _raise_fd_limit(2 * job.concurrency + 64)
    warm = _Storm(job)
    if job.warmup:
        warm.run(job.warmup, job.warmup_sources, job.concurrency)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return {"aborted": True}
    storm = _Storm(job)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    began = time.monotonic()
    storm.run(job.phones, job.sources, job.concurrency)
    ended = time.monotonic()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "began": began,
        "ended": ended,
        "done": storm.done,
        "causes": dict(storm.causes),
        "samples": storm.samples,
        "gave_up": storm.gave_up,
        "unfinished": storm.unfinished,
        "warmup_failures": len(job.warmup) - len(warm.done),
        "cpu_seconds": (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime),
    }


if __name__ == "__main__":
    result = main(StormJob.load(sys.argv[1]))
    print(json.dumps(result), flush=True)
