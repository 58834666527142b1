"""A minimal SIP user agent over UDP, for calls Kamailio sends us and calls we place back
through it (RFC 3261's transactions and dialogs, as far as those need).

Kamailio in front does authentication, NAT and registrations, and record-routes; this
side only answers, rejects, places and ends calls. Responses go back to where their
request came from (symmetric, as RFC 3581 asks of a UDP peer behind the proxy).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from provd.media.dialog import (
    USER_AGENT,
    Dialog,
    ack_or_cancel,
    contact_uri,
    invite_request,
    uac_dialog,
    uas_dialog,
)
from provd.media.sip import (
    BRANCH_COOKIE,
    SipParseError,
    SipRequest,
    SipResponse,
    format_name_addr,
    make_response,
    new_call_id,
    new_tag,
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
CLOSE_BOUND_S = 4.0
"""How long close() waits for the BYEs of the calls still up."""

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"
_KNOWN_METHODS = frozenset(
    {"REGISTER", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "INFO", "UPDATE", "PRACK", "PUBLISH"}
)
_UA = ("User-Agent", USER_AGENT)

Address = tuple[str, int]
OnInvite = Callable[["IncomingCall"], Awaitable[None]]


class CallFailed(Exception):
    """Our INVITE got a final non-2xx response, or none in time (408)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


class CallEnded(Exception):
    """The call is over: the caller cancelled or hung up, or never acknowledged our answer."""


class _Call:
    """What both directions share once a dialog exists: ending it."""

    def __init__(self, ua: UserAgent, call_id: str) -> None:
        self._ua = ua
        self.call_id = call_id
        self.ended = asyncio.Event()
        self._dialog: Dialog | None = None
        self._acks: dict[int, asyncio.Event] = {}
        self._hangup: asyncio.Future[None] | None = None

    async def hang_up(self) -> None:
        """BYE, waiting for its final response (retransmitting) for at most 32 s."""
        if self.ended.is_set() or self._dialog is None:
            return
        if self._hangup is None:
            self._hangup = asyncio.ensure_future(self._ua._bye(self, self._dialog))
        await asyncio.shield(self._hangup)

    def _end(self, why: str) -> None:
        if not self.ended.is_set():
            log.info("call %s ended: %s", self.call_id, why)
            self.ended.set()
        if self._dialog is not None:
            self._ua._dialogs.pop(_dialog_key(self._dialog), None)


class _ServerInvite:
    """An INVITE we received, until its final response is acknowledged or expires."""

    def __init__(self, key: str, request: SipRequest, source: Address) -> None:
        self.key = key
        self.request = request
        self.source = source
        self.last_response: bytes | None = None
        self.final_status = 0
        self.acked = asyncio.Event()
        """The ACK of a non-2xx final response (the ACK of a 2xx is its own transaction)."""
        self.call: IncomingCall | None = None


class IncomingCall(_Call):
    """A call Kamailio sent us. The application rings, answers or rejects it."""

    def __init__(self, ua: UserAgent, tx: _ServerInvite) -> None:
        invite = tx.request
        super().__init__(ua, invite.call_id)
        self._tx = tx
        self._local_tag = new_tag()
        caller = parse_name_addr(invite.headers.get("From") or "")
        self.invite = invite
        self.from_display = caller.display
        self.from_uri = caller.uri
        self.to_uri = parse_name_addr(invite.headers.get("To") or "").uri
        self.request_uri = invite.uri
        self.offer = invite.body

    def _contact(self) -> tuple[str, str]:
        host, port = self._ua.address
        return ("Contact", format_name_addr(f"sip:{host}:{port}"))

    async def ring(self) -> None:
        """180 Ringing (nothing once a final response went out)."""
        if self.ended.is_set():
            raise CallEnded("the caller is gone")
        if self._tx.final_status:
            return
        response = make_response(
            self.invite,
            180,
            "Ringing",
            to_tag=self._local_tag,
            extra_headers=(self._contact(), _UA),
        )
        self._ua._respond(self._tx, response)

    async def answer(self, sdp: bytes) -> None:
        """200 OK with ``sdp``, retransmitted until the caller's ACK (RFC 3261 13.3.1.4).

        Raises CallEnded if the caller cancelled or hung up first, or if no ACK came in
        32 s (then the call is ended with a BYE)."""
        if self.ended.is_set():
            raise CallEnded("the caller is gone")
        if self._tx.final_status:
            raise RuntimeError(f"call {self.call_id} already has a final response")
        self._dialog = dialog = uas_dialog(self.invite, self._local_tag, sdp)
        self._ua._dialogs[_dialog_key(dialog)] = self
        cseq, _ = parse_cseq(self.invite.headers.get("CSeq") or "")
        acked = self._acks.setdefault(cseq, asyncio.Event())
        response = make_response(
            self.invite,
            200,
            "OK",
            to_tag=self._local_tag,
            body=sdp,
            content_type="application/sdp",
            extra_headers=(self._contact(), ("Allow", ALLOW), _UA),
        )
        self._tx.final_status = 200
        self._ua._respond(self._tx, response)
        self._ua._forget_later(self._tx)
        log.info("call %s answered", self.call_id)
        if await self._ua._until_acked(response.to_bytes(), self._tx.source, acked, self.ended):
            return
        if self.ended.is_set():
            raise CallEnded("the caller hung up before acknowledging the answer")
        log.warning("call %s: no ACK for our 200 in %.0f s, hanging up", self.call_id, TIMER_B)
        await self.hang_up()
        raise CallEnded("no ACK for the answer")

    async def reject(self, status: int, reason: str) -> None:
        """A final non-2xx response (retransmitted until the ACK, in the background)."""
        if self.ended.is_set() or self._tx.final_status:
            return
        response = make_response(
            self.invite, status, reason, to_tag=self._local_tag, extra_headers=(_UA,)
        )
        self._ua._final_non_2xx(self._tx, response)
        self._end(f"rejected with {status}")

    async def hang_up(self) -> None:
        """BYE once answered; before that, a 480 (nobody took the call)."""
        if self._dialog is None:
            await self.reject(480, "Temporarily Unavailable")
            return
        await super().hang_up()


class OutgoingCall(_Call):
    """A call we placed that was answered."""

    def __init__(self, ua: UserAgent, dialog: Dialog, answer: bytes) -> None:
        super().__init__(ua, dialog.call_id)
        self._dialog = dialog
        self.answer = answer


class _ClientInvite:
    """Our INVITE: its responses, ACKs, and its CANCEL if the caller gives up."""

    def __init__(self, ua: UserAgent, invite: SipRequest, destination: Address) -> None:
        self.ua = ua
        self.invite = invite
        self.destination = destination
        self.responses: asyncio.Queue[SipResponse] = asyncio.Queue()
        self.provisional = False
        self.final: SipResponse | None = None
        self.call: OutgoingCall | None = None
        self.abandoned = False
        self.cancel_sent = False
        self.acks: dict[str, tuple[bytes, Address]] = {}
        """ACK of each 2xx by the answering side's tag, sent again for its retransmissions."""

    def on_response(self, response: SipResponse) -> None:
        if response.status < 200:
            self.provisional = True
            if self.abandoned:
                self.cancel()
            self.responses.put_nowait(response)
        elif response.status < 300:
            self._on_2xx(response)
        else:
            ack = ack_or_cancel(self.invite, "ACK", response.headers.get("To") or "")
            self.ua._send(ack.to_bytes(), self.destination)
            if self.final is None:
                self.final = response
                self.responses.put_nowait(response)

    def _on_2xx(self, response: SipResponse) -> None:
        tag = parse_name_addr(response.headers.get("To") or "").tag or ""
        if tag in self.acks:
            self.ua._send(*self.acks[tag])
            return
        dialog = uac_dialog(self.invite, response)
        ack = dialog.next_request("ACK", *self.ua.address, cseq=dialog.local_cseq)
        self.acks[tag] = (ack.to_bytes(), dialog.destination())
        self.ua._send(*self.acks[tag])
        if self.final is None and not self.abandoned:
            self.final = response
            self.call = OutgoingCall(self.ua, dialog, response.body)
            self.ua._dialogs[_dialog_key(dialog)] = self.call
            self.responses.put_nowait(response)
        else:
            # A second fork answered, or the answer came after we gave up: that dialog
            # is acknowledged and ended at once (RFC 3261 13.2.2.4).
            log.info("call %s: ending an answer nobody waits for", dialog.call_id)
            self.ua._spawn(self.ua._bye(None, dialog))

    def abandon(self) -> None:
        """The caller stopped waiting: CANCEL once a provisional response came."""
        if self.final is not None:
            return
        self.abandoned = True
        if self.provisional:
            self.cancel()

    def cancel(self) -> None:
        if self.cancel_sent:
            return
        self.cancel_sent = True
        cancel = ack_or_cancel(self.invite, "CANCEL")
        self.ua._spawn(self.ua._transact(cancel, self.destination))


def _dialog_key(dialog: Dialog) -> tuple[str, str, str]:
    return (dialog.call_id, dialog.local_tag, dialog.remote_tag)


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
    def __init__(self, ua: UserAgent) -> None:
        self._ua = ua

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._ua._received(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        # An ICMP port-unreachable from a peer that went away; retransmission timers cope.
        log.debug("socket error: %s", exc)


class UserAgent:
    """One UDP socket; calls in (on_invite) and out (call)."""

    address: Address

    def __init__(self, on_invite: OnInvite) -> None:
        self._on_invite = on_invite
        self._transport: asyncio.DatagramTransport | None = None
        self._server_invites: dict[str, _ServerInvite] = {}
        self._server_responses: dict[tuple[str, str], bytes] = {}
        self._client_tx: dict[tuple[str, str], Callable[[SipResponse], None]] = {}
        self._client_invites: set[_ClientInvite] = set()
        self._dialogs: dict[tuple[str, str, str], _Call] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: set[asyncio.TimerHandle] = set()

    @classmethod
    async def start(cls, host: str, port: int, on_invite: OnInvite) -> UserAgent:
        ua = cls(on_invite)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(ua), local_addr=(host, port)
        )
        ua._transport = transport
        sockname = transport.get_extra_info("sockname")
        ua.address = (str(sockname[0]), int(sockname[1]))
        log.info("SIP user agent on %s:%d/udp", *ua.address)
        return ua

    # --- placing calls ---------------------------------------------------------------

    async def call(
        self,
        request_uri: str,
        *,
        proxy: Address,
        from_uri: str,
        from_display: str = "",
        to_uri: str | None = None,
        sdp: bytes,
        headers: Sequence[tuple[str, str]] = (),
        timeout_s: float = 60.0,
    ) -> OutgoingCall:
        """INVITE ``request_uri`` through ``proxy``; the answered call, or CallFailed (the
        final status; 408 when nothing final came within ``timeout_s``)."""
        invite = invite_request(
            request_uri,
            local=self.address,
            from_uri=from_uri,
            from_display=from_display,
            from_tag=new_tag(),
            to_uri=to_uri or request_uri,
            call_id=new_call_id(self.address[0]),
            sdp=sdp,
            headers=headers,
        )
        tx = _ClientInvite(self, invite, proxy)
        key = (via_branch(invite) or "", "INVITE")
        self._client_tx[key] = tx.on_response
        self._client_invites.add(tx)
        log.info("call %s to %s", invite.call_id, request_uri)
        loop = asyncio.get_running_loop()
        started = loop.time()
        retransmit = self._spawn(self._retransmit_invite(tx))
        try:
            while True:
                # Without a provisional response the INVITE may be lost: Timer B.
                limit = started + (timeout_s if tx.provisional else min(timeout_s, TIMER_B))
                remaining = limit - loop.time()
                if remaining <= 0:
                    raise CallFailed(408, "Request Timeout")
                with contextlib.suppress(TimeoutError):
                    response = await asyncio.wait_for(tx.responses.get(), remaining)
                    if 200 <= response.status < 300 and tx.call is not None:
                        log.info("call %s answered", invite.call_id)
                        return tx.call
                    if response.status >= 300:
                        log.info("call %s failed: %d", invite.call_id, response.status)
                        raise CallFailed(response.status, response.reason)
        except BaseException:
            tx.abandon()
            if tx.call is not None:  # answered while we were being cancelled
                self._spawn(tx.call.hang_up())
            raise
        finally:
            retransmit.cancel()
            self._client_invites.discard(tx)
            self._later(TIMER_B, lambda: self._client_tx.pop(key, None))

    async def _retransmit_invite(self, tx: _ClientInvite) -> None:
        """Timer A: the INVITE again at 0.5, 1, 2, 4 s... until any response."""
        data = tx.invite.to_bytes()
        interval = T1
        self._send(data, tx.destination)
        while True:
            await asyncio.sleep(interval)
            if tx.provisional or tx.final is not None:
                return
            self._send(data, tx.destination)
            interval *= 2

    # --- within dialogs --------------------------------------------------------------

    async def _bye(self, call: _Call | None, dialog: Dialog) -> None:
        if dialog.strict_first_route():
            log.warning("call %s: strict routing is not supported", dialog.call_id)
        request = dialog.next_request("BYE", *self.address)
        try:
            response = await self._transact(request, dialog.destination())
            if response is None:
                log.info("call %s: no answer to our BYE", dialog.call_id)
        finally:
            if call is not None:
                call._end("we hung up")

    async def _transact(
        self, request: SipRequest, destination: Address, timeout_s: float = TIMER_B
    ) -> SipResponse | None:
        """A non-INVITE request: retransmitted (T1 doubling to T2) until its final
        response, which it returns; None after ``timeout_s`` (Timer F)."""
        loop = asyncio.get_running_loop()
        final: asyncio.Future[SipResponse] = loop.create_future()

        def on_response(response: SipResponse) -> None:
            if response.status >= 200 and not final.done():
                final.set_result(response)

        key = (via_branch(request) or "", request.method)
        self._client_tx[key] = on_response
        data = request.to_bytes()
        deadline = loop.time() + timeout_s
        interval = T1
        try:
            while True:
                self._send(data, destination)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                with contextlib.suppress(TimeoutError):
                    return await asyncio.wait_for(asyncio.shield(final), min(interval, remaining))
                interval = min(interval * 2, T2)
        finally:
            self._client_tx.pop(key, None)

    async def _until_acked(
        self, data: bytes, destination: Address, acked: asyncio.Event, ended: asyncio.Event
    ) -> bool:
        """A 2xx retransmitted (T1 doubling to T2) until its ACK: True; False when the
        call ended first or after 32 s."""
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
                    waits, timeout=min(interval, remaining), return_when="FIRST_COMPLETED"
                )
                if not acked.is_set() and not ended.is_set():
                    self._send(data, destination)
                interval = min(interval * 2, T2)
            return True
        finally:
            for w in waits:
                w.cancel()

    # --- receiving -------------------------------------------------------------------

    def _received(self, data: bytes, source: Address) -> None:
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

    def _on_response(self, response: SipResponse) -> None:
        _, method = parse_cseq(response.headers.get("CSeq") or "")
        handler = self._client_tx.get((via_branch(response) or "", method))
        if handler is None:
            log.debug("stray %d response (%s)", response.status, response.call_id)
            return
        handler(response)

    def _on_request(self, request: SipRequest, source: Address) -> None:
        method = request.method
        key = _server_key(request)
        if method == "ACK":
            self._on_ack(request, key)
            return
        if method == "INVITE":
            tx = self._server_invites.get(key)
            if tx is not None:  # a retransmission: the last response again
                if tx.last_response is not None:
                    self._send(tx.last_response, source)
                return
            if parse_name_addr(request.headers.get("To") or "").tag is None:
                self._on_new_invite(request, source, key)
            else:
                self._on_reinvite(request, source, key)
            return
        sent = self._server_responses.get((key, method))
        if sent is not None:  # a retransmitted non-INVITE request
            self._send(sent, source)
            return
        if method == "CANCEL":
            self._on_cancel(request, source, key)
            return
        if method == "BYE":
            response = self._on_bye(request)
        elif method == "OPTIONS":
            response = make_response(
                request,
                200,
                "OK",
                extra_headers=(("Allow", ALLOW), ("Accept", "application/sdp"), _UA),
            )
        elif method in _KNOWN_METHODS:
            response = make_response(
                request, 405, "Method Not Allowed", extra_headers=(("Allow", ALLOW), _UA)
            )
        else:
            response = make_response(
                request, 501, "Not Implemented", extra_headers=(("Allow", ALLOW), _UA)
            )
        self._reply(request, response, source, key)

    def _reply(self, request: SipRequest, response: SipResponse, source: Address, key: str) -> None:
        """A response to a non-INVITE request, kept 32 s for its retransmissions."""
        data = response.to_bytes()
        cache_key = (key, request.method)
        self._server_responses[cache_key] = data
        self._later(TIMER_B, lambda: self._server_responses.pop(cache_key, None))
        self._send(data, source)

    def _on_new_invite(self, request: SipRequest, source: Address, key: str) -> None:
        tx = _ServerInvite(key, request, source)
        self._server_invites[key] = tx
        self._respond(tx, make_response(request, 100, "Trying", extra_headers=(_UA,)))
        call = tx.call = IncomingCall(self, tx)
        log.info("call %s from %s to %s", call.call_id, call.from_uri, call.request_uri)
        self._spawn(self._run_on_invite(call))

    async def _run_on_invite(self, call: IncomingCall) -> None:
        try:
            await self._on_invite(call)
        except CallEnded:
            return
        except Exception:
            log.exception("call %s: the application failed", call.call_id)
            if not call._tx.final_status:
                await call.reject(500, "Server Internal Error")
            else:
                await call.hang_up()
            return
        if not call._tx.final_status and not call.ended.is_set():
            await call.reject(480, "Temporarily Unavailable")

    def _on_reinvite(self, request: SipRequest, source: Address, key: str) -> None:
        """An INVITE within a dialog (a session refresh, a hold): our SDP again, unchanged."""
        tx = _ServerInvite(key, request, source)
        self._server_invites[key] = tx
        call = self._find_dialog(request)
        if call is None or call._dialog is None or call.ended.is_set():
            response = make_response(
                request, 481, "Call/Transaction Does Not Exist", extra_headers=(_UA,)
            )
            self._final_non_2xx(tx, response)
            return
        dialog = call._dialog
        dialog.remote_target = contact_uri(request.headers) or dialog.remote_target
        host, port = self.address
        response = make_response(
            request,
            200,
            "OK",
            body=dialog.local_sdp,
            content_type="application/sdp",
            extra_headers=(("Contact", format_name_addr(f"sip:{host}:{port}")), _UA),
        )
        tx.final_status = 200
        self._respond(tx, response)
        self._forget_later(tx)
        cseq, _ = parse_cseq(request.headers.get("CSeq") or "")
        acked = call._acks.setdefault(cseq, asyncio.Event())
        self._spawn(self._until_acked(response.to_bytes(), source, acked, call.ended))

    def _on_cancel(self, request: SipRequest, source: Address, key: str) -> None:
        tx = self._server_invites.get(key)
        if tx is None:
            response = make_response(
                request, 481, "Call/Transaction Does Not Exist", extra_headers=(_UA,)
            )
            self._reply(request, response, source, key)
            return
        pending = tx.final_status == 0
        to_tag = tx.call._local_tag if tx.call is not None else None
        self._reply(request, make_response(request, 200, "OK", to_tag=to_tag), source, key)
        if pending:
            terminated = make_response(
                tx.request, 487, "Request Terminated", to_tag=to_tag, extra_headers=(_UA,)
            )
            self._final_non_2xx(tx, terminated)
            if tx.call is not None:
                tx.call._end("cancelled by the caller")

    def _on_bye(self, request: SipRequest) -> SipResponse:
        call = self._find_dialog(request)
        if call is None:
            return make_response(
                request, 481, "Call/Transaction Does Not Exist", extra_headers=(_UA,)
            )
        call._end("the other side hung up")
        return make_response(request, 200, "OK", extra_headers=(_UA,))

    def _on_ack(self, request: SipRequest, key: str) -> None:
        tx = self._server_invites.get(key)
        if tx is not None and tx.final_status >= 300:
            tx.acked.set()
            return
        call = self._find_dialog(request)
        if call is not None:
            cseq, _ = parse_cseq(request.headers.get("CSeq") or "")
            event = call._acks.get(cseq)
            if event is not None:
                event.set()
                return
        log.debug("ACK for nothing we know (%s)", request.call_id)

    def _find_dialog(self, request: SipRequest) -> _Call | None:
        local = parse_name_addr(request.headers.get("To") or "").tag
        remote = parse_name_addr(request.headers.get("From") or "").tag
        return self._dialogs.get((request.call_id, local or "", remote or ""))

    # --- server transactions ---------------------------------------------------------

    def _respond(self, tx: _ServerInvite, response: SipResponse) -> None:
        tx.last_response = response.to_bytes()
        self._send(tx.last_response, tx.source)

    def _final_non_2xx(self, tx: _ServerInvite, response: SipResponse) -> None:
        """A final non-2xx to an INVITE, retransmitted until its ACK (Timer G), 32 s at
        most (Timer H)."""
        tx.final_status = response.status
        self._respond(tx, response)
        self._forget_later(tx)
        never = asyncio.Event()
        self._spawn(self._until_acked(response.to_bytes(), tx.source, tx.acked, never))

    def _forget_later(self, tx: _ServerInvite) -> None:
        """The transaction stays 32 s after its final response: retransmitted INVITEs
        get that response again, its ACK is absorbed."""
        self._later(TIMER_B, lambda: self._server_invites.pop(tx.key, None))

    # --- the socket, tasks and timers --------------------------------------------------

    def _send(self, data: bytes, destination: Address) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        host, port = destination
        if _is_ip(host):
            transport.sendto(data, (host, port))
        else:
            self._spawn(self._send_resolved(data, host, port))

    async def _send_resolved(self, data: bytes, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except OSError as e:
            log.warning("cannot resolve %s: %s", host, e)
            return
        address = infos[0][4]
        self._send(data, (str(address[0]), int(address[1])))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("user agent task failed", exc_info=task.exception())

    def _later(self, delay: float, callback: Callable[[], object]) -> None:
        handle: asyncio.TimerHandle | None = None

        def run() -> None:
            assert handle is not None
            self._timers.discard(handle)
            callback()

        handle = asyncio.get_running_loop().call_later(delay, run)
        self._timers.add(handle)

    async def close(self) -> None:
        """Ends every call (BYE for those up, 503 for those not answered yet, CANCEL for
        ours still ringing), waits at most 4 s for that, then closes the socket."""
        for placed in list(self._client_invites):
            placed.abandon()
        endings = []
        for received in list(self._server_invites.values()):
            if received.call is not None and received.final_status == 0:
                endings.append(received.call.reject(503, "Service Unavailable"))
        endings += [call.hang_up() for call in list(self._dialogs.values())]
        if endings:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*endings, return_exceptions=True), CLOSE_BOUND_S
                )
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        if self._transport is not None:
            self._transport.close()
