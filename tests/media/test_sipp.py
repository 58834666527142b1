"""A real sipp as the far phone: it answers our INVITE (whose SDP is offer_sdp's),
its 200 OK's SDP is read with parse_sdp, and after the ACK it plays its own RFC 2833
capture of key 1 to the session, which reports the key once.

The SIP here is the least that makes sipp play: one INVITE and one ACK from a bare
socket. Starting sipp makes the test slow."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from provd.media.rtp import RtpPacket, RtpSession, telephone_event_payload
from provd.media.sdp import choose_codec, offer_sdp, parse_sdp
from tests.pbx.sippctl import sipp

pytestmark = pytest.mark.slow

HOST = "127.0.0.1"
SCENARIO = Path(__file__).parent / "sipp" / "uas_dtmf_1.xml"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def signalling() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        sock.setblocking(False)
        yield sock


def _request(method: str, target: str, via_port: int, cseq: int, to: str, body: str) -> bytes:
    head = [
        f"{method} {target} SIP/2.0",
        f"Via: SIP/2.0/UDP {HOST}:{via_port};branch=z9hG4bK-media-{method.lower()}",
        f"From: <sip:ivr@{HOST}>;tag=media",
        to,
        "Call-ID: media-sipp-dtmf",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:ivr@{HOST}:{via_port}>",
        "Max-Forwards: 70",
        *(["Content-Type: application/sdp"] if body else []),
        f"Content-Length: {len(body.encode())}",
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode()


async def test_sipp_phone_presses_1_and_the_session_hears_it_once(
    tmp_path: Path, signalling: socket.socket
) -> None:
    loop = asyncio.get_running_loop()
    sip_port, media_port = _free_udp_port(), _free_udp_port()
    session = await RtpSession.open(HOST, (46000, 47000))
    try:
        async with sipp(
            str(SCENARIO), tmp_path, local=(HOST, sip_port), media=(HOST, media_port)
        ) as run:
            target = f"sip:phone@{HOST}:{sip_port}"
            own_port = signalling.getsockname()[1]
            invite = _request(
                "INVITE",
                target,
                own_port,
                1,
                f"To: <{target}>",
                offer_sdp(HOST, session.local_port, 7),
            )
            signalling.sendto(invite, (HOST, sip_port))
            async with asyncio.timeout(10):
                data, _ = await loop.sock_recvfrom(signalling, 4096)
            head, _, body = data.decode().partition("\r\n\r\n")
            assert head.startswith("SIP/2.0 200 OK")
            answer = parse_sdp(body)
            assert (answer.host, answer.port) == (HOST, media_port)
            chosen = choose_codec(answer)
            assert chosen == (8, "PCMA")
            session.set_remote(answer.host, answer.port, *chosen, answer.event_type)
            to = next(line for line in head.split("\r\n") if line.lower().startswith("to:"))
            signalling.sendto(_request("ACK", target, own_port, 1, to, ""), (HOST, sip_port))
            async with asyncio.timeout(10):
                assert await session.digits.get() == "1"
            result = await run.finish()
        assert result.rc == 0, result.output
        # sipp has sent all it will: a key from its media port, now free, comes after it.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as after:
            after.bind((HOST, media_port))
            end = telephone_event_payload("9", True, 10, 800)
            after.sendto(RtpPacket(101, 1, 99999, 1, end).pack(), (HOST, session.local_port))
            async with asyncio.timeout(10):
                assert await session.digits.get() == "9"
        assert session.digits.empty()
    finally:
        session.close()
