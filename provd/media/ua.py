"""A minimal SIP user agent over UDP: calls Kamailio sends us, and calls we place back
through it (RFC 3261 dialogs; the transactions are provd/media/transactions.py's).

Kamailio in front does authentication, NAT and registrations, and record-routes; this
side only answers, rejects, places and ends calls, and answers Kamailio's OPTIONS probes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from provd.media.dialog import (
    Dialog,
    ack_or_cancel,
    contact_uri,
    invite_request,
    uac_dialog,
    uas_dialog,
)
from provd.media.sip import (
    SipRequest,
    SipResponse,
    format_name_addr,
    make_response,
    new_call_id,
    new_tag,
    parse_cseq,
    parse_name_addr,
)
from provd.media.transactions import (
    T1,
    TIMER_B,
    UA_HEADER,
    Address,
    Endpoint,
    ServerInvite,
)

log = logging.getLogger(__name__)

CLOSE_BOUND_S = 4.0
"""How long close() waits for the calls still up to end."""
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"
# Methods SIP defines that we do not take (405 with Allow); any other is unknown (501).
_KNOWN_METHODS = frozenset(
    {"REGISTER", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "INFO", "UPDATE", "PRACK", "PUBLISH"}
)

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
        """The ACK awaited for each of our 2xx, by CSeq number."""
        self._hangup: asyncio.Future[None] | None = None

    async def hang_up(self) -> None:
        """BYE, and its final response awaited (retransmitting) for at most 32 s."""
        if self.ended.is_set() or self._dialog is None:
            return
        if self._hangup is None:
            # The endpoint's task: close() cancels it with the rest.
            self._hangup = self._ua._endpoint.spawn(self._ua._bye(self, self._dialog))
        await asyncio.shield(self._hangup)

    def _end(self, why: str) -> None:
        if not self.ended.is_set():
            log.info("call %s ended: %s", self.call_id, why)
            self.ended.set()
        if self._dialog is not None:
            self._ua._dialogs.pop(_dialog_key(self._dialog), None)


class IncomingCall(_Call):
    """A call Kamailio sent us. The application rings, answers or rejects it."""

    def __init__(self, ua: UserAgent, tx: ServerInvite) -> None:
        invite = tx.request
        super().__init__(ua, invite.call_id)
        self._tx = tx
        self._local_tag = tx.to_tag = new_tag()
        caller = parse_name_addr(invite.headers.get("From") or "")
        self.invite = invite
        self.from_display = caller.display
        self.from_uri = caller.uri
        self.to_uri = parse_name_addr(invite.headers.get("To") or "").uri
        self.request_uri = invite.uri
        self.offer = invite.body

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
            extra_headers=(self._ua._contact(), UA_HEADER),
        )
        self._ua._endpoint.respond(self._tx, response)

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
            extra_headers=(self._ua._contact(), ("Allow", ALLOW), UA_HEADER),
        )
        endpoint = self._ua._endpoint
        endpoint.respond(self._tx, response)
        log.info("call %s answered", self.call_id)
        if await endpoint.until_acked(response.to_bytes(), self._tx.source, acked, self.ended):
            return
        if self.ended.is_set():
            raise CallEnded("the caller hung up before acknowledging the answer")
        log.warning("call %s: no ACK for our 200 in %.0f s, hanging up", self.call_id, TIMER_B)
        await self.hang_up()
        raise CallEnded("no ACK for the answer")

    async def reject(self, status: int, reason: str) -> None:
        """A final non-2xx response (retransmitted until its ACK, in the background)."""
        if self.ended.is_set() or self._tx.final_status:
            return
        response = make_response(
            self.invite, status, reason, to_tag=self._local_tag, extra_headers=(UA_HEADER,)
        )
        self._ua._endpoint.fail(self._tx, response)
        self._end(f"rejected with {status}")

    async def hang_up(self) -> None:
        """BYE once answered; before that, a 480 (nobody took the call)."""
        if self._dialog is None:
            await self.reject(480, "Temporarily Unavailable")
            return
        await super().hang_up()

    def _cancelled(self) -> None:
        terminated = make_response(
            self.invite,
            487,
            "Request Terminated",
            to_tag=self._local_tag,
            extra_headers=(UA_HEADER,),
        )
        self._ua._endpoint.fail(self._tx, terminated)
        self._end("cancelled by the caller")


class OutgoingCall(_Call):
    """A call we placed that was answered."""

    def __init__(self, ua: UserAgent, dialog: Dialog, answer: bytes) -> None:
        super().__init__(ua, dialog.call_id)
        self._dialog = dialog
        self.answer = answer


class _ClientInvite:
    """Our INVITE: its responses, its ACKs, and its CANCEL if the caller gives up."""

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
        """The ACK of each 2xx by the answering side's tag, sent again for its
        retransmissions."""

    def on_response(self, response: SipResponse) -> None:
        endpoint = self.ua._endpoint
        if response.status < 200:
            self.provisional = True
            if self.abandoned:
                self.cancel()
            self.responses.put_nowait(response)
        elif response.status < 300:
            self._on_2xx(response)
        else:
            ack = ack_or_cancel(self.invite, "ACK", response.headers.get("To") or "")
            endpoint.send(ack.to_bytes(), self.destination)
            if self.final is None:
                self.final = response
                self.responses.put_nowait(response)

    def _on_2xx(self, response: SipResponse) -> None:
        endpoint = self.ua._endpoint
        tag = parse_name_addr(response.headers.get("To") or "").tag or ""
        if tag in self.acks:
            endpoint.send(*self.acks[tag])
            return
        dialog = uac_dialog(self.invite, response)
        ack = dialog.next_request("ACK", *endpoint.address, cseq=dialog.local_cseq)
        self.acks[tag] = (ack.to_bytes(), dialog.destination())
        endpoint.send(*self.acks[tag])
        if self.final is None and not self.abandoned:
            self.final = response
            self.call = OutgoingCall(self.ua, dialog, response.body)
            self.ua._dialogs[_dialog_key(dialog)] = self.call
            self.responses.put_nowait(response)
        else:
            # A second fork answered, or the answer came after we gave up: that dialog
            # is acknowledged and ended at once (RFC 3261 13.2.2.4).
            log.info("call %s: ending an answer nobody waits for", dialog.call_id)
            endpoint.spawn(self.ua._bye(None, dialog))

    def abandon(self) -> None:
        """The caller stopped waiting: CANCEL once a provisional response came (before
        that, the first provisional sends it)."""
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
        self.ua._endpoint.spawn(self.ua._endpoint.transact(cancel, self.destination))

    async def retransmit(self) -> None:
        """Timer A: the INVITE again at 0.5, 1, 2, 4 s... until any response."""
        endpoint = self.ua._endpoint
        data = self.invite.to_bytes()
        interval = T1
        endpoint.send(data, self.destination)
        while True:
            await asyncio.sleep(interval)
            if self.provisional or self.final is not None:
                return
            endpoint.send(data, self.destination)
            interval *= 2


class _Requests:
    """The user agent as its endpoint's TransactionUser, without those methods in its
    public face."""

    def __init__(self, ua: UserAgent) -> None:
        self._ua = ua

    def invite_received(self, tx: ServerInvite) -> None:
        self._ua._invite_received(tx)

    def ack_received(self, request: SipRequest) -> None:
        self._ua._ack_received(request)

    def request_received(self, request: SipRequest) -> SipResponse:
        return self._ua._request_received(request)


def _dialog_key(dialog: Dialog) -> tuple[str, str, str]:
    return (dialog.call_id, dialog.local_tag, dialog.remote_tag)


class UserAgent:
    """One UDP socket; calls in (``on_invite``, run in a task per call) and out (call)."""

    address: Address
    _endpoint: Endpoint

    def __init__(self, on_invite: OnInvite) -> None:
        self._on_invite = on_invite
        self._dialogs: dict[tuple[str, str, str], _Call] = {}
        self._incoming: dict[str, IncomingCall] = {}
        """Calls without a final response yet, by transaction."""
        self._outgoing: set[_ClientInvite] = set()

    @classmethod
    async def start(cls, host: str, port: int, on_invite: OnInvite) -> UserAgent:
        ua = cls(on_invite)
        ua._endpoint = await Endpoint.open(host, port, _Requests(ua))
        ua.address = ua._endpoint.address
        log.info("SIP user agent on %s:%d/udp", *ua.address)
        return ua

    def _contact(self) -> tuple[str, str]:
        host, port = self.address
        return ("Contact", format_name_addr(f"sip:{host}:{port}"))

    # --- placing calls ----------------------------------------------------------------

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
        """INVITE ``request_uri`` through ``proxy``: the answered call, or CallFailed with
        the final status (408 when nothing final came within ``timeout_s``). ValueError
        if a value holds a line break."""
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
        invite.to_bytes()  # a line break in a value raises here, not in a task
        tx = _ClientInvite(self, invite, proxy)
        self._endpoint.expect(invite, tx.on_response)
        self._outgoing.add(tx)
        log.info("call %s to %s", invite.call_id, request_uri)
        loop = asyncio.get_running_loop()
        started = loop.time()
        retransmit = self._endpoint.spawn(tx.retransmit())
        try:
            while True:
                # Without a provisional response the INVITE may be lost: Timer B.
                limit = started + (timeout_s if tx.provisional else min(timeout_s, TIMER_B))
                remaining = limit - loop.time()
                if remaining <= 0:
                    log.info("call %s: no answer in time", invite.call_id)
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
                self._endpoint.spawn(tx.call.hang_up())
            raise
        finally:
            retransmit.cancel()
            self._outgoing.discard(tx)
            # 2xx retransmissions are ACKed again for as long as they may come.
            self._endpoint.forget(invite, after_s=TIMER_B)

    # --- within dialogs ---------------------------------------------------------------

    async def _bye(self, call: _Call | None, dialog: Dialog) -> None:
        if dialog.strict_first_route():
            log.warning("call %s: strict routing is not supported", dialog.call_id)
        request = dialog.next_request("BYE", *self.address)
        try:
            if await self._endpoint.transact(request, dialog.destination()) is None:
                log.info("call %s: no answer to our BYE", dialog.call_id)
        finally:
            if call is not None:
                call._end("we hung up")

    def _find_dialog(self, request: SipRequest) -> _Call | None:
        local = parse_name_addr(request.headers.get("To") or "").tag
        remote = parse_name_addr(request.headers.get("From") or "").tag
        return self._dialogs.get((request.call_id, local or "", remote or ""))

    # --- requests received (through _Requests) ----------------------------------------

    def _invite_received(self, tx: ServerInvite) -> None:
        request = tx.request
        if parse_name_addr(request.headers.get("To") or "").tag is not None:
            self._reinvite(tx)
            return
        self._endpoint.respond(
            tx, make_response(request, 100, "Trying", extra_headers=(UA_HEADER,))
        )
        call = IncomingCall(self, tx)
        tx.on_cancel = call._cancelled
        self._incoming[tx.key] = call
        log.info("call %s from %s to %s", call.call_id, call.from_uri, call.request_uri)
        self._endpoint.spawn(self._run_on_invite(call))

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
        finally:
            self._incoming.pop(call._tx.key, None)
        if not call._tx.final_status and not call.ended.is_set():
            await call.reject(480, "Temporarily Unavailable")

    def _reinvite(self, tx: ServerInvite) -> None:
        """An INVITE within a dialog (a session refresh, a hold): our SDP again, unchanged."""
        request = tx.request
        call = self._find_dialog(request)
        if call is None or call._dialog is None or call.ended.is_set():
            response = make_response(
                request, 481, "Call/Transaction Does Not Exist", extra_headers=(UA_HEADER,)
            )
            self._endpoint.fail(tx, response)
            return
        dialog = call._dialog
        dialog.remote_target = contact_uri(request.headers) or dialog.remote_target
        response = make_response(
            request,
            200,
            "OK",
            body=dialog.local_sdp,
            content_type="application/sdp",
            extra_headers=(self._contact(), UA_HEADER),
        )
        self._endpoint.respond(tx, response)
        cseq, _ = parse_cseq(request.headers.get("CSeq") or "")
        acked = call._acks.setdefault(cseq, asyncio.Event())
        self._endpoint.spawn(
            self._endpoint.until_acked(response.to_bytes(), tx.source, acked, call.ended)
        )

    def _ack_received(self, request: SipRequest) -> None:
        call = self._find_dialog(request)
        if call is not None:
            cseq, _ = parse_cseq(request.headers.get("CSeq") or "")
            acked = call._acks.get(cseq)
            if acked is not None:
                acked.set()
                return
        log.debug("ACK for nothing we know (%s)", request.call_id)

    def _request_received(self, request: SipRequest) -> SipResponse:
        method = request.method
        if method == "BYE":
            call = self._find_dialog(request)
            if call is None:
                return make_response(
                    request, 481, "Call/Transaction Does Not Exist", extra_headers=(UA_HEADER,)
                )
            call._end("the other side hung up")
            return make_response(request, 200, "OK", extra_headers=(UA_HEADER,))
        if method == "OPTIONS":
            accept = ("Accept", "application/sdp")
            return make_response(
                request, 200, "OK", extra_headers=(("Allow", ALLOW), accept, UA_HEADER)
            )
        status, reason = (
            (405, "Method Not Allowed") if method in _KNOWN_METHODS else (501, "Not Implemented")
        )
        return make_response(request, status, reason, extra_headers=(("Allow", ALLOW), UA_HEADER))

    # --- closing ----------------------------------------------------------------------

    async def close(self) -> None:
        """Ends every call (BYE for those up, 503 for those not answered yet, CANCEL for
        ours still ringing), waits at most 4 s for that, then closes the socket."""
        for placed in list(self._outgoing):
            placed.abandon()
        await asyncio.sleep(0)  # their CANCELs go out before the tasks are cancelled
        endings = [c.reject(503, "Service Unavailable") for c in list(self._incoming.values())]
        endings += [call.hang_up() for call in list(self._dialogs.values())]
        if endings:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*endings, return_exceptions=True), CLOSE_BOUND_S
                )
        await self._endpoint.close()
