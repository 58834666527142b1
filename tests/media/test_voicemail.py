"""Leaving a message, with provd's own user agent calling the media application on
loopback (no Kamailio): the caller hears the greeting and the beep, speaks, hangs up,
and the spool holds the message with who called and why it came here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from provd.media import sdp, sounds
from provd.media.app import MediaApp, MediaSettings
from provd.media.catalogue import Catalogue
from provd.media.mailboxes import MAILBOXES_FILE, Mailbox, write_mailboxes
from provd.media.rtp import RtpSession
from provd.media.sip import SipRequest, parse_message
from provd.media.spool import read_spool
from provd.media.ua import IncomingCall, OutgoingCall, UserAgent
from provd.media.voicemail import BEEP_HZ, Caller, caller_of

HOST = "127.0.0.1"
APP_RTP = (47000, 47400)
CALLER_RTP = (47400, 47800)
GREETING_HZ = 500.0
VOICE_HZ = 700.0
HEARD = (GREETING_HZ, VOICE_HZ, BEEP_HZ)


class _App(MediaApp):
    """The media application, telling the test when it is done with each call."""

    def __init__(self, settings: MediaSettings, catalogue: Catalogue) -> None:
        super().__init__(settings, catalogue)
        self.done: asyncio.Queue[str] = asyncio.Queue()

    async def on_invite(self, call: IncomingCall) -> None:
        try:
            await super().on_invite(call)
        finally:
            self.done.put_nowait(call.call_id)


@dataclass
class Env:
    data: Path
    app: _App
    caller: UserAgent

    async def call(
        self, user: str, headers: Sequence[tuple[str, str]] = ()
    ) -> tuple[OutgoingCall, RtpSession]:
        rtp = await RtpSession.open(HOST, CALLER_RTP)
        call = await self.caller.call(
            f"sip:{user}@{HOST}:{self.app.ua.address[1]}",
            proxy=self.app.ua.address,
            from_uri="sip:0612345678@acme.test",
            from_display="Jan Jansen",
            to_uri=f"sip:{user}@acme.test",
            sdp=sdp.offer_sdp(HOST, rtp.local_port, 1).encode(),
            headers=headers,
        )
        answer = sdp.parse_sdp(call.answer.decode())
        chosen = sdp.choose_codec(answer)
        assert chosen is not None
        rtp.set_remote(answer.host, answer.port, chosen[0], chosen[1], answer.event_type)
        return call, rtp

    async def finished(self) -> None:
        async with asyncio.timeout(10):
            await self.app.done.get()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    greeting = tmp_path / "sounds" / "acme" / "vm-2001.wav"
    greeting.parent.mkdir(parents=True)
    sounds.write_wav(greeting, sounds.tone(GREETING_HZ, 1000) * 20)  # whole periods
    write_mailboxes(tmp_path, {"acme.test": {"2001": Mailbox("acme/vm-2001", 2)}})
    app = _App(MediaSettings((HOST, 0), (HOST, 9), HOST, APP_RTP), Catalogue(tmp_path))
    await app.start()

    async def no_calls(call: IncomingCall) -> None:
        await call.reject(403, "Forbidden")

    caller = await UserAgent.start(HOST, 0, no_calls)
    try:
        yield Env(tmp_path, app, caller)
    finally:
        await caller.close()
        await app.close()


async def _listen(rtp: RtpSession, seconds: float) -> float:
    """What the caller mostly hears for ``seconds``."""
    rtp.start_recording()
    await asyncio.sleep(seconds)
    pcm = sounds.decode(rtp.stop_recording(), rtp.codec or "PCMA")
    assert len(pcm) >= 1600, "nothing heard"
    return sounds.dominant_frequency(pcm, HEARD)


async def _wait_for_beep(rtp: RtpSession) -> None:
    async with asyncio.timeout(10):
        while await _listen(rtp, 0.2) != BEEP_HZ:
            pass


def _speak(rtp: RtpSession, ms: int) -> asyncio.Future[None]:
    return asyncio.ensure_future(rtp.play(sounds.frames(sounds.tone(VOICE_HZ, ms), "PCMA")))


async def test_a_key_skips_the_greeting_and_the_message_is_spooled(env: Env) -> None:
    call, rtp = await env.call(
        "vm-2001",
        headers=[
            ("P-Asserted-Identity", "<sip:+31612345678@acme.test>"),
            ("Diversion", "<sip:2001@acme.test>;reason=no-answer"),
        ],
    )
    try:
        await rtp.play(sounds.frames(bytes(320), "PCMA"))
        assert await _listen(rtp, 0.4) == GREETING_HZ
        await rtp.send_digit("5")  # the greeting is 20 s: the beep comes from the key
        await _wait_for_beep(rtp)
        await asyncio.sleep(0.3)  # the rest of the beep
        await _speak(rtp, 1500)
        await call.hang_up()
        await env.finished()
    finally:
        rtp.close()
    [(message, wav)] = read_spool(env.data)
    assert (message.domain, message.mailbox) == ("acme.test", "2001")
    assert (message.caller, message.caller_name) == ("0612345678", "Jan Jansen")
    assert message.caller_number == "+31612345678"
    assert message.reason == "no-answer"
    assert message.call_id == call.call_id
    pcm = sounds.read_prompt(wav)
    assert sounds.dominant_frequency(pcm, HEARD) == VOICE_HZ
    assert 1200 <= message.duration_ms <= 2000
    assert message.duration_ms == len(pcm) // 16


async def test_the_mailbox_limit_ends_the_message_and_the_call(env: Env) -> None:
    call, rtp = await env.call("vm-2001")
    try:
        await rtp.play(sounds.frames(bytes(320), "PCMA"))
        await rtp.send_digit("#")
        await _wait_for_beep(rtp)
        speaking = _speak(rtp, 6000)  # longer than the mailbox's 2 s
        async with asyncio.timeout(8):
            await call.ended.wait()  # the media application hung up
        speaking.cancel()
        await env.finished()
    finally:
        rtp.close()
    [(message, _)] = read_spool(env.data)
    assert 1000 <= message.duration_ms <= 2000
    assert message.caller_number is None and message.reason == ""


async def test_without_a_greeting_the_beep_comes_first_and_a_short_call_is_not_kept(
    env: Env,
) -> None:
    (env.data / MAILBOXES_FILE).unlink()  # every mailbox has the defaults: no greeting
    call, rtp = await env.call("vm-2002")
    try:
        await rtp.play(sounds.frames(bytes(320), "PCMA"))
        assert await _listen(rtp, 0.3) == BEEP_HZ
        await _speak(rtp, 300)
        await call.hang_up()
        await env.finished()
    finally:
        rtp.close()
    assert read_spool(env.data) == []


async def test_a_caller_gone_during_the_greeting_leaves_nothing(env: Env) -> None:
    call, rtp = await env.call("vm-2001")
    rtp.close()
    await call.hang_up()
    await env.finished()
    assert read_spool(env.data) == []


async def test_other_services_are_still_not_found(env: Env) -> None:
    rtp = await RtpSession.open(HOST, CALLER_RTP)
    try:
        for user in ("vm-", "2001"):
            with pytest.raises(Exception, match="404"):
                await env.caller.call(
                    f"sip:{user}@{HOST}",
                    proxy=env.app.ua.address,
                    from_uri="sip:0612345678@acme.test",
                    to_uri=f"sip:{user}@acme.test",
                    sdp=sdp.offer_sdp(HOST, rtp.local_port, 1).encode(),
                )
    finally:
        rtp.close()


def _invite(*headers: tuple[str, str]) -> SipRequest:
    lines = [
        "INVITE sip:vm-2001@127.0.0.1 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1",
        "To: <sip:vm-2001@acme.test>",
        "Call-ID: 1@h",
        "CSeq: 1 INVITE",
        *(f"{name}: {value}" for name, value in headers),
        "Content-Length: 0",
    ]
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(message, SipRequest)
    return message


@pytest.mark.parametrize(
    ("headers", "caller"),
    [
        (
            [("From", '"Jan" <sip:0612345678@acme.test>;tag=1'),
             ("P-Asserted-Identity", "<sip:+31612345678@acme.test>"),
             ("Diversion", '<sip:2001@acme.test>;reason="user-busy", '
                           "<sip:2009@acme.test>;reason=unconditional")],
            Caller("0612345678", "Jan", "+31612345678", "user-busy"),
        ),
        (
            [("From", "Anonymous <sip:anonymous@anonymous.invalid>;tag=1")],
            Caller("", "", None, ""),
        ),
        (
            [("From", "<sip:2002@acme.test>;tag=1"),
             ("P-Asserted-Identity", "<sip:2002@acme.test>, <tel:+31201234502>")],
            Caller("2002", "", "+31201234502", ""),
        ),
        ([("From", "garbage")], Caller("", "", None, "")),
    ],
)  # fmt: skip
def test_the_caller_is_read_from_the_invite(headers: list[tuple[str, str]], caller: Caller) -> None:
    assert caller_of(_invite(*headers)) == caller
