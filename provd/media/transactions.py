"""SIP transactions over one UDP socket (RFC 3261 17): retransmissions both ways, and
requests matched to the transactions they belong to.

The user agent above sees each request once: a retransmitted INVITE gets its last
response again, a retransmitted BYE or OPTIONS its response again, the ACK of a failure
and a CANCEL are dealt with here. Responses go back to where their request came from
(symmetric, as RFC 3581 asks of a UDP peer behind a proxy).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from provd.media.dialog import USER_AGENT
from provd.media.sip import (
    BRANCH_COOKIE,
    SipParseError,
    SipRequest,
    SipResponse,
    make_response,
    parse_cseq,
    parse_message,
    parse_name_addr,
    via_branch,
)

log = logging.getLogger(__name__)

T1 = 0.5
"""Round-trip estimate: the first retransmission interval."""
T2 = 4.0
"""The longest retransmission interval of a response or of a non-INVITE request."""
TIMER_B = 64 * T1
"""How long a transaction waits for its answer (Timers B, F, H)."""

Address = tuple[str, int]
UA_HEADER = ("User-Agent", USER_AGENT)


class ServerInvite:
    """An INVITE we received, kept until 32 s after its final response."""

    def __init__(self, key: str, request: SipRequest, source: Address) -> None:
        self.key = key
        self.request = request
        self.source = source
        self.last_response: bytes | None = None
        self.final_status = 0
        self.acked = asyncio.Event()
        """The ACK of a non-2xx final response (the ACK of a 2xx is its own transaction)."""
        self.on_cancel: Callable[[], None] | None = None
        """What the user agent does when a CANCEL comes before the final response."""
        self.to_tag: str | None = None
        """The tag our responses give To (the 200 of a CANCEL has it too)."""


class TransactionUser(Protocol):
    def invite_received(self, tx: ServerInvite) -> None: ...

    def ack_received(self, request: SipRequest) -> None:
        """An ACK of no failure of ours: of a 2xx, or stray."""

    def request_received(self, request: SipRequest) -> SipResponse:
        """Any other new request (not INVITE, ACK or CANCEL): its response."""


class Endpoint:
    """The socket, its transactions, and the tasks and timers they run."""

    address: Address

    def __init__(self, user: TransactionUser) -> None:
        self._user = user
        self._transport: asyncio.DatagramTransport | None = None
        self._server_invites: dict[str, ServerInvite] = {}
        self._server_responses: dict[tuple[str, str], bytes] = {}
        self._client: dict[tuple[str, str], Callable[[SipResponse], None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: set[asyncio.TimerHandle] = set()

    @classmethod
    async def open(cls, host: str, port: int, user: TransactionUser) -> Endpoint:
        endpoint = cls(user)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(endpoint), local_addr=(host, port)
        )
        endpoint._transport = transport
        sockname = transport.get_extra_info("sockname")
        endpoint.address = (str(sockname[0]), int(sockname[1]))
        return endpoint

    # --- as a server ------------------------------------------------------------------

    def server_invites(self) -> list[ServerInvite]:
        return list(self._server_invites.values())

    def respond(self, tx: ServerInvite, response: SipResponse) -> None:
        """A provisional or 2xx response to an INVITE (a 2xx is retransmitted by the user
        agent, until its ACK: see :meth:`until_acked`)."""
        tx.last_response = response.to_bytes()
        if response.status >= 200:
            tx.final_status = response.status
            self._forget_later(tx)
        self.send(tx.last_response, tx.source)

    def fail(self, tx: ServerInvite, response: SipResponse) -> None:
        """A final non-2xx response to an INVITE, retransmitted until its ACK (Timer G),
        32 s at most (Timer H)."""
        self.respond(tx, response)
        self.spawn(self.until_acked(response.to_bytes(), tx.source, tx.acked, asyncio.Event()))

    def _forget_later(self, tx: ServerInvite) -> None:
        """Retransmitted INVITEs get the final response again for 32 s; its ACK too."""
        self.later(TIMER_B, lambda: self._server_invites.pop(tx.key, None))

    async def until_acked(
        self, data: bytes, destination: Address, acked: asyncio.Event, ended: asyncio.Event
    ) -> bool:
        """A response retransmitted (T1 doubling to T2) until ``acked``: True; False when
        ``ended`` came first, or after 32 s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMER_B
        interval = T1
        waits = [asyncio.ensure_future(acked.wait()), asyncio.ensure_future(ended.wait())]
        try:
            while not acked.is_set():
                remaining = deadline - loop.time()
                if ended.is_set() or remaining <= 0:
                    return False
                await asyncio.wait(
                    waits, timeout=min(interval, remaining), return_when=asyncio.FIRST_COMPLETED
                )
                if not acked.is_set() and not ended.is_set():
                    self.send(data, destination)
                interval = min(interval * 2, T2)
            return True
        finally:
            for wait in waits:
                wait.cancel()

    # --- as a client ------------------------------------------------------------------

    def expect(self, request: SipRequest, on_response: Callable[[SipResponse], None]) -> None:
        """Responses to ``request`` (by its branch and method) go to ``on_response``
        until :meth:`forget`."""
        self._client[(via_branch(request) or "", request.method)] = on_response

    def forget(self, request: SipRequest, after_s: float = 0.0) -> None:
        key = (via_branch(request) or "", request.method)
        if after_s:
            self.later(after_s, lambda: self._client.pop(key, None))
        else:
            self._client.pop(key, None)

    async def transact(
        self, request: SipRequest, destination: Address, timeout_s: float = TIMER_B
    ) -> SipResponse | None:
        """A non-INVITE request, retransmitted (T1 doubling to T2) until its final
        response, which it returns; None after ``timeout_s`` (Timer F)."""
        loop = asyncio.get_running_loop()
        final: asyncio.Future[SipResponse] = loop.create_future()

        def on_response(response: SipResponse) -> None:
            if response.status >= 200 and not final.done():
                final.set_result(response)

        self.expect(request, on_response)
        data = request.to_bytes()
        deadline = loop.time() + timeout_s
        interval = T1
        try:
            while True:
                self.send(data, destination)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                with contextlib.suppress(TimeoutError):
                    return await asyncio.wait_for(asyncio.shield(final), min(interval, remaining))
                interval = min(interval * 2, T2)
        finally:
            self.forget(request)

    # --- receiving --------------------------------------------------------------------

    def received(self, data: bytes, source: Address) -> None:
        try:
            message = parse_message(data)
        except SipParseError as e:
            log.debug("dropped %d bytes from %s:%d: %s", len(data), *source, e)
            return
        try:
            if isinstance(message, SipResponse):
                self._on_response(message)
            else:
                log.debug("%s %s from %s:%d", message.method, message.call_id, *source)
                self._on_request(message, source)
        except SipParseError as e:
            log.debug("dropped a message from %s:%d: %s", *source, e)
        except Exception:
            # One peer's odd message must not stop the others' calls.
            log.exception("failed on a message from %s:%d", *source)

    def _on_response(self, response: SipResponse) -> None:
        _, method = parse_cseq(response.headers.get("CSeq") or "")
        handler = self._client.get((via_branch(response) or "", method))
        if handler is None:
            log.debug("stray %d response (%s)", response.status, response.call_id)
            return
        handler(response)

    def _on_request(self, request: SipRequest, source: Address) -> None:
        method = request.method
        key = _server_key(request)
        if method == "ACK":
            tx = self._server_invites.get(key)
            if tx is not None and tx.final_status >= 300:
                tx.acked.set()
            else:
                self._user.ack_received(request)
            return
        if method == "INVITE":
            tx = self._server_invites.get(key)
            if tx is None:
                tx = self._server_invites[key] = ServerInvite(key, request, source)
                self._user.invite_received(tx)
            elif tx.last_response is not None:
                self.send(tx.last_response, source)
            return
        sent = self._server_responses.get((key, method))
        if sent is not None:
            self.send(sent, source)
            return
        if method == "CANCEL":
            self._on_cancel(request, key, source)
        else:
            self._reply(request, self._user.request_received(request), key, source)

    def _on_cancel(self, request: SipRequest, key: str, source: Address) -> None:
        """RFC 3261 9.2: a 200 to the CANCEL; the INVITE, if still without a final
        response, is the user agent's to end (with a 487)."""
        tx = self._server_invites.get(key)
        if tx is None:
            response = make_response(
                request, 481, "Call/Transaction Does Not Exist", extra_headers=(UA_HEADER,)
            )
            self._reply(request, response, key, source)
            return
        ok = make_response(request, 200, "OK", to_tag=tx.to_tag, extra_headers=(UA_HEADER,))
        self._reply(request, ok, key, source)
        if tx.final_status == 0 and tx.on_cancel is not None:
            tx.on_cancel()

    def _reply(self, request: SipRequest, response: SipResponse, key: str, source: Address) -> None:
        """A response to a non-INVITE request, kept 32 s for its retransmissions."""
        data = response.to_bytes()
        cache_key = (key, request.method)
        self._server_responses[cache_key] = data
        self.later(TIMER_B, lambda: self._server_responses.pop(cache_key, None))
        self.send(data, source)

    # --- the socket, tasks and timers -------------------------------------------------

    def send(self, data: bytes, destination: Address) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        host, port = destination
        if _is_ip(host):
            transport.sendto(data, (host, port))
        else:
            self.spawn(self._send_resolved(data, host, port))

    async def _send_resolved(self, data: bytes, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except OSError as e:
            log.warning("cannot resolve %s: %s", host, e)
            return
        address = infos[0][4]
        self.send(data, (str(address[0]), int(address[1])))

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A task of the endpoint's, cancelled by :meth:`close`."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("SIP task failed", exc_info=task.exception())

    def later(self, delay: float, callback: Callable[[], object]) -> None:
        handle: asyncio.TimerHandle | None = None

        def run() -> None:
            self._timers.discard(handle)
            callback()

        handle = asyncio.get_running_loop().call_later(delay, run)
        self._timers.add(handle)

    async def close(self) -> None:
        """Cancels the tasks and timers, then closes the socket."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        if self._transport is not None:
            self._transport.close()


def _server_key(request: SipRequest) -> str:
    """What ties a request to its transaction: the top Via's branch (an INVITE, its
    retransmissions, its CANCEL and the ACK of a non-2xx share it), or for an old-style
    branch the Call-ID, CSeq number and From tag."""
    branch = via_branch(request)
    if branch and branch.startswith(BRANCH_COOKIE):
        return branch
    number, _ = parse_cseq(request.headers.get("CSeq") or "")
    tag = parse_name_addr(request.headers.get("From") or "").tag
    return f"{request.call_id} {number} {tag}"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._endpoint.received(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        # An ICMP port-unreachable from a peer that went away; retransmissions cope.
        log.debug("socket error: %s", exc)
