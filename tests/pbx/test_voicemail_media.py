"""Voicemail through real Kamailio, rtpengine and provd's media application: a carrier's
caller reaches a number routed to a user's mailbox, hears the beep, speaks and hangs
up, and the media application's spool holds the message as provd will collect it.

The routing data is given to the route listener directly (as test_ivr does); the
caller is provd's own user agent, which hears the greeting and the beep and speaks a
tone, or sipp playing a recording.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from provd.domain.routing import ToVoicemail
from provd.media import sdp, sounds
from provd.media.mailboxes import MAILBOXES_FILE, Mailbox, write_mailboxes
from provd.media.rtp import RtpSession
from provd.media.spool import SPOOL_DIR, SpooledMessage, read_spool
from provd.media.ua import IncomingCall, UserAgent
from provd.media.voicemail import BEEP_HZ
from provd.pbx.media_app import media_dir, sounds_dir
from tests.pbx.conftest import ACME, PbxEnv, acme_called_from, ip
from tests.pbx.sippctl import run_sipp

pytestmark = pytest.mark.asyncio(loop_scope="session")

CARRIER_UAC = (ip(94), 5062)  # where the carrier calls from
DID = "+31201234598"
VOICE_HZ = 700.0
GREETING_HZ = 500.0
HEARD = (300.0, GREETING_HZ, VOICE_HZ, BEEP_HZ)
SIPP_PCAP = Path("/usr/share/sip-tester/g711a.pcap")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def mailbox(pbx: PbxEnv) -> AsyncIterator[Path]:
    """Calls to DID go to 2001's mailbox, whose greeting is a second of 500 Hz; the
    media application's data directory is given."""
    data = media_dir(pbx.supervisor.settings)
    greeting = sounds_dir(pbx.supervisor.settings) / "acme" / "vm-2001.wav"
    greeting.parent.mkdir(parents=True, exist_ok=True)
    sounds.write_wav(greeting, sounds.tone(GREETING_HZ, 1000))
    write_mailboxes(data, {ACME: {"2001": Mailbox(greeting="acme/vm-2001")}})
    try:
        with acme_called_from(pbx, CARRIER_UAC[0], numbers={DID: ToVoicemail("2001")}):
            yield data
    finally:
        (data / MAILBOXES_FILE).unlink(missing_ok=True)


@pytest.fixture
def spool(mailbox: Path) -> Path:
    """The media data directory with an empty spool."""
    shutil.rmtree(mailbox / SPOOL_DIR, ignore_errors=True)
    return mailbox


async def _spooled(data: Path) -> list[tuple[SpooledMessage, Path]]:
    """The spool once the media application wrote a message (or 10 s passed)."""
    async with asyncio.timeout(10):
        while not (found := read_spool(data)):
            await asyncio.sleep(0.1)
    return found


async def test_a_caller_leaves_a_message_after_the_beep(pbx: PbxEnv, spool: Path) -> None:
    async def no_calls(call: IncomingCall) -> None:  # the caller takes no calls
        await call.reject(403, "Forbidden")

    ua = await UserAgent.start(CARRIER_UAC[0], 5064, no_calls)
    rtp = await RtpSession.open(CARRIER_UAC[0], (19700, 19800))
    try:
        proxy_host, proxy_port = pbx.proxy.split(":")
        call = await ua.call(
            f"sip:0201234598@{proxy_host}",
            proxy=(proxy_host, int(proxy_port)),
            from_uri=f"sip:0612345678@{CARRIER_UAC[0]}",
            from_display="Jan Jansen",
            sdp=sdp.offer_sdp(CARRIER_UAC[0], rtp.local_port, 1).encode(),
        )
        answer = sdp.parse_sdp(call.answer.decode())
        # The media went through rtpengine, not straight to the media application.
        assert answer.host == pbx.supervisor.settings.media_address
        chosen = sdp.choose_codec(answer)
        assert chosen is not None
        codec = chosen[1]
        rtp.set_remote(answer.host, answer.port, chosen[0], codec, answer.event_type)
        # Something must flow toward rtpengine for it to learn where to send.
        await rtp.play(sounds.frames(sounds.tone(300, 100, amplitude=0.01), codec))
        tones: list[float] = []
        async with asyncio.timeout(10):
            while BEEP_HZ not in tones:
                rtp.start_recording()
                await asyncio.sleep(0.1)
                heard = sounds.decode(rtp.stop_recording(), codec)
                if heard:
                    tones.append(sounds.dominant_frequency(heard, HEARD))
        assert tones.count(GREETING_HZ) >= 3, tones  # the greeting came before the beep
        await asyncio.sleep(0.5)  # the rest of the beep: the recording starts after it
        await rtp.play(sounds.frames(sounds.tone(VOICE_HZ, 2000), codec))
        await call.hang_up()
    finally:
        rtp.close()
        await ua.close()
    [(message, wav)] = await _spooled(spool)
    assert (message.domain, message.mailbox) == (ACME, "2001")
    assert message.caller_number == "+31612345678"
    assert message.caller_name == "Jan Jansen"
    assert message.reason == ""  # a number routed here, not a forward
    pcm = sounds.read_prompt(wav)
    assert sounds.dominant_frequency(pcm, HEARD) == VOICE_HZ
    assert 1500 <= message.duration_ms <= 3000
    assert message.duration_ms == len(pcm) // 16


@pytest.mark.skipif(not SIPP_PCAP.exists(), reason=f"sipp's {SIPP_PCAP} is not installed")
async def test_sipp_as_the_carrier_leaves_a_recorded_message(pbx: PbxEnv, spool: Path) -> None:
    carrier = await run_sipp(
        "carrier_voicemail.xml",
        pbx.work,
        remote=pbx.proxy,
        local=(CARRIER_UAC[0], 5066),
        media=(CARRIER_UAC[0], 19640),
        rows=[["0201234598", "0612345678", "Jan Jansen", "X-Test: voicemail", "5000"]],
        timeout_s=20,
    )
    assert carrier.rc == 0, carrier.messages
    [(message, wav)] = await _spooled(spool)
    assert message.mailbox == "2001"
    pcm = sounds.read_prompt(wav)
    assert message.duration_ms >= 1000
    assert any(pcm[at : at + 2] != b"\x00\x00" for at in range(0, len(pcm), 2))
