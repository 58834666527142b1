"""The user agent against a scripted peer on loopback: what it answers to each request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from provd.media import transactions
from provd.media import ua as ua_module
from provd.media.sip import (
    Headers,
    SipRequest,
    SipResponse,
    new_branch,
    parse_cseq,
    parse_name_addr,
    via_branch,
)
from provd.media.ua import CallEnded, CallFailed, IncomingCall, UserAgent
from tests.media.peer import LOOPBACK, Peer

OFFER = b"v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"
ANSWER = b"v=0\r\no=ivr 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n"

OnInvite = Callable[[IncomingCall], Awaitable[None]]


class Calls:
    """What the application saw: every call, and a way to say what it does with them."""

    def __init__(self) -> None:
        self.seen: list[IncomingCall] = []
        self.handle: OnInvite | None = None

    async def __call__(self, call: IncomingCall) -> None:
        self.seen.append(call)
        if self.handle is not None:
            await self.handle(call)


@pytest.fixture
async def calls() -> Calls:
    return Calls()


@pytest.fixture
async def ua(calls: Calls) -> AsyncIterator[UserAgent]:
    agent = await UserAgent.start(LOOPBACK, 0, calls)
    try:
        yield agent
    finally:
        await agent.close()


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    p = await Peer.open()
    try:
        yield p
    finally:
        p.close()


def request(
    peer: Peer,
    method: str,
    *,
    branch: str | None = None,
    call_id: str = "c1@peer",
    cseq: int = 1,
    to_tag: str | None = None,
    body: bytes = b"",
    extra: tuple[tuple[str, str], ...] = (),
) -> SipRequest:
    host, port = peer.address
    to = "<sip:800@provd.test>" + (f";tag={to_tag}" if to_tag else "")
    headers = Headers(
        [
            ("Via", f"SIP/2.0/UDP {host}:{port};branch={branch or new_branch()}"),
            ("Max-Forwards", "70"),
            *extra,
            ("From", '"Peer" <sip:peer@provd.test>;tag=peertag'),
            ("To", to),
            ("Call-ID", call_id),
            ("CSeq", f"{cseq} {method}"),
            ("Contact", f"<sip:peer@{host}:{port}>"),
        ]
    )
    if body:
        headers.add("Content-Type", "application/sdp")
    return SipRequest(method, "sip:800@provd.test", headers, body)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.01)


async def test_options_are_answered_and_a_bye_outside_a_dialog_is_refused(
    ua: UserAgent, peer: Peer
) -> None:
    peer.send(request(peer, "OPTIONS").to_bytes(), ua.address)
    ok = await peer.response()
    assert ok.status == 200
    assert "INVITE" in (ok.headers.get("Allow") or "")
    assert ok.headers.get("User-Agent") == "provd-media"
    peer.send(request(peer, "BYE", to_tag="nobody").to_bytes(), ua.address)
    assert (await peer.response()).status == 481


@pytest.mark.parametrize(("method", "status"), [("SUBSCRIBE", 405), ("FROBNICATE", 501)])
async def test_other_methods_are_refused(
    ua: UserAgent, peer: Peer, method: str, status: int
) -> None:
    peer.send(request(peer, method).to_bytes(), ua.address)
    assert (await peer.response()).status == status


async def test_garbage_and_a_stray_ack_are_ignored(ua: UserAgent, peer: Peer) -> None:
    peer.send(b"\x00garbage\r\n\r\n", ua.address)
    peer.send(request(peer, "ACK", to_tag="nobody").to_bytes(), ua.address)
    peer.send(request(peer, "OPTIONS").to_bytes(), ua.address)
    assert (await peer.response()).status == 200  # the first answer is the OPTIONS'


# Not a sipp scenario: sipp takes the second, identical 100 for a retransmission of what
# it received and sends its INVITE again, and the two go back and forth until killed.
async def test_a_retransmitted_invite_is_one_call_and_a_cancel_ends_it(
    ua: UserAgent, peer: Peer, calls: Calls
) -> None:
    ended = asyncio.Event()

    async def wait(call: IncomingCall) -> None:
        await call.ended.wait()
        with pytest.raises(CallEnded):
            await call.answer(ANSWER)
        ended.set()

    calls.handle = wait
    branch = new_branch()
    invite = request(peer, "INVITE", branch=branch, body=OFFER)
    peer.send(invite.to_bytes(), ua.address)
    assert (await peer.response()).status == 100
    await until(lambda: len(calls.seen) == 1)
    peer.send(invite.to_bytes(), ua.address)
    assert (await peer.response()).status == 100
    assert calls.seen[0].offer == OFFER

    peer.send(request(peer, "CANCEL", branch=branch).to_bytes(), ua.address)
    cancelled = await peer.response()
    assert (cancelled.status, parse_cseq(cancelled.headers.get("CSeq") or "")[1]) == (200, "CANCEL")
    terminated = await peer.response()
    assert terminated.status == 487
    assert parse_cseq(terminated.headers.get("CSeq") or "")[1] == "INVITE"
    peer.send(
        request(
            peer,
            "ACK",
            branch=branch,
            to_tag=parse_name_addr(terminated.headers.get("To") or "").tag,
        ).to_bytes(),
        ua.address,
    )
    await asyncio.wait_for(ended.wait(), 5)
    assert len(calls.seen) == 1


async def test_an_answered_call_is_hung_up_through_the_route_set(
    ua: UserAgent, peer: Peer, calls: Calls
) -> None:
    answered = asyncio.Event()

    async def answer(call: IncomingCall) -> None:
        await call.ring()
        await call.answer(ANSWER)
        answered.set()

    calls.handle = answer
    host, port = peer.address
    routes = (
        ("Record-Route", f"<sip:{host}:{port};lr;n=1>"),
        ("Record-Route", f"<sip:{host}:{port};lr;n=2>"),
    )
    peer.send(request(peer, "INVITE", body=OFFER, extra=routes).to_bytes(), ua.address)
    statuses: list[int] = []
    while not statuses or statuses[-1] < 200:
        statuses.append((ok := await peer.response()).status)
    assert statuses == [100, 180, 200]
    assert ok.body == ANSWER
    assert ok.headers.get_all("Record-Route") == [v for _, v in routes]
    assert ok.headers.get("Contact") == f"<sip:{ua.address[0]}:{ua.address[1]}>"
    # Unacknowledged, the 200 comes again.
    again = await peer.response()
    assert (again.status, again.body) == (200, ANSWER)
    to_tag = parse_name_addr(ok.headers.get("To") or "").tag
    assert to_tag
    peer.send(request(peer, "ACK", to_tag=to_tag).to_bytes(), ua.address)
    await asyncio.wait_for(answered.wait(), 5)

    # A session refresh within the dialog gets the same answer.
    reinvite = request(peer, "INVITE", cseq=2, to_tag=to_tag, body=OFFER)
    peer.send(reinvite.to_bytes(), ua.address)
    refreshed = await peer.final_response("INVITE")
    assert (refreshed.status, refreshed.body) == (200, ANSWER)
    peer.send(request(peer, "ACK", cseq=2, to_tag=to_tag).to_bytes(), ua.address)

    call = calls.seen[0]
    hang_up = asyncio.ensure_future(call.hang_up())
    bye = await peer.next_request("BYE")  # past a 200 retransmission still in flight
    assert bye.uri == f"sip:peer@{host}:{port}"
    assert bye.headers.get_all("Route") == [v for _, v in routes]
    assert parse_name_addr(bye.headers.get("From") or "").tag == to_tag
    assert parse_name_addr(bye.headers.get("To") or "").tag == "peertag"
    assert bye.headers.get("Max-Forwards") == "70"
    assert via_branch(bye) != via_branch(reinvite)
    ok_headers = Headers(
        (n, v) for n, v in bye.headers if n.lower() in ("via", "from", "to", "call-id", "cseq")
    )
    peer.send(SipResponse(200, "OK", ok_headers).to_bytes(), ua.address)
    await asyncio.wait_for(hang_up, 5)
    assert call.ended.is_set()


async def test_a_peer_bye_ends_the_call(ua: UserAgent, peer: Peer, calls: Calls) -> None:
    async def answer(call: IncomingCall) -> None:
        await call.answer(ANSWER)

    calls.handle = answer
    peer.send(request(peer, "INVITE", body=OFFER).to_bytes(), ua.address)
    ok = await peer.final_response("INVITE")
    to_tag = parse_name_addr(ok.headers.get("To") or "").tag
    peer.send(request(peer, "ACK", to_tag=to_tag).to_bytes(), ua.address)
    bye = request(peer, "BYE", cseq=2, to_tag=to_tag)
    peer.send(bye.to_bytes(), ua.address)
    assert (await peer.final_response("BYE")).status == 200
    await asyncio.wait_for(calls.seen[0].ended.wait(), 5)
    # The BYE again (our 200 lost): the same 200, not a 481.
    peer.send(bye.to_bytes(), ua.address)
    assert (await peer.final_response("BYE")).status == 200


async def test_a_failing_application_rejects_the_call(
    ua: UserAgent, peer: Peer, calls: Calls
) -> None:
    async def fail(call: IncomingCall) -> None:
        raise RuntimeError("boom")

    calls.handle = fail
    peer.send(request(peer, "INVITE", body=OFFER).to_bytes(), ua.address)
    statuses = [(await peer.response()).status, (await peer.response()).status]
    assert statuses == [100, 500]


def reply(request: SipRequest, status: int, reason: str, *extra: tuple[str, str]) -> SipResponse:
    """A response as a callee writes it (To tag "callee")."""
    headers = Headers()
    for name, value in request.headers:
        if name.lower() in ("via", "from", "call-id", "cseq"):
            headers.add(name, value)
        elif name.lower() == "to":
            headers.add(name, value if ";tag=" in value else f"{value};tag=callee")
    for name, value in extra:
        headers.add(name, value)
    return SipResponse(status, reason, headers)


async def test_a_placed_call_is_acknowledged_again_and_ended_by_the_callee(
    ua: UserAgent, peer: Peer
) -> None:
    host, port = peer.address
    placing = asyncio.ensure_future(
        ua.call(
            "sip:900@provd.test",
            proxy=peer.address,
            from_uri="sip:ivr@provd.test",
            sdp=OFFER,
            timeout_s=10,
        )
    )
    invite = await peer.request()
    assert (invite.method, invite.uri, invite.body) == ("INVITE", "sip:900@provd.test", OFFER)
    assert invite.headers.get("Max-Forwards") == "70"
    # Unanswered, the INVITE comes again with the same branch.
    again = await peer.request()
    assert (again.method, via_branch(again)) == ("INVITE", via_branch(invite))
    peer.send(reply(invite, 180, "Ringing").to_bytes(), ua.address)
    ok = reply(
        invite,
        200,
        "OK",
        ("Record-Route", f"<sip:{host}:{port};lr>"),
        ("Contact", f"<sip:callee@{host}:{port}>"),
    )
    ok.body = ANSWER
    peer.send(ok.to_bytes(), ua.address)
    call = await asyncio.wait_for(placing, 5)
    assert call.answer == ANSWER
    ack = await peer.next_request("ACK")
    assert (ack.method, ack.uri) == ("ACK", f"sip:callee@{host}:{port}")
    assert ack.headers.get_all("Route") == [f"<sip:{host}:{port};lr>"]
    assert parse_cseq(ack.headers.get("CSeq") or "") == (1, "ACK")
    # Our ACK lost: the 200 again is acknowledged again.
    peer.send(ok.to_bytes(), ua.address)
    await peer.next_request("ACK")

    bye = request(peer, "BYE", call_id=call.call_id, cseq=7)
    bye.headers.replace("From", ok.headers.get("To") or "")
    bye.headers.replace("To", invite.headers.get("From") or "")
    peer.send(bye.to_bytes(), ua.address)
    assert (await peer.final_response("BYE")).status == 200
    await asyncio.wait_for(call.ended.wait(), 5)


async def test_close_hangs_up_the_calls_still_up(calls: Calls, peer: Peer) -> None:
    async def answer(call: IncomingCall) -> None:
        await call.answer(ANSWER)

    calls.handle = answer
    agent = await UserAgent.start(LOOPBACK, 0, calls)
    try:
        peer.send(request(peer, "INVITE", body=OFFER).to_bytes(), agent.address)
        ok = await peer.final_response("INVITE")
        to_tag = parse_name_addr(ok.headers.get("To") or "").tag
        peer.send(request(peer, "ACK", to_tag=to_tag).to_bytes(), agent.address)
        closing = asyncio.ensure_future(agent.close())
        bye = await peer.next_request("BYE")
        peer.send(reply(bye, 200, "OK").to_bytes(), agent.address)
        await asyncio.wait_for(closing, 10)
        assert calls.seen[0].ended.is_set()
    finally:
        await agent.close()


async def test_a_display_name_with_a_line_break_is_refused(ua: UserAgent, peer: Peer) -> None:
    with pytest.raises(ValueError, match="line break"):
        await ua.call(
            "sip:900@provd.test",
            proxy=peer.address,
            from_uri="sip:ivr@provd.test",
            from_display="Eve\r\nX-Injected: 1",
            sdp=OFFER,
        )


async def test_an_answer_never_acknowledged_is_hung_up(
    ua: UserAgent, peer: Peer, calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transactions, "TIMER_B", 0.8)  # instead of 32 s
    outcome: list[str] = []

    async def answer(call: IncomingCall) -> None:
        try:
            await call.answer(ANSWER)
        except CallEnded:
            outcome.append("ended")

    calls.handle = answer
    peer.send(request(peer, "INVITE", body=OFFER).to_bytes(), ua.address)
    bye = await peer.next_request("BYE")  # past the 200 and its retransmission
    peer.send(reply(bye, 200, "OK").to_bytes(), ua.address)
    await until(lambda: outcome == ["ended"])
    assert calls.seen[0].ended.is_set()


async def test_an_invite_nobody_answers_is_a_408(
    ua: UserAgent, peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ua_module, "TIMER_B", 0.8)  # instead of 32 s
    with pytest.raises(CallFailed) as failed:
        await ua.call(
            "sip:900@provd.test", proxy=peer.address, from_uri="sip:ivr@provd.test", sdp=OFFER
        )
    assert failed.value.status == 408
    first, again = await peer.next_request("INVITE"), await peer.next_request("INVITE")
    assert via_branch(first) == via_branch(again)
