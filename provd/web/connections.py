"""Listening sockets that do not let idle or half-open clients hold connections.

aiohttp's own ``TCPSite`` hands TLS to ``loop.create_server``, which creates the
application protocol before it knows the peer, and keeps a connection that never
completes its request for the keep-alive time (about an hour by default). One
laptop opening a thousand idle TLS connections then exhausts the process's file
descriptors and phones cannot connect.

:class:`GuardedSite` listens on plain TCP and puts a small protocol in front of
aiohttp's request handler for each connection:

- it knows the peer at accept time, so it can refuse a source that already holds
  ``max_per_client`` connections before spending anything on TLS;
- it runs the TLS handshake itself with ``loop.start_tls``, which bounds it by
  ``ssl_handshake_timeout`` (public asyncio API; ``TCPSite`` offers no such knob);
- it bounds the time from connect to the end of the first request head. After a
  response, aiohttp's keep-alive timer closes a connection whose next head has
  not arrived in ``keepalive_timeout``, so only the first head needs this.

The end of the first head is found by watching for its empty line, rather than by
asking aiohttp's parser: the first bytes of a connection are always the start of
its first request (RFC 9112, section 2.1), so the first empty line after the
request line ends that head exactly, and this needs nothing private from aiohttp.

Given the application's phone front (``start_sites`` gives it), the protocol behind this one
is the phone lane (``web/phone_lane``), which answers phones' GETs itself and hands the
connection to aiohttp's handler at the first request it does not take.

Behind a TCP balancer (``proxy_protocol_from``), a connection from the balancer starts
with a PROXY protocol header naming the client (``web/proxy_protocol``): it is read
first, within the handshake's time, and the client it names is the one counted,
throttled and recorded (:func:`client_of`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from aiohttp import web

from provd.security.ratelimit import client_key
from provd.web import proxy_protocol
from provd.web.phone_lane import PhoneFront, PhoneLane
from provd.web.workers import LISTEN_BACKLOG

log = logging.getLogger("provd.connections")


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    tls_handshake_seconds: float = 10.0
    request_head_seconds: float = 10.0
    """From connect (after TLS) to the end of the first request head."""
    max_per_client: int = 100
    """Concurrent connections from one address (IPv6: one /64)."""
    proxy_protocol_from: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    """Balancers whose connections start with a PROXY protocol header naming the client."""


# The client a PROXY header named, by the transport aiohttp was handed.
_CLIENTS: dict[asyncio.BaseTransport, str] = {}


def client_of(transport: asyncio.BaseTransport) -> str | None:
    """The client's address when a trusted balancer named it; None otherwise (then the
    peer address is the client's)."""
    return _CLIENTS.get(transport)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class ConnectionGuard:
    """Counts open connections per source; shared by the sites of one server."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._open: dict[str, int] = {}
        self._refusing: set[str] = set()

    def open_from(self, key: str) -> int:
        return self._open.get(key, 0)

    def sends_proxy_header(self, peer: str) -> bool:
        address = _address(peer)
        return address is not None and any(
            address in network for network in self.limits.proxy_protocol_from
        )

    def admit(self, key: str) -> bool:
        count = self._open.get(key, 0)
        if count >= self.limits.max_per_client:
            if key not in self._refusing:
                # Once per episode: a flood must not turn into a flood of log lines.
                self._refusing.add(key)
                log.warning("refusing connections from %s: it already holds %d", key, count)
            return False
        self._open[key] = count + 1
        return True

    def release(self, key: str) -> None:
        count = self._open.get(key, 0) - 1
        if count > 0:
            self._open[key] = count
        else:
            self._open.pop(key, None)
        if count < self.limits.max_per_client:
            self._refusing.discard(key)


_MAX_EARLY_BYTES = 1024 * 1024
# aiohttp's runner waits this long for requests being answered when the server stops.
_SHUTDOWN_SECONDS = 60.0


class _Connection(asyncio.Protocol):
    """The transport's protocol for the connection's life: admission, TLS, the head
    timer; everything else is passed to aiohttp's handler unchanged."""

    def __init__(
        self,
        guard: ConnectionGuard,
        make_handler: Callable[[], asyncio.Protocol],
        ssl_context: ssl.SSLContext | None,
        handshakes: set[asyncio.Task[None]],
        front: PhoneFront | None = None,
        lanes: set[PhoneLane] | None = None,
    ) -> None:
        self._guard = guard
        self._handshakes = handshakes
        self._front = front
        self._lanes = lanes if lanes is not None else set()
        self._make_handler = make_handler
        self._ssl_context = ssl_context
        self._key: str | None = None
        self._transport: asyncio.Transport | None = None
        self._handler: asyncio.Protocol | None = None
        self._early: list[bytes] = []
        self._early_eof = False
        self._lost = False
        self._overflow = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._seen_request_line = False
        self._tail = b""
        self._hello: list[bytes] = []
        self._hello_eof = False
        self._tls_started = False
        self._proxy_header: bytearray | None = None
        """Set while the balancer's PROXY header is being read."""
        self._proxy_timer: asyncio.TimerHandle | None = None
        self._raw: asyncio.Transport | None = None
        self._client: str | None = None
        """The client a PROXY header named."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: uvloop's transports are not asyncio.Transport's.
        transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "unknown"
        if self._guard.sends_proxy_header(address):
            # Nothing is admitted or counted until the header names the client.
            self._raw, self._proxy_header = transport, bytearray()
            self._proxy_timer = asyncio.get_running_loop().call_later(
                self._guard.limits.tls_handshake_seconds, self._proxy_timeout
            )
            return
        self._admit(transport, address)

    def _proxy_timeout(self) -> None:
        self._proxy_timer = None
        if self._raw is not None and not self._lost:
            log.debug("closing a connection from a balancer: no PROXY header in time")
            self._raw.abort()

    def _take_proxy_header(self, data: bytes) -> None:
        assert self._proxy_header is not None and self._raw is not None
        self._proxy_header += data
        try:
            length = proxy_protocol.header_length(bytes(self._proxy_header))
            if length is None:
                if len(self._proxy_header) >= proxy_protocol.MAX_HEADER:
                    raise proxy_protocol.ProxyHeaderError("PROXY header too long")
                return
            header = bytes(self._proxy_header[:length])
            client = proxy_protocol.client_address(header)
        except proxy_protocol.ProxyHeaderError as e:
            log.warning("closing a connection from a balancer: %s", e)
            self._raw.abort()
            return
        rest, self._proxy_header = bytes(self._proxy_header[length:]), None
        if self._proxy_timer is not None:
            self._proxy_timer.cancel()
            self._proxy_timer = None
        peer = self._raw.get_extra_info("peername")
        # LOCAL (the balancer's own health check): the balancer is the client.
        self._client = client or (str(peer[0]) if peer else "unknown")
        self._admit(self._raw, self._client, rest)

    def _admit(self, transport: asyncio.Transport, address: str, early: bytes = b"") -> None:
        """Count the connection against its client, then TLS (or plain HTTP); ``early``
        is what followed a PROXY header in the same read."""
        key = client_key(address)
        if not self._guard.admit(key):
            transport.abort()
            return
        self._key = key
        if self._ssl_context is None:
            if early:
                self._early.append(early)
            self._attach(transport)
            return
        if early:
            self._hello.append(early)
        # Nothing should reach this protocol before start_tls takes the transport over.
        # asyncio keeps this pause; uvloop starts reading when connection_made returns
        # whatever it did, so there the client's first bytes may come here first.
        transport.pause_reading()
        task = asyncio.get_running_loop().create_task(self._handshake(transport, self._ssl_context))
        # aiohttp knows a connection only once it is handed over; until then the site
        # must be able to end it on shutdown.
        self._handshakes.add(task)
        task.add_done_callback(self._handshakes.discard)

    async def _handshake(self, raw: asyncio.Transport, context: ssl.SSLContext) -> None:
        loop = asyncio.get_running_loop()
        seconds = self._guard.limits.tls_handshake_seconds
        if self._lost or raw.is_closing():
            self._release()
            return
        starting = loop.create_task(
            loop.start_tls(
                raw,
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=seconds,
                # A client that ignores close_notify must not hold the socket for
                # asyncio's default 30 s either.
                ssl_shutdown_timeout=seconds,
            )
        )
        try:
            await self._hand_over_hello(raw)
            tls = await starting
        except (OSError, EOFError) as e:
            starting.cancel()
            # Scanners, wrong protocols and clients that never finish: not news.
            log.debug("TLS handshake with %s failed: %s", self._key, e)
            raw.abort()
            self._release()
            return
        except BaseException:
            starting.cancel()
            raw.abort()
            self._release()
            raise
        if tls is None or self._lost or self._overflow:
            raw.abort()
            self._release()
            return
        self._attach(tls)

    async def _hand_over_hello(self, raw: asyncio.Transport) -> None:
        """Give start_tls's protocol the bytes that came here before it took over.

        start_tls puts its protocol on the transport in its first step, which runs
        before this coroutine continues (both were scheduled in this order, and a loop
        runs what is ready in order, reading no socket in between); from then on the
        socket's bytes go there, after these.
        """
        while raw.get_protocol() is self:
            if raw.is_closing():
                return
            await asyncio.sleep(0)
        self._tls_started = True
        protocol = raw.get_protocol()
        hello, self._hello = b"".join(self._hello), []
        while hello:
            if hasattr(protocol, "buffer_updated"):  # both loops' TLS protocols are
                buffered = cast(asyncio.BufferedProtocol, protocol)
                buffer = memoryview(buffered.get_buffer(len(hello)))
                n = min(len(buffer), len(hello))
                buffer[:n] = hello[:n]
                buffered.buffer_updated(n)
                hello = hello[n:]
            else:
                cast(asyncio.Protocol, protocol).data_received(hello)
                hello = b""
        if self._hello_eof:
            raise EOFError("the client closed before its TLS handshake")

    def _attach(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        if self._client is not None:
            _CLIENTS[transport] = self._client
        self._head_timer = asyncio.get_running_loop().call_later(
            self._guard.limits.request_head_seconds, self._head_timeout
        )
        if self._front is not None:
            # Phones' files are answered before aiohttp's application layer; anything
            # else reaches aiohttp's handler through the lane (web/phone_lane).
            self._handler = PhoneLane(self._front, self._make_handler, self._client, self._lanes)
        else:
            self._handler = self._make_handler()
        self._handler.connection_made(transport)
        early, self._early = self._early, []
        for data in early:
            self.data_received(data)
        if self._early_eof:
            self.eof_received()

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self._transport is not None and not self._lost:
            log.debug("closing a connection from %s: no complete request head in time", self._key)
            self._transport.abort()

    def _watch_head(self, data: bytes) -> None:
        if not self._seen_request_line:
            # Empty lines before the request line are allowed and ignored.
            data = data.lstrip(b"\r\n")
            if not data:
                return
            self._seen_request_line = True
        text = self._tail + data
        if b"\r\n\r\n" in text or b"\n\n" in text:
            assert self._head_timer is not None
            self._head_timer.cancel()
            self._head_timer = None
            self._tail = b""
        else:
            self._tail = text[-3:]

    def data_received(self, data: bytes) -> None:
        if self._proxy_header is not None:
            self._take_proxy_header(data)
            return
        if self._ssl_context is not None and not self._tls_started:
            # Before start_tls took over (uvloop): the start of the TLS handshake.
            if sum(map(len, self._hello)) + len(data) > _MAX_EARLY_BYTES:
                self._overflow = True
                return
            self._hello.append(data)
            return
        if self._handler is None:
            # TLS application data may follow the handshake before _attach runs.
            if sum(map(len, self._early)) + len(data) > _MAX_EARLY_BYTES:
                self._overflow = True
                return
            self._early.append(data)
            return
        if self._head_timer is not None:
            self._watch_head(data)
        self._handler.data_received(data)

    def eof_received(self) -> bool | None:
        if self._proxy_header is not None:
            return False  # closed before its header: nothing to serve
        if self._ssl_context is not None and not self._tls_started:
            self._hello_eof = True
            return True
        if self._handler is None:
            self._early_eof = True
            return True
        return self._handler.eof_received()

    def pause_writing(self) -> None:
        if self._handler is not None:
            self._handler.pause_writing()

    def resume_writing(self) -> None:
        if self._handler is not None:
            self._handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if self._proxy_timer is not None:
            self._proxy_timer.cancel()
            self._proxy_timer = None
        if self._transport is not None:
            _CLIENTS.pop(self._transport, None)
        self._release()
        if self._handler is not None:
            self._handler.connection_lost(exc)

    def _release(self) -> None:
        if self._key is not None:
            self._guard.release(self._key)
            self._key = None


class GuardedSite(web.BaseSite):
    """Like ``web.TCPSite``, with the bounds of :class:`ConnectionLimits`; on ``sock``,
    a listening socket made by someone else (``serve --workers``), if given."""

    __slots__ = (
        "_bound_port",
        "_front",
        "_guard",
        "_handshakes",
        "_host",
        "_lanes",
        "_port",
        "_sock",
    )

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        guard: ConnectionGuard,
        *,
        ssl_context: ssl.SSLContext | None = None,
        backlog: int = LISTEN_BACKLOG,
        sock: socket.socket | None = None,
        front: PhoneFront | None = None,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._host = host
        self._port = port
        self._guard = guard
        self._bound_port = port
        self._sock = sock
        self._handshakes: set[asyncio.Task[None]] = set()
        self._front = front
        self._lanes: set[PhoneLane] = set()

    @property
    def port(self) -> int:
        return self._bound_port

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host}:{self._bound_port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        guard, context, handshakes = self._guard, self._ssl_context, self._handshakes
        front, lanes = self._front, self._lanes
        loop = asyncio.get_running_loop()
        if self._sock is not None:
            self._server = await loop.create_server(
                lambda: _Connection(guard, server, context, handshakes, front, lanes),
                sock=self._sock,
                backlog=self._backlog,
            )
        else:
            self._server = await loop.create_server(
                lambda: _Connection(guard, server, context, handshakes, front, lanes),
                self._host,
                self._port,
                backlog=self._backlog,
            )
        if self._server.sockets:
            self._bound_port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        await super().stop()
        pending = list(self._handshakes)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        # aiohttp's shutdown (next) ends the connections it was handed; the lanes' own
        # are ended here, each after the answer it is making, as aiohttp does.
        await asyncio.gather(
            *(lane.shutdown(_SHUTDOWN_SECONDS) for lane in list(self._lanes)),
            return_exceptions=True,
        )
