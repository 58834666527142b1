"""Music on hold through real Kamailio and rtpengine: a phone puts its caller on hold
(a re-INVITE with a=sendonly) and the caller hears provd's music on hold until the
phone takes the call off hold (a=sendrecv), then the music stops. A tenant with a
playlist (its file in the media directory) has its own music; one without, the default.

sipp plays the phone that holds; the caller is provd's own user agent, from a
carrier's address, so that what it hears can be recorded and checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from provd.domain.routing import ToUser
from provd.media import sdp, sounds
from provd.media.rtp import RtpSession
from provd.media.ua import IncomingCall, UserAgent
from provd.pbx.media_app import MOH_NOTES_HZ, media_dir, tenant_moh_file, tenant_moh_path
from provd.pbx.moh import join_wavs
from tests.pbx.conftest import PbxEnv, acme_called_from, ip, reg_row, unregister
from tests.pbx.sippctl import run_sipp, sipp

pytestmark = pytest.mark.asyncio(loop_scope="session")

CARRIER = (ip(95), 5062)
PHONE_2001 = (ip(96), 5082)
DID = "+31201234588"
PLAYLIST_HZ = 700.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def holding(pbx: PbxEnv) -> AsyncIterator[PbxEnv]:
    row = reg_row(pbx.accounts["2001"], PHONE_2001)
    result = await run_sipp(
        "register.xml", pbx.work, remote=pbx.proxy, local=PHONE_2001, rows=[row]
    )
    assert result.rc == 0, result.messages
    try:
        with acme_called_from(pbx, CARRIER[0], numbers={DID: ToUser("2001")}):
            yield pbx
    finally:
        await unregister(pbx, ("2001",))


async def _until_quiet(rtp: RtpSession, quiet_s: float, within_s: float) -> None:
    """Until nothing more arrived for ``quiet_s``, at most ``within_s`` (then it fails)."""
    async with asyncio.timeout(within_s):
        seen = -1
        while rtp.recorded_bytes != seen:
            seen = rtp.recorded_bytes
            await asyncio.sleep(quiet_s)


async def _music_on_hold(holding: PbxEnv, ua_port: int = 5064) -> bytes:
    """A carrier's caller (a user agent on ``ua_port``) to 2001, put on hold by the phone
    then taken off: what the caller heard while on hold (16-bit PCM)."""

    async def no_calls(call: IncomingCall) -> None:
        await call.reject(403, "Forbidden")

    ua = await UserAgent.start(CARRIER[0], ua_port, no_calls)
    rtp = await RtpSession.open(CARRIER[0], (19900, 19990))
    try:
        async with sipp(
            "uas_holds.xml", holding.work, local=PHONE_2001, media=(PHONE_2001[0], 19950)
        ) as phone:
            host, port = holding.proxy.split(":")
            call = await ua.call(
                f"sip:0201234588@{host}",
                proxy=(host, int(port)),
                from_uri=f"sip:0612345678@{CARRIER[0]}",
                sdp=sdp.offer_sdp(CARRIER[0], rtp.local_port, 1).encode(),
            )
            answer = sdp.parse_sdp(call.answer.decode())
            chosen = sdp.choose_codec(answer)
            assert chosen is not None
            rtp.set_remote(answer.host, answer.port, chosen[0], chosen[1], answer.event_type)
            rtp.start_recording()
            # The phone sends no audio: whatever comes is rtpengine's music, 0.5 s after
            # the answer for 3 s. A second of it, then its notes.
            async with asyncio.timeout(10):
                while rtp.recorded_bytes < 8000:
                    await asyncio.sleep(0.05)
            heard = sounds.decode(rtp.stop_recording(), chosen[1])
            # Off hold, the music stops: nothing more comes in.
            rtp.start_recording()
            await _until_quiet(rtp, 1.0, within_s=10)
            await call.hang_up()
            result = await phone.finish()
        assert result.rc == 0, result.messages
        reinvites = result.received("SIP/2.0 200")
        assert len(reinvites) == 2, result.messages  # hold and unhold both answered
        return heard
    finally:
        rtp.close()
        await ua.close()


async def test_a_caller_put_on_hold_hears_music_until_taken_off_hold(holding: PbxEnv) -> None:
    # acme has no playlist (no file of its own): the default music.
    media = media_dir(holding.supervisor.settings)
    assert tenant_moh_file(media, "acme") is None
    heard = await _music_on_hold(holding)
    candidates = (*MOH_NOTES_HZ, PLAYLIST_HZ, 1000.0, 300.0)
    assert sounds.dominant_frequency(heard, candidates) in MOH_NOTES_HZ


async def test_a_tenant_with_a_playlist_has_its_own_music_on_hold(
    holding: PbxEnv, tmp_path: Path
) -> None:
    """acme's playlist, two sounds at 700 Hz joined as provd renders them, is what its
    caller hears; without it (the file removed) the default plays again."""
    media = media_dir(holding.supervisor.settings)
    first, second = tmp_path / "a.wav", tmp_path / "b.wav"
    sounds.write_wav(first, sounds.tone(PLAYLIST_HZ, 1500))
    sounds.write_wav(second, sounds.tone(PLAYLIST_HZ, 1500, amplitude=0.2))
    join_wavs([first, second], tenant_moh_path(media, "acme"))
    try:
        assert tenant_moh_file(media, "acme") == tenant_moh_path(media, "acme")
        heard = await _music_on_hold(holding, 5066)
        candidates = (*MOH_NOTES_HZ, PLAYLIST_HZ, 1000.0, 300.0)
        assert sounds.dominant_frequency(heard, candidates) == PLAYLIST_HZ
    finally:
        tenant_moh_path(media, "acme").unlink(missing_ok=True)
    heard = await _music_on_hold(holding, 5068)
    assert sounds.dominant_frequency(heard, candidates) in MOH_NOTES_HZ
