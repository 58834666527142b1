"""A simulated desk phone: a small asyncio SIP user agent over UDP plus an HTTPS client.

It behaves like a Yealink during a firmware update: registers with Digest, answers
``check-sync;reboot=true`` with 200, fetches its configuration and the firmware
file it names (HTTPS, Digest with its provisioning credentials), "reboots", and
registers again with a User-Agent carrying the version it now runs. Failure modes
make it misbehave the ways real phones do.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import aiohttp

from tests.digest_client import authorization, parse_challenge
from tests.sim import sip

FIRMWARE_MAGIC = b"SIMFW "
_FIRMWARE_URL = re.compile(r"^static\.firmware\.url\s*=\s*(\S+)\s*$", re.M)
_T1_S = 0.5
_TRANSACTION_S = 8.0


def firmware_bytes(version: str, size: int = 64 * 1024) -> bytes:
    """A firmware file the simulated phone can "flash": its version is in the first line."""
    head = FIRMWARE_MAGIC + version.encode() + b"\n"
    return head + bytes(i % 251 for i in range(max(size - len(head), 0)))


def version_in(image: bytes) -> str | None:
    if not image.startswith(FIRMWARE_MAGIC):
        return None
    return image[len(FIRMWARE_MAGIC) :].split(b"\n", 1)[0].decode()


class Behaviour(StrEnum):
    NORMAL = "normal"
    NEVER_FETCH = "never_fetch"
    """Reboots without downloading anything: back on the old version."""
    WRONG_VERSION = "wrong_version"
    """Downloads the firmware, but the flash fails: back on the old version."""
    UNREGISTERED = "unregistered"
    """Never registers (switched off)."""
    SILENT = "silent"
    """Registered, but never answers a NOTIFY."""


@dataclass(frozen=True, slots=True)
class SipLine:
    extension: str
    domain: str
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class Provisioning:
    url: str
    """provd's provisioning URL, ending in ``/``."""
    username: str
    password: str
    cafile: Path


FetchHook = Callable[["SimPhone"], Awaitable[str | None]]
"""Stands in for the firmware download: returns the version now installed."""


@dataclass(slots=True)
class Log:
    notifies: list[sip.Message] = field(default_factory=list)
    """Distinct NOTIFY transactions (retransmissions not counted)."""
    fetched: list[str] = field(default_factory=list)
    boots: int = 0
    errors: list[str] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)


class SimPhone(asyncio.DatagramProtocol):
    def __init__(
        self,
        mac: str,
        line: SipLine,
        prov: Provisioning,
        *,
        local: tuple[str, int],
        proxy: tuple[str, int],
        version: str,
        model_name: str = "T46G",
        behaviour: Behaviour = Behaviour.NORMAL,
        reboot_s: float = 0.3,
        fetch_hook: FetchHook | None = None,
        fetch_retry_s: float = 30.0,
    ) -> None:
        self.mac = mac
        self.line = line
        self.prov = prov
        self.local = local
        self.proxy = proxy
        self.version = version
        self.model_name = model_name
        self.behaviour = behaviour
        self.reboot_s = reboot_s
        self.fetch_hook = fetch_hook
        self.fetch_retry_s = fetch_retry_s
        self.log = Log()
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: dict[tuple[str, str], asyncio.Future[sip.Message]] = {}
        self._seen: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._call_id = ""
        self._from_tag = ""
        self._cseq = 0
        self._new_boot()

    # --- identity -----------------------------------------------------------------

    @property
    def user_agent(self) -> str:
        return f"Yealink SIP-{self.model_name} {self.version}"

    @property
    def http_user_agent(self) -> str:
        mac = ":".join(self.mac[i : i + 2] for i in range(0, 12, 2))
        return f"{self.user_agent} {mac}"

    @property
    def notify_count(self) -> int:
        return len(self.log.notifies)

    def _note(self, what: str) -> None:
        self.log.timeline.append((time.monotonic(), what))

    def _new_boot(self) -> None:
        self._call_id = f"{sip.token()}@{self.local[0]}"
        self._from_tag = sip.token(4)

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=self.local
        )
        if self.behaviour is not Behaviour.UNREGISTERED:
            await self.register()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._transport is not None:
            self._transport.close()

    # --- SIP ------------------------------------------------------------------------

    async def register(self, expires: int = 3600) -> None:
        """REGISTER, answer the Digest challenge, expect 200."""

        def build(auth: str | None) -> sip.Message:
            self._cseq += 1
            return sip.register(
                extension=self.line.extension,
                domain=self.line.domain,
                local=self.local,
                call_id=self._call_id,
                cseq=self._cseq,
                from_tag=self._from_tag,
                user_agent=self.user_agent,
                expires=expires,
                authorization=auth,
            )

        answer = await self._request(build(None))
        if answer.status == 401:
            challenge = parse_challenge(answer.header("WWW-Authenticate") or "")
            auth = authorization(
                challenge,
                self.line.username,
                self.line.password,
                "REGISTER",
                f"sip:{self.line.domain}",
                cnonce=sip.token(4),
            )
            answer = await self._request(build(auth))
        if answer.status != 200:
            raise AssertionError(f"{self.mac}: REGISTER answered {answer.first_line}")
        self._note(f"registered as {self.user_agent}")

    async def _request(self, message: sip.Message) -> sip.Message:
        assert self._transport is not None
        future: asyncio.Future[sip.Message] = asyncio.get_running_loop().create_future()
        key = message.transaction
        self._pending[key] = future
        data = message.encode()
        deadline = time.monotonic() + _TRANSACTION_S
        wait = _T1_S
        try:
            while True:
                self._transport.sendto(data, self.proxy)
                try:
                    return await asyncio.wait_for(asyncio.shield(future), wait)
                except TimeoutError:
                    if time.monotonic() > deadline:
                        what = message.first_line
                        raise AssertionError(f"{self.mac}: no answer to {what}") from None
                    wait = min(wait * 2, 4.0)
        finally:
            self._pending.pop(key, None)

    def datagram_received(self, data: bytes, addr: tuple[str | bytes | int, ...]) -> None:
        message = sip.parse(data)
        if message.is_response:
            future = self._pending.get(message.transaction)
            if future is not None and not future.done() and message.status >= 200:
                future.set_result(message)
            return
        if message.method == "NOTIFY":
            self._on_notify(message, addr)
        elif message.method == "OPTIONS":
            self._send(sip.reply(message, 200, "OK", to_tag=sip.token(4)), addr)

    def _send(self, message: sip.Message, addr: tuple[str | bytes | int, ...]) -> None:
        assert self._transport is not None
        self._transport.sendto(message.encode(), addr)

    def _on_notify(self, message: sip.Message, addr: tuple[str | bytes | int, ...]) -> None:
        first = message.transaction not in self._seen
        if first:
            self._seen.add(message.transaction)
            self.log.notifies.append(message)
            self._note(f"NOTIFY {message.header('Event')}")
        if self.behaviour is Behaviour.SILENT:
            return
        self._send(sip.reply(message, 200, "OK", to_tag=self._from_tag), addr)
        event = message.header("Event") or ""
        if first and event.startswith("check-sync") and "reboot=true" in event:
            task = asyncio.create_task(self._reboot())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # --- the update -----------------------------------------------------------------

    async def _reboot(self) -> None:
        try:
            installed = None
            if self.behaviour is not Behaviour.NEVER_FETCH:
                installed = await self._fetch_firmware()
            await asyncio.sleep(self.reboot_s)
            self.log.boots += 1
            if installed is not None and self.behaviour is not Behaviour.WRONG_VERSION:
                self.version = installed
            self._new_boot()
            await self.register()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.log.errors.append(repr(e))
            self._note(f"error {e!r}")

    def _ssl(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.prov.cafile))

    async def _fetch_firmware(self) -> str | None:
        """What a Yealink does on check-sync: fetch its config, then the firmware it names;
        retried while provd does not answer (restarting)."""
        if self.fetch_hook is not None:
            return await self.fetch_hook(self)
        deadline = time.monotonic() + self.fetch_retry_s
        while True:
            try:
                return await self._fetch_once()
            except (aiohttp.ClientConnectionError, TimeoutError) as e:
                if time.monotonic() > deadline:
                    raise
                self._note(f"fetch failed ({e!r}); retrying")
                await asyncio.sleep(0.3)

    async def _fetch_once(self) -> str | None:
        async with aiohttp.ClientSession(
            middlewares=(aiohttp.DigestAuthMiddleware(self.prov.username, self.prov.password),),
            connector=aiohttp.TCPConnector(ssl=self._ssl()),
            headers={"User-Agent": self.http_user_agent},
            timeout=aiohttp.ClientTimeout(total=30),
        ) as session:
            async with session.get(f"{self.prov.url}{self.mac}.cfg") as r:
                r.raise_for_status()
                config = await r.text()
            found = _FIRMWARE_URL.search(config)
            if found is None:
                self._note("no firmware URL in the configuration")
                return None
            url = found.group(1)
            async with session.get(url) as r:
                r.raise_for_status()
                image = bytearray()
                async for chunk in r.content.iter_chunked(64 * 1024):
                    image += chunk
            self.log.fetched.append(url)
            self._note(f"fetched {url} ({len(image)} bytes)")
            return version_in(bytes(image))


@contextlib.asynccontextmanager
async def running(phones: Iterable[SimPhone]) -> AsyncIterator[list[SimPhone]]:
    """Start every phone (registering them together), stop them all on the way out."""
    started = list(phones)
    async with contextlib.AsyncExitStack() as stack:
        for phone in started:
            stack.push_async_callback(phone.stop)
        await asyncio.gather(*(phone.start() for phone in started))
        yield started
