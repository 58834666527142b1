"""A lean HTTP/1.1 path for the files phones fetch, in front of aiohttp on the same socket.

In a boot storm about a sixth of provd's Python time went to aiohttp's application
layer for requests that need none of it (its Request and Response objects, the
middlewares, the router, the response signals; bench/README.md). :class:`PhoneLane`
is the protocol a connection starts with (``web/connections`` creates it after TLS):
it answers a plain ``GET /<file>`` for a phone's configuration file itself, with
:meth:`Provisioner.serve <provd.services.provisioning.Provisioner.serve>` as the
route's handler does, and hands the connection to aiohttp's request handler, with the
bytes it has read and not answered, at the first request it does not take: the API,
the console, firmware, HEAD, HTTP/1.0, a request with a body, anything unusual or
malformed. From then on the connection is aiohttp's.

What the lane sends is what aiohttp sends for the same request: the same status line,
headers in the same order (``Server``, the worker's header under ``serve
--workers``), ``Connection: close`` when asked, the same 500 when the handler
raises; the same metrics, and the same keep-alive timeout. Requests are parsed with
aiohttp's own parser, so a head aiohttp would refuse is handed to aiohttp, which
refuses it as it always did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import cast

from aiohttp import hdrs, web
from aiohttp.http import HttpRequestParser, HttpVersion11

from provd.services import metrics
from provd.services.metrics import RouteClass
from provd.services.provisioning import PhoneRequest, PhoneResponse, Provisioner
from provd.web.app_keys import PROVISIONER, WORKER_INDEX
from provd.web.workers import WORKER_HEADER

# aiohttp's own logger for a handler's failure, so the log reads as it did.
_server_log = logging.getLogger("aiohttp.server")

# The phone route's pattern (web/phone.add_routes), on the raw target: with nothing
# percent-encoded and no query, the raw target is the path the router would match.
_PHONE_TARGET = re.compile(r"/[A-Za-z0-9._-]{1,64}")
# Longer heads go to aiohttp, whose limits (8190 bytes a line) then apply as before.
_MAX_HEAD = 8190
# Pipelined bytes kept while a request is answered before the client is paused.
_MAX_PENDING = 64 * 1024
_GET = b"GET /"
PHONE_ROUTE = "phone-file"
"""The name of the route (web/phone) whose requests the lane answers."""
# What aiohttp answers when a handler raises (web_protocol.handle_error).
_FAILED = PhoneResponse(
    500,
    f"500 {HTTPStatus.INTERNAL_SERVER_ERROR.phrase}\n\n"
    f"{HTTPStatus.INTERNAL_SERVER_ERROR.description}".encode(),
    content_type="text/plain; charset=utf-8",
)


@dataclass(frozen=True, slots=True)
class PhoneFront:
    """What every connection's lane needs from the application."""

    provisioner: Provisioner
    reserved: frozenset[str]
    """One-segment paths another route takes (``/login``, ``/healthz``...)."""
    keepalive_seconds: float
    trailer: bytes
    """The headers aiohttp's response signals add after ``Server`` (the worker's)."""


def phone_front(app: web.Application, keepalive_seconds: float) -> PhoneFront | None:
    """The lanes' view of ``app``; None for an application without the phone route.

    Raises ValueError if another route could take a one-segment path (the lane could
    not tell its requests from a phone's)."""
    reserved = set()
    phone_route = False
    for resource in app.router.resources():
        canonical = resource.canonical
        if resource.name == PHONE_ROUTE:
            phone_route = True
        elif isinstance(resource, (web.PlainResource, web.StaticResource)):
            # aiohttp's router tries these before the phone route, whatever the order.
            if _PHONE_TARGET.fullmatch(canonical):
                reserved.add(canonical)
        elif canonical.startswith("/{") or canonical.count("/") < 2:
            raise ValueError(f"route {canonical!r} may take a phone's file name")
    if not phone_route or PROVISIONER not in app:
        return None
    worker = app.get(WORKER_INDEX)
    trailer = f"{WORKER_HEADER}: {worker}\r\n".encode() if worker is not None else b""
    return PhoneFront(
        provisioner=app[PROVISIONER],
        reserved=frozenset(reserved),
        keepalive_seconds=keepalive_seconds,
        trailer=trailer,
    )


class _Date:
    """The Date header's value, formatted once a second as aiohttp does."""

    second = 0
    text = ""

    @classmethod
    def now(cls) -> str:
        second = int(time.time())
        if second != cls.second:
            cls.second, cls.text = second, formatdate(second, usegmt=True)
        return cls.text


def _head(reply: PhoneResponse, close: bool, trailer: bytes) -> bytes:
    """Status line and headers, in aiohttp's order for a ``web.Response`` built by
    web/phone._response and prepared by web/app's signals."""
    status = HTTPStatus(reply.status)
    lines = [f"HTTP/1.1 {reply.status} {status.phrase}\r\nContent-Type: {reply.content_type}\r\n"]
    lines.extend(f"{name}: {value}\r\n" for name, value in reply.headers)
    lines.append(f"Content-Length: {len(reply.body)}\r\nDate: {_Date.now()}\r\nServer: provd\r\n")
    if close:
        lines.append("Connection: close\r\n")
    return "".join(lines).encode() + trailer + b"\r\n"


class PhoneLane(asyncio.Protocol):
    """One connection's protocol: phones' GETs here, the rest to aiohttp's handler."""

    def __init__(
        self,
        front: PhoneFront,
        make_handler: Callable[[], asyncio.Protocol],
        client: str | None,
        lanes: set[PhoneLane],
    ) -> None:
        self._front = front
        self._make_handler = make_handler
        self._client = client
        self._lanes = lanes
        self._transport: asyncio.Transport | None = None
        self._handler: asyncio.Protocol | None = None
        """aiohttp's, once the connection was handed over."""
        self._parser: HttpRequestParser | None = None
        self._buffer = bytearray()
        self._answering: asyncio.Task[None] | None = None
        self._keepalive: asyncio.TimerHandle | None = None
        self._write_paused = False
        self._writable: asyncio.Future[None] | None = None
        self._read_paused = False
        self._closing = False
        """The server stops: no request after the one being answered."""

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._lanes.add(self)

    def data_received(self, data: bytes) -> None:
        if self._handler is not None:
            self._handler.data_received(data)
            return
        self._buffer += data
        if self._answering is None:
            self._next()
        elif len(self._buffer) > _MAX_PENDING and not self._read_paused:
            assert self._transport is not None
            self._read_paused = True
            self._transport.pause_reading()

    def eof_received(self) -> bool | None:
        if self._handler is not None:
            return self._handler.eof_received()
        # As aiohttp's handler: the transport closes; an answer being made is lost.
        return None

    def pause_writing(self) -> None:
        self._write_paused = True
        if self._handler is not None:
            self._handler.pause_writing()

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._handler is not None:
            self._handler.resume_writing()
        elif self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lanes.discard(self)
        self._stop_keepalive()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        if self._handler is not None:
            self._handler.connection_lost(exc)
        # An answer being made is not cancelled (nor is aiohttp's handler): its fetch
        # notes are still written.

    # The server stopping

    async def shutdown(self, timeout: float) -> None:
        """Let the answer being made finish (within ``timeout``), then close; a
        connection already aiohttp's is closed by aiohttp's own shutdown."""
        if self._handler is not None or self._transport is None:
            return
        self._closing = True
        answering = self._answering
        if answering is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(answering), timeout)
        if self._handler is None:
            self._transport.close()

    # Requests

    def _next(self) -> None:
        """Answer the next complete request in the buffer, or hand it over."""
        if self._closing or self._transport is None or self._transport.is_closing():
            return
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            # Not (yet) a whole head: keep waiting only while it can still be a
            # phone's GET, so uploads and the like reach aiohttp as they come in.
            # A bare LF may end a head for aiohttp's parser, never for this search.
            start = bytes(buffer[: len(_GET)])
            if buffer and (
                not _GET.startswith(start)
                or len(buffer) > _MAX_HEAD
                or buffer.count(b"\n") != buffer.count(b"\r\n")
            ):
                self._hand_over()
            return
        size = end + 4
        request = self._phone_request(bytes(buffer[:size])) if size <= _MAX_HEAD else None
        if request is None:
            self._hand_over()
            return
        del buffer[:size]
        self._stop_keepalive()
        self._answering = asyncio.get_running_loop().create_task(self._answer(*request))

    def _phone_request(self, head: bytes) -> tuple[PhoneRequest, bool] | None:
        """The request and whether to keep the connection, if it is the lane's."""
        if not head.startswith(_GET):
            return None
        if self._parser is None:
            assert self._transport is not None
            self._parser = HttpRequestParser(
                None, asyncio.get_running_loop(), 2**16, max_line_size=_MAX_HEAD
            )
        try:
            messages, upgraded, tail = self._parser.feed_data(head)
        except Exception:
            # Whatever the parser objects to, aiohttp's handler decides (a head it
            # refuses raises HttpProcessingError there too, and is answered 400).
            self._parser = None
            return None
        if len(messages) != 1 or upgraded or tail:
            self._parser = None
            return None
        message = messages[0][0]
        path = message.path
        headers = message.headers
        if (
            message.method != hdrs.METH_GET
            or message.version != HttpVersion11
            or message.upgrade
            or message.chunked
            or hdrs.CONTENT_LENGTH in headers
            or hdrs.TRANSFER_ENCODING in headers
            or hdrs.EXPECT in headers
            or not _PHONE_TARGET.fullmatch(path)
            or path in ("/.", "/..")  # the router normalises these away
            or path in self._front.reserved
        ):
            self._parser = None  # it may be waiting for a body
            return None
        request = PhoneRequest(
            filename=path[1:],
            method=message.method,
            uri=path,
            client_ip=self._client_ip(),
            user_agent=headers.get(hdrs.USER_AGENT, ""),
            authorization=headers.get(hdrs.AUTHORIZATION),
        )
        return request, not message.should_close

    def _client_ip(self) -> str:
        # As web/phone.client_ip: the client a trusted balancer named, else the peer.
        if self._client is not None:
            return self._client
        assert self._transport is not None
        peer = self._transport.get_extra_info("peername")
        return str(peer[0]) if peer else "unknown"

    async def _answer(self, request: PhoneRequest, keep_alive: bool) -> None:
        started = time.perf_counter()
        try:
            reply = await self._front.provisioner.serve(request)
        except Exception as e:
            _server_log.exception("Error handling request from %s", self._peer(), exc_info=e)
            reply, keep_alive = _FAILED, False
        metrics.http_request(RouteClass.PHONE, reply.status)
        if reply.status == 200:
            metrics.phone_fetch(time.perf_counter() - started)
        transport = self._transport
        assert transport is not None
        if transport.is_closing():
            return  # the client left (or sent EOF) while its answer was made, as in aiohttp
        # One write: head and body leave in one TLS record where they fit.
        transport.write(_head(reply, not keep_alive, self._front.trailer) + reply.body)
        if not keep_alive:
            transport.close()
            return
        if self._write_paused and not transport.is_closing():
            self._writable = asyncio.get_running_loop().create_future()
            await self._writable
            self._writable = None
        self._answering = None
        if self._closing:
            return
        self._keepalive = asyncio.get_running_loop().call_later(
            self._front.keepalive_seconds, self._idle
        )
        if self._read_paused:
            self._read_paused = False
            transport.resume_reading()
        self._next()

    def _peer(self) -> str | None:
        assert self._transport is not None
        peer = self._transport.get_extra_info("peername")
        return str(peer[0]) if peer else None

    def _idle(self) -> None:
        # aiohttp's keep-alive: a connection with no new request in time is closed.
        self._keepalive = None
        if self._transport is not None and self._answering is None and self._handler is None:
            self._transport.close()

    def _stop_keepalive(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None

    def _hand_over(self) -> None:
        """From now on aiohttp serves this connection, from the start of the request
        the lane did not take."""
        assert self._transport is not None
        self._stop_keepalive()
        self._parser = None
        handler = self._handler = self._make_handler()
        self._lanes.discard(self)
        handler.connection_made(self._transport)
        if self._write_paused:
            handler.pause_writing()
        if self._read_paused:
            self._read_paused = False
            self._transport.resume_reading()
        data, self._buffer = bytes(self._buffer), bytearray()
        if data:
            handler.data_received(data)
