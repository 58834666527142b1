"""A user's own mailbox through real Kamailio, rtpengine and provd's media application:
a caller from outside leaves a message, the user's phone (sipp, authenticated as the
user) dials ``*1233``, gives the PIN by RFC 2833, hears the message and deletes it;
provd's collector applies that as the user (audited) and the phone's lamp goes out. A
wrong PIN three times changes nothing, and a greeting recorded from the phone is what
the next caller to the mailbox hears.

The phone's audio is the test's own RTP socket (the sipp scenario offers it in its
SDP), so the test hears what the media application plays and sends the keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from provd.db.models import AuditEntry, VoicemailMessage
from provd.domain.routing import ToVoicemail
from provd.media import sdp, sounds
from provd.media.mailboxes import MAILBOXES_FILE
from provd.media.rtp import RtpSession
from provd.media.ua import IncomingCall, UserAgent
from provd.media.voicemail import BEEP_HZ
from provd.pbx.media_app import media_dir
from provd.services import voicemail
from provd.services.voicemail import mailbox
from provd.services.voicemail.collector import VoicemailCollector
from provd.services.voicemail.spool_io import write_mailboxes
from tests.conftest import TEST_ACTOR
from tests.media.test_voicemail_access import hear_tone
from tests.pbx.conftest import ACME, PbxEnv, acme_called_from, ip, reg_row
from tests.pbx.sippctl import run_sipp, sipp

pytestmark = pytest.mark.asyncio(loop_scope="session")

CARRIER_UAC = (ip(160), 5062)
PHONE = (ip(161), 5090)
"""Where 2000's phone is registered (and receives the lamp's NOTIFY)."""
PHONE_UAC = (ip(162), 5092)
"""Where 2000's phone calls from."""
PHONE_RTP = 19900
DID = "+31201234596"
EXTENSION = "2000"
PIN = "4711"
MESSAGE_HZ = 1300.0
GREETING_HZ = 600.0


@dataclass
class Env:
    pbx: PbxEnv
    media: Path
    collector: VoicemailCollector


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def box(pbx: PbxEnv) -> AsyncIterator[Env]:
    """2000's mailbox with a PIN, reachable from the carrier at DID; the collector as
    serve runs it (its mailboxes.json written whenever a mailbox changes)."""
    media = media_dir(pbx.supervisor.settings)

    async def rewrite() -> None:
        write_mailboxes(media, await voicemail.media_mailboxes(pbx.data_dir))

    collector = VoicemailCollector(
        media,
        pbx.data_dir,
        control=pbx.supervisor.control,
        smtp=None,
        retention_days=30,
        on_mailboxes_changed=rewrite,
    )
    async with pbx.orm():
        await mailbox.set_pin(TEST_ACTOR, "acme", EXTENSION, PIN)
        await rewrite()
    try:
        with acme_called_from(pbx, CARRIER_UAC[0], numbers={DID: ToVoicemail(EXTENSION)}):
            yield Env(pbx, media, collector)
    finally:
        (media / MAILBOXES_FILE).unlink(missing_ok=True)
        async with pbx.orm():
            await mailbox.set_pin(TEST_ACTOR, "acme", EXTENSION, None)
            await mailbox.set_greeting(TEST_ACTOR, "acme", EXTENSION, None)


async def _collect_until(env: Env, done: Callable[[], Awaitable[bool]]) -> None:
    """Run the collector's rounds (as serve does every second) until ``done()`` is true;
    inside the test's ``pbx.orm()``."""
    async with asyncio.timeout(15):
        while True:
            await env.collector.collect()
            if await done():
                return
            await asyncio.sleep(0.2)


async def _messages() -> list[VoicemailMessage]:
    return await VoicemailMessage.filter(user__extension=EXTENSION, tenant__slug="acme")


async def _leave_message(pbx: PbxEnv, hz: float, *, until_hz: float = BEEP_HZ) -> list[float]:
    """A caller from outside calls the mailbox, listens until the beep (noting what it
    heard, in 100 ms slices), speaks a tone of ``hz`` for 2 s and hangs up."""

    async def no_calls(call: IncomingCall) -> None:
        await call.reject(403, "Forbidden")

    ua = await UserAgent.start(CARRIER_UAC[0], 5064, no_calls)
    rtp = await RtpSession.open(CARRIER_UAC[0], (19800, 19900))
    heard: list[float] = []
    try:
        host, port = pbx.proxy.split(":")
        call = await ua.call(
            f"sip:0201234596@{host}",
            proxy=(host, int(port)),
            from_uri=f"sip:0612345678@{CARRIER_UAC[0]}",
            sdp=sdp.offer_sdp(CARRIER_UAC[0], rtp.local_port, 1).encode(),
        )
        answer = sdp.parse_sdp(call.answer.decode())
        chosen = sdp.choose_codec(answer)
        assert chosen is not None
        rtp.set_remote(answer.host, answer.port, chosen[0], chosen[1], answer.event_type)
        codec = chosen[1]
        await rtp.play(sounds.frames(sounds.tone(300, 100, amplitude=0.01), codec))
        async with asyncio.timeout(10):
            while not heard or heard[-1] != until_hz:
                rtp.start_recording()
                await asyncio.sleep(0.1)
                pcm = sounds.decode(rtp.stop_recording(), codec)
                if pcm:
                    heard.append(sounds.dominant_frequency(pcm, (GREETING_HZ, BEEP_HZ, 300.0)))
        await asyncio.sleep(0.5)
        await rtp.play(sounds.frames(sounds.tone(hz, 2000), codec))
        await call.hang_up()
    finally:
        rtp.close()
        await ua.close()
    return heard


async def _latched_rtp(host: str, port: int) -> RtpSession:
    """The phone's RTP on ``host:port``, sending to whoever sends to it first (rtpengine,
    whose answer went to sipp, not here)."""
    loop = asyncio.get_running_loop()
    first: asyncio.Future[tuple[str, int]] = loop.create_future()

    class _First(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            if not first.done():
                first.set_result((addr[0], addr[1]))

    transport, _ = await loop.create_datagram_endpoint(_First, local_addr=(host, port))
    try:
        async with asyncio.timeout(10):
            remote = await first
    finally:
        transport.close()
    await asyncio.sleep(0)  # the socket closes in the loop's next round
    rtp = await RtpSession.open(host, (port, port + 2))
    rtp.set_remote(remote[0], remote[1], 8, "PCMA", 101)
    return rtp


async def _keys(rtp: RtpSession, keys: str) -> None:
    for key in keys:
        await rtp.send_digit(key)
        await asyncio.sleep(0.05)


async def _mailbox_call(
    env: Env,
    work: Callable[[RtpSession], Awaitable[None]],
    *,
    caller: str = EXTENSION,
    dialled: str = "*1233",
) -> None:
    """2000's phone dials *1233 (sipp, authenticated as 2000, with the test's RTP);
    ``work(rtp)`` plays the user's part; the media application hangs up at the end.
    ``caller`` and ``dialled``: another user's phone, another code."""
    account = env.pbx.accounts[caller]
    row = [account.extension, ACME, account.auth(), dialled, ACME, PHONE_UAC[0], str(PHONE_RTP)]
    async with sipp(
        "uac_call_media.xml",
        env.pbx.work,
        remote=env.pbx.proxy,
        local=PHONE_UAC,
        media=(PHONE_UAC[0], 19950),
        rows=[row],
        timeout_s=60,
    ) as phone:
        rtp = await _latched_rtp(PHONE_UAC[0], PHONE_RTP)
        try:
            await work(rtp)
        finally:
            rtp.close()
        result = await phone.finish()
    assert result.rc == 0, result.messages  # the call ended with the media app's BYE


async def test_the_user_hears_and_deletes_a_message_and_the_lamp_goes_out(box: Env) -> None:
    pbx = box.pbx
    registered = await run_sipp(
        "register.xml", pbx.work, remote=pbx.proxy, local=PHONE,
        rows=[reg_row(pbx.accounts[EXTENSION], PHONE)],
    )  # fmt: skip
    assert registered.rc == 0, registered.messages
    async with (
        pbx.orm(),
        sipp("uas_notify.xml", pbx.work, local=PHONE, calls=2, timeout_s=60) as lamp,
    ):
        before = {m.id for m in await _messages()}
        await _leave_message(pbx, MESSAGE_HZ)

        async def filed() -> bool:
            return len(await _messages()) > len(before)

        await _collect_until(box, filed)
        [message] = [m for m in await _messages() if m.id not in before]

        async def listen_and_delete(rtp: RtpSession) -> None:
            await _keys(rtp, PIN + "#")
            await asyncio.sleep(0.5)  # checked; the summary begins
            await _keys(rtp, "1")
            await hear_tone(rtp, MESSAGE_HZ)  # the message, straight away
            await _keys(rtp, "7")
            await asyncio.sleep(1.5)  # "deleted", "no more messages", the summary...
            await _keys(rtp, "#")  # leave: goodbye, and the media application hangs up

        await _mailbox_call(box, listen_and_delete)

        async def deleted() -> bool:
            return not await VoicemailMessage.filter(id=message.id).exists()

        await _collect_until(box, deleted)
        received = await lamp.finish()
        entry = await AuditEntry.filter(
            action="voicemail.remove", object_key=f"acme/{message.id}"
        ).get()
    assert received.rc == 0, received.output
    lit, out = received.received(f"NOTIFY sip:{EXTENSION}@{PHONE[0]}:{PHONE[1]}")
    assert "Messages-Waiting: yes" in lit
    assert "Messages-Waiting: no" in out
    assert entry.actor == f"phone:{EXTENSION}@acme"
    assert not (pbx.data_dir / message.path).exists()


async def test_three_wrong_pins_end_the_call_and_change_nothing(box: Env) -> None:
    async with box.pbx.orm():
        before = {m.id for m in await _messages()}
        await _leave_message(box.pbx, MESSAGE_HZ)

        async def filed() -> bool:
            return len(await _messages()) > len(before)

        await _collect_until(box, filed)
        audited = await AuditEntry.all().count()

        async def wrong_pins(rtp: RtpSession) -> None:
            for _ in range(3):
                await _keys(rtp, "1234#")
                await asyncio.sleep(0.3)

        await _mailbox_call(box, wrong_pins)  # ends with the media application's BYE
        await box.collector.collect()
        assert await AuditEntry.all().count() == audited
        assert not any(m.heard for m in await _messages() if m.id not in before)


async def test_a_greeting_recorded_on_the_phone_greets_the_next_caller(box: Env) -> None:
    async def record(rtp: RtpSession) -> None:
        await _keys(rtp, PIN + "#")
        await asyncio.sleep(0.5)
        await _keys(rtp, "2")
        await hear_tone(rtp, BEEP_HZ)
        await asyncio.sleep(0.5)  # the rest of the tone
        await rtp.play(sounds.frames(sounds.tone(GREETING_HZ, 2000), "PCMA"))
        await _keys(rtp, "#")  # saved
        await asyncio.sleep(0.5)
        await _keys(rtp, "#")  # and out

    async with box.pbx.orm():
        await _mailbox_call(box, record)

        async def greeting_set() -> bool:
            return (await mailbox.show_mailbox("acme", EXTENSION))["greeting"] is not None

        await _collect_until(box, greeting_set)
    heard = await _leave_message(box.pbx, MESSAGE_HZ)
    # The greeting played before the beep: the caller heard its tone for a while.
    assert heard.count(GREETING_HZ) >= 5, heard


async def test_a_colleagues_phone_opens_the_mailbox_with_its_extension_and_pin(box: Env) -> None:
    """*1233*2000# from 2001's phone: 2000's mailbox (a shared mailbox is reached the
    same way), behind 2000's PIN; what is done is done as the mailbox's user."""
    async with box.pbx.orm():
        before = {m.id for m in await _messages()}
        await _leave_message(box.pbx, MESSAGE_HZ)

        async def filed() -> bool:
            return len(await _messages()) > len(before)

        await _collect_until(box, filed)
        # An earlier test's caller may be filed in the same round: this one is the newest.
        message = max((m for m in await _messages() if m.id not in before), key=lambda m: m.id)

        async def listen(rtp: RtpSession) -> None:
            await _keys(rtp, PIN + "#")
            await asyncio.sleep(0.5)
            await _keys(rtp, "1")
            await hear_tone(rtp, MESSAGE_HZ)
            await _keys(rtp, "9")  # keep it and go on
            await asyncio.sleep(1.0)
            await _keys(rtp, "#")

        await _mailbox_call(box, listen, caller="2001", dialled=f"*1233*{EXTENSION}#")

        async def heard() -> bool:
            return (await VoicemailMessage.get(id=message.id)).heard

        await _collect_until(box, heard)
        entry = await AuditEntry.filter(
            action="voicemail.heard", object_key=f"acme/{message.id}"
        ).first()
    assert entry is not None and entry.actor == f"phone:{EXTENSION}@acme"
