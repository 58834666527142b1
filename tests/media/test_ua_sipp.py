"""The user agent against sipp (a SIP implementation not ours) on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from provd.media.ua import CallEnded, CallFailed, IncomingCall, UserAgent
from tests.media.peer import LOOPBACK, free_udp_port
from tests.pbx.sippctl import SippResult, sipp

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).parent / "sipp"
PBX_SCENARIOS = Path(__file__).parent.parent / "pbx" / "sipp"
OFFER = b"v=0\r\no=ivr 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n"
ANSWER = b"v=0\r\no=ivr 2 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 7002 RTP/AVP 0\r\n"


class Calls:
    def __init__(self) -> None:
        self.seen: list[IncomingCall] = []
        self.outcome: list[str] = []

    async def answer(self, call: IncomingCall) -> None:
        self.seen.append(call)
        await call.ring()
        await call.answer(ANSWER)
        self.outcome.append("answered")

    async def ring_until_cancelled(self, call: IncomingCall) -> None:
        self.seen.append(call)
        await call.ring()
        await call.ended.wait()
        try:
            await call.answer(ANSWER)
        except CallEnded:
            self.outcome.append("ended")


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
async def ua(calls: Calls, request: pytest.FixtureRequest) -> AsyncIterator[UserAgent]:
    handler = getattr(calls, getattr(request, "param", "answer"))
    agent = await UserAgent.start(LOOPBACK, 0, handler)
    try:
        yield agent
    finally:
        await agent.close()


async def run_caller(scenario: str, ua: UserAgent, workdir: Path) -> SippResult:
    async with sipp(
        str(SCENARIOS / scenario),
        workdir,
        local=(LOOPBACK, free_udp_port()),
        remote=f"{ua.address[0]}:{ua.address[1]}",
        timeout_s=10,
        extra=["-s", "800"],
    ) as run:
        return await run.finish()


async def test_a_caller_is_answered_then_hangs_up(
    ua: UserAgent, calls: Calls, tmp_path: Path
) -> None:
    result = await run_caller("caller_hangs_up.xml", ua, tmp_path)
    assert result.rc == 0, result.output
    [call] = calls.seen
    await asyncio.wait_for(call.ended.wait(), 5)
    assert calls.outcome == ["answered"]
    assert call.from_display == "Sipp Caller"
    assert call.request_uri.startswith("sip:800@127.0.0.1:")
    assert call.offer.startswith(b"v=0") and b"m=audio 6000" in call.offer
    [answer] = [m for m in result.received("SIP/2.0 200 OK") if "INVITE" in m]
    assert ANSWER.decode().replace("\r\n", "\n").strip() in answer
    assert f"Contact: <sip:{ua.address[0]}:{ua.address[1]}>" in answer


@pytest.mark.parametrize("ua", ["ring_until_cancelled"], indirect=True)
async def test_a_caller_cancels_before_the_answer(
    ua: UserAgent, calls: Calls, tmp_path: Path
) -> None:
    result = await run_caller("caller_cancels.xml", ua, tmp_path)
    assert result.rc == 0, result.output
    assert 487 in result.status_codes()
    [call] = calls.seen
    await asyncio.wait_for(call.ended.wait(), 5)
    async with asyncio.timeout(5):
        while not calls.outcome:
            await asyncio.sleep(0.01)
    assert calls.outcome == ["ended"]


async def test_a_call_placed_is_answered_and_hung_up_through_the_route_set(
    ua: UserAgent, tmp_path: Path
) -> None:
    port = free_udp_port()
    async with sipp(
        str(SCENARIOS / "callee_answers.xml"), tmp_path, local=(LOOPBACK, port), timeout_s=10
    ) as run:
        call = await ua.call(
            f"sip:900@{LOOPBACK}:{port}",
            proxy=(LOOPBACK, port),
            from_uri="sip:ivr@provd.test",
            from_display="IVR",
            sdp=OFFER,
            headers=[("X-Test", "yes")],
            timeout_s=10,
        )
        assert b"m=audio 6002" in call.answer
        await call.hang_up()
        assert call.ended.is_set()
        result = await run.finish()
    assert result.rc == 0, result.output
    [invite] = result.received("INVITE ")
    assert 'From: "IVR" <sip:ivr@provd.test>;tag=' in invite
    assert "X-Test: yes" in invite
    [ack] = result.received("ACK ")
    [bye] = result.received("BYE ")
    for request in (ack, bye):
        assert request.startswith(f"{request.split()[0]} sip:callee@{LOOPBACK}:{port} SIP/2.0")
        routes = [line for line in request.splitlines() if line.startswith("Route:")]
        assert routes == [
            f"Route: <sip:{LOOPBACK}:{port};lr;rr=first>",
            f"Route: <sip:{LOOPBACK}:{port};lr;rr=second>",
        ]
    assert "CSeq: 2 BYE" in bye


async def test_a_busy_callee_fails_the_call(ua: UserAgent, tmp_path: Path) -> None:
    port = free_udp_port()
    async with sipp(
        str(SCENARIOS / "callee_busy.xml"), tmp_path, local=(LOOPBACK, port), timeout_s=10
    ) as run:
        with pytest.raises(CallFailed) as failed:
            await ua.call(
                f"sip:900@{LOOPBACK}:{port}",
                proxy=(LOOPBACK, port),
                from_uri="sip:ivr@provd.test",
                sdp=OFFER,
                timeout_s=10,
            )
        result = await run.finish()
    assert (failed.value.status, failed.value.reason) == (486, "Busy Here")
    assert result.rc == 0, result.output  # it had its ACK


async def test_a_call_nobody_answers_in_time_is_cancelled(ua: UserAgent, tmp_path: Path) -> None:
    port = free_udp_port()
    async with sipp(
        str(PBX_SCENARIOS / "uas_cancel.xml"), tmp_path, local=(LOOPBACK, port), timeout_s=10
    ) as run:
        with pytest.raises(CallFailed) as failed:
            await ua.call(
                f"sip:900@{LOOPBACK}:{port}",
                proxy=(LOOPBACK, port),
                from_uri="sip:ivr@provd.test",
                sdp=OFFER,
                timeout_s=1,
            )
        result = await run.finish()
    assert failed.value.status == 408
    assert result.rc == 0, result.output  # CANCEL, then the 487's ACK
