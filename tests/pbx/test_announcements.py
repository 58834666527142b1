"""Announcements through real Kamailio, rtpengine and provd's media application: a
carrier's caller reaches a number assigned to an announcement, hears its sound as many
times as it says, and the media application hangs up (BYE).

The routing data is given to the route listener directly (as test_ivr does) and the
announcement to the media application as provd writes it (announcements.json and a
sound). sipp plays the carrier; for what the caller hears, the caller is provd's own
user agent, which records the audio it gets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from provd.domain.routing import ToAnnouncement
from provd.media import sdp, sounds
from provd.media.announcements import ANNOUNCEMENTS_FILE, Announcement, write_announcements
from provd.media.rtp import RtpSession
from provd.media.ua import IncomingCall, UserAgent
from provd.pbx.media_app import media_dir, sounds_dir
from tests.pbx.conftest import ACME, PbxEnv, acme_called_from, ip
from tests.pbx.sippctl import run_sipp

pytestmark = pytest.mark.asyncio(loop_scope="session")

CARRIER_UAC = (ip(100), 5062)  # where the carrier calls from
DID = "+31201234597"
TONE_HZ = 1000.0
TONE_MS = 800
PLAYS = 2
_BLOCK = 160  # 20 ms of 16-bit PCM at 8 kHz, in samples


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def announcement(pbx: PbxEnv) -> AsyncIterator[Path]:
    """Calls to DID go to announcement 800: 0.8 s of 1 kHz, played twice."""
    data = media_dir(pbx.supervisor.settings)
    sound = sounds_dir(pbx.supervisor.settings) / "acme" / "closed.wav"
    sound.parent.mkdir(parents=True, exist_ok=True)
    sounds.write_wav(sound, sounds.tone(TONE_HZ, TONE_MS))
    write_announcements(data, {ACME: {"800": Announcement("acme/closed", PLAYS)}})
    try:
        with acme_called_from(
            pbx,
            CARRIER_UAC[0],
            numbers={DID: ToAnnouncement("800")},
            announcements=frozenset({"800"}),
        ):
            yield data
    finally:
        (data / ANNOUNCEMENTS_FILE).unlink(missing_ok=True)


def _tone_runs(pcm: bytes) -> int:
    """How many stretches of sound (at least 100 ms, apart by at least 100 ms of quiet)
    ``pcm`` holds, 20 ms at a time."""
    samples = memoryview(pcm).cast("h")
    loud = []
    for at in range(0, len(samples) - _BLOCK + 1, _BLOCK):
        block = samples[at : at + _BLOCK]
        loud.append(max(abs(s) for s in block) > 2000)
    runs, streak, quiet = 0, 0, 5
    for is_loud in loud:
        if is_loud:
            streak += 1
            if streak == 5 and quiet >= 5:
                runs += 1
            if streak >= 5:
                quiet = 0
        else:
            streak = 0
            quiet += 1
    return runs


async def test_tone_runs_counts_stretches_of_sound() -> None:
    tone = sounds.tone(TONE_HZ, 300)
    silence = bytes(2 * 8 * 300)
    assert _tone_runs(tone + silence + tone) == 2
    assert _tone_runs(silence + tone + silence) == 1
    assert _tone_runs(silence) == 0


async def test_sipp_as_the_carrier_is_answered_and_gets_the_bye(
    pbx: PbxEnv, announcement: Path
) -> None:
    result = await run_sipp(
        "carrier_announcement.xml",
        pbx.work,
        remote=pbx.proxy,
        local=CARRIER_UAC,
        media=(CARRIER_UAC[0], 19600),
        rows=[["0201234597", "0612345678", "Jan Jansen"]],
        timeout_s=20,
    )
    assert result.rc == 0, result.messages
    # The scenario never hangs up: the one BYE is the media application's, once the
    # announcement was played.
    [bye] = result.received("BYE ")
    assert bye.startswith("BYE sip:0612345678@"), bye


async def test_the_caller_hears_the_sound_twice_then_the_call_ends(
    pbx: PbxEnv, announcement: Path
) -> None:
    async def no_calls(call: IncomingCall) -> None:  # the caller takes no calls
        await call.reject(403, "Forbidden")

    ua = await UserAgent.start(CARRIER_UAC[0], 5064, no_calls)
    rtp = await RtpSession.open(CARRIER_UAC[0], (19700, 19800))
    try:
        proxy_host, proxy_port = pbx.proxy.split(":")
        call = await ua.call(
            f"sip:0201234597@{proxy_host}",
            proxy=(proxy_host, int(proxy_port)),
            from_uri=f"sip:0612345678@{CARRIER_UAC[0]}",
            sdp=sdp.offer_sdp(CARRIER_UAC[0], rtp.local_port, 1).encode(),
        )
        answer = sdp.parse_sdp(call.answer.decode())
        # The media went through rtpengine, not straight to the media application.
        assert answer.host == pbx.supervisor.settings.media_address
        chosen = sdp.choose_codec(answer)
        assert chosen is not None
        rtp.set_remote(answer.host, answer.port, chosen[0], chosen[1], answer.event_type)
        rtp.start_recording()
        # Something must flow toward rtpengine for it to learn where to send.
        await rtp.play(sounds.frames(sounds.tone(300, 200, amplitude=0.01), chosen[1]))
        async with asyncio.timeout(15):
            await call.ended.wait()  # the media application hung up
        pcm = sounds.decode(rtp.stop_recording(), chosen[1])
        assert sounds.dominant_frequency(pcm, (300.0, TONE_HZ, 2000.0)) == TONE_HZ
        assert _tone_runs(pcm) == PLAYS
    finally:
        rtp.close()
        await ua.close()
