"""IVR menus through real Kamailio, rtpengine and provd's media application: a carrier's
caller reaches a number on a menu, hears the greeting, presses a key (RFC 2833) or
nothing, and is put through to the user routing gives that key or the menu's default.

The routing data is given to the route listener directly (as test_call_handling does)
and the menus to the media application as provd writes them (menus.json and a sound).
sipp plays the carrier and the phones; for what the caller hears, the caller is
provd's own user agent, which records the audio it gets.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from provd.domain import ivr
from provd.domain.routing import (
    MenuRouting,
    ToMenu,
    ToUser,
)
from provd.media import sdp, sounds
from provd.media.catalogue import write_menus
from provd.media.rtp import RtpSession
from provd.media.ua import IncomingCall, UserAgent
from provd.pbx.media_app import media_dir, sounds_dir
from tests.pbx.conftest import ACME, PbxEnv, acme_called_from, ip, reg_row, unregister
from tests.pbx.sippctl import SippResult, run_sipp, sipp

pytestmark = pytest.mark.asyncio(loop_scope="session")

CARRIER_UAC = (ip(90), 5062)  # where the carrier calls from
PHONE_2001 = (ip(91), 5082)
PHONE_2002 = (ip(92), 5084)
DID = "+31201234599"
GREETING_HZ = 1000.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def menus(pbx: PbxEnv) -> AsyncIterator[PbxEnv]:
    for ext, where in (("2001", PHONE_2001), ("2002", PHONE_2002)):
        row = reg_row(pbx.accounts[ext], where)
        result = await run_sipp("register.xml", pbx.work, remote=pbx.proxy, local=where, rows=[row])
        assert result.rc == 0, result.messages
    data = media_dir(pbx.supervisor.settings)
    greeting = sounds_dir(pbx.supervisor.settings) / "acme" / "day.wav"
    greeting.parent.mkdir(parents=True, exist_ok=True)
    sounds.write_wav(greeting, sounds.tone(GREETING_HZ, 1000))
    write_menus(
        data,
        {
            ACME: {
                "700": ivr.Menu(
                    "700",
                    greeting="acme/day",
                    keys={"1": ivr.Transfer(), "2": ivr.Transfer(), "#": ivr.HangUp()},
                    timeout_s=1,
                    max_attempts=1,
                    has_default=True,
                )
            }
        },
    )
    menu = MenuRouting("700", "Day", keys={"1": ToUser("2001")}, default=ToUser("2002"))
    try:
        with acme_called_from(
            pbx, CARRIER_UAC[0], numbers={DID: ToMenu("700")}, menus={"700": menu}
        ):
            yield pbx
    finally:
        await unregister(pbx, ("2001", "2002"))


async def carrier_calls(
    pbx: PbxEnv, scenario: str, hold_ms: int, phone: tuple[str, int], media_port: int
) -> tuple[SippResult, SippResult]:
    """The carrier calls the menu's number; the phone at ``phone`` answers."""
    async with sipp(
        "uas_call.xml", pbx.work, local=phone, media=(phone[0], media_port), timeout_s=20
    ) as answering:
        carrier = await run_sipp(
            scenario,
            pbx.work,
            remote=pbx.proxy,
            local=CARRIER_UAC,
            media=(CARRIER_UAC[0], 19600),
            rows=[["0201234599", "0612345678", "Jan Jansen", "X-Test: ivr", str(hold_ms)]],
            timeout_s=20,
        )
        answered = await answering.finish()
    return carrier, answered


async def test_a_key_puts_the_caller_through_to_the_user_routing_gives_it(menus: PbxEnv) -> None:
    carrier, phone = await carrier_calls(menus, "carrier_ivr_key.xml", 3000, PHONE_2001, 19610)
    assert carrier.rc == 0, carrier.messages
    assert phone.rc == 0, phone.messages
    [invite] = phone.received("INVITE ")
    # The call back came from the media application as the caller, through Kamailio.
    assert re.search(r'^From: "?Jan Jansen"? <sip:0612345678@acme\.test>', invite, re.M), invite
    assert invite.split()[1].startswith("sip:2001@")
    # The phone got its BYE when the caller hung up (the media application passed it on).
    assert len(phone.received("BYE ")) == 1


async def test_no_key_leaves_the_menu_for_its_default(menus: PbxEnv) -> None:
    carrier, phone = await carrier_calls(menus, "carrier_ivr_silent.xml", 5000, PHONE_2002, 19620)
    assert carrier.rc == 0, carrier.messages
    assert phone.rc == 0, phone.messages
    [invite] = phone.received("INVITE ")
    assert invite.split()[1].startswith("sip:2002@")


async def test_the_caller_hears_the_greeting_and_a_hash_hangs_up(menus: PbxEnv) -> None:
    ended = asyncio.Event()

    async def no_calls(call: IncomingCall) -> None:  # the caller takes no calls
        ended.set()

    ua = await UserAgent.start(CARRIER_UAC[0], 5064, no_calls)
    rtp = await RtpSession.open(CARRIER_UAC[0], (19700, 19800))
    try:
        proxy_host, proxy_port = menus.proxy.split(":")
        call = await ua.call(
            f"sip:0201234599@{proxy_host}",
            proxy=(proxy_host, int(proxy_port)),
            from_uri=f"sip:0612345678@{CARRIER_UAC[0]}",
            sdp=sdp.offer_sdp(CARRIER_UAC[0], rtp.local_port, 1).encode(),
        )
        answer = sdp.parse_sdp(call.answer.decode())
        # The media went through rtpengine, not straight to the media application.
        assert answer.host == menus.supervisor.settings.media_address
        chosen = sdp.choose_codec(answer)
        assert chosen is not None
        rtp.set_remote(answer.host, answer.port, chosen[0], chosen[1], answer.event_type)
        rtp.start_recording()
        # Something must flow toward rtpengine for it to learn where to send.
        await rtp.play(sounds.frames(sounds.tone(300, 600, amplitude=0.01), chosen[1]))
        await asyncio.sleep(0.5)
        heard = rtp.stop_recording()
        assert len(heard) >= 4000, len(heard)  # half a second of the greeting at least
        pcm = sounds.decode(heard, chosen[1])
        assert sounds.dominant_frequency(pcm, (300.0, GREETING_HZ, 2000.0)) == GREETING_HZ
        await rtp.send_digit("#")
        async with asyncio.timeout(5):
            await call.ended.wait()  # the menu hung up
    finally:
        rtp.close()
        await ua.close()


async def test_a_caller_put_through_and_the_phone_hear_each_other(menus: PbxEnv) -> None:
    """Both ends are provd's own UA with RTP, so what each hears is checked: the media
    application relays the caller's call and the call back, rtpengine on both."""
    phone_at = (ip(93), 5070)
    await unregister(menus, ("2001",))
    row = reg_row(menus.accounts["2001"], phone_at)
    result = await run_sipp(
        "register.xml", menus.work, remote=menus.proxy, local=phone_at, rows=[row]
    )
    assert result.rc == 0, result.messages

    answered: asyncio.Queue[tuple[IncomingCall, RtpSession]] = asyncio.Queue()

    async def phone_answers(call: IncomingCall) -> None:
        offer = sdp.parse_sdp(call.offer.decode())
        chosen = sdp.choose_codec(offer)
        assert chosen is not None
        rtp = await RtpSession.open(phone_at[0], (19820, 19900))
        rtp.set_remote(offer.host, offer.port, chosen[0], chosen[1], offer.event_type)
        await call.answer(
            sdp.answer_sdp(phone_at[0], rtp.local_port, chosen[0], chosen[1], 101, 7).encode()
        )
        rtp.start_recording()
        answered.put_nowait((call, rtp))

    async def no_calls(call: IncomingCall) -> None:
        await call.reject(403, "Forbidden")

    phone = await UserAgent.start(*phone_at, phone_answers)
    caller = await UserAgent.start(CARRIER_UAC[0], 5066, no_calls)
    rtp = await RtpSession.open(CARRIER_UAC[0], (19700, 19800))
    phone_rtp: RtpSession | None = None
    try:
        proxy_host, proxy_port = menus.proxy.split(":")
        call = await caller.call(
            f"sip:0201234599@{proxy_host}",
            proxy=(proxy_host, int(proxy_port)),
            from_uri=f"sip:0612345678@{CARRIER_UAC[0]}",
            sdp=sdp.offer_sdp(CARRIER_UAC[0], rtp.local_port, 1).encode(),
        )
        answer = sdp.parse_sdp(call.answer.decode())
        chosen = sdp.choose_codec(answer)
        assert chosen is not None
        rtp.set_remote(answer.host, answer.port, chosen[0], chosen[1], answer.event_type)
        await rtp.send_digit("1")
        async with asyncio.timeout(10):
            phone_call, phone_rtp = await answered.get()
        # The caller says something at 700 Hz; the phone answers at 1,300 Hz.
        await rtp.play(sounds.frames(sounds.tone(700, 300), chosen[1]))  # rtpengine learns
        await phone_rtp.play(sounds.frames(sounds.tone(1300, 300), chosen[1]))
        phone_rtp.stop_recording()
        phone_rtp.start_recording()
        rtp.start_recording()
        await asyncio.gather(
            rtp.play(sounds.frames(sounds.tone(700, 1000), chosen[1])),
            phone_rtp.play(sounds.frames(sounds.tone(1300, 1000), chosen[1])),
        )
        at_phone = sounds.decode(phone_rtp.stop_recording(), chosen[1])
        at_caller = sounds.decode(rtp.stop_recording(), chosen[1])
        assert len(at_phone) >= 8000 and len(at_caller) >= 8000  # half a second each at least
        candidates = (700.0, 1000.0, 1300.0)
        assert sounds.dominant_frequency(at_phone, candidates) == 700.0
        assert sounds.dominant_frequency(at_caller, candidates) == 1300.0
        await call.hang_up()
        async with asyncio.timeout(5):
            await phone_call.ended.wait()
    finally:
        rtp.close()
        if phone_rtp is not None:
            phone_rtp.close()
        await caller.close()
        await phone.close()
