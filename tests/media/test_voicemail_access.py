"""A user's own mailbox (``vmbox-<extension>``), with provd's own user agent calling the
media application on loopback (no Kamailio): the PIN by RFC 2833, the messages heard,
deleted and recorded over, all reported through the spool and nothing else changed."""

from __future__ import annotations

import asyncio
import math
from array import array
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from provd.domain.voicemail_pin import hash_pin
from provd.media import sounds
from provd.media.app import MediaSettings
from provd.media.catalogue import Catalogue
from provd.media.mailbox_actions import read_actions, read_greetings
from provd.media.mailboxes import Mailbox, MailboxMessage, write_mailboxes
from provd.media.rtp import RtpSession
from provd.media.ua import IncomingCall, UserAgent
from provd.media.voicemail import BEEP_HZ
from provd.media.voicemail_access import PROMPTS_DIR, missing_prompts
from tests.media.test_voicemail import HOST, Env, _App

APP_RTP = (47800, 48200)
NEW_HZ = 1300.0
OLD_HZ = 900.0
VOICE_HZ = 700.0
PIN = "4711"


@pytest.fixture
async def mailbox(tmp_path: Path) -> AsyncIterator[Env]:
    """2001's mailbox: a new message (id 5, 1300 Hz) and a heard one (id 4, 900 Hz)."""
    new, old = tmp_path / "store" / "5.wav", tmp_path / "store" / "4.wav"
    new.parent.mkdir()
    sounds.write_wav(new, sounds.tone(NEW_HZ, 3000))
    sounds.write_wav(old, sounds.tone(OLD_HZ, 3000))
    pin = hash_pin(PIN, iterations=1000).stored()
    messages = (MailboxMessage(5, str(new), False), MailboxMessage(4, str(old), True))
    write_mailboxes(
        tmp_path,
        {"acme.test": {"2001": Mailbox(pin=pin, messages=messages), "2002": Mailbox()}},
    )
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


async def _keys(rtp: RtpSession, keys: str) -> None:
    for key in keys:
        await rtp.send_digit(key)
        await asyncio.sleep(0.05)


def tone_share(pcm16: bytes, hz: float) -> float:
    """The share of ``pcm16``'s energy at ``hz`` (about 1 for a pure tone, little for
    speech, which spreads over many frequencies): tells the tone from a spoken prompt."""
    samples = array("h", pcm16)
    if not samples:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * hz / sounds.SAMPLE_RATE)
    previous = before = 0.0
    for sample in samples:
        previous, before = sample + coeff * previous - before, previous
    power = previous * previous + before * before - coeff * previous * before
    energy = sum(s * s for s in samples)
    return 2 * power / (len(samples) * energy) if energy else 0.0


async def hear_tone(rtp: RtpSession, hz: float) -> None:
    """Listen in 100 ms slices until one is the pure tone ``hz`` (10 s at most)."""
    async with asyncio.timeout(10):
        while True:
            rtp.start_recording()
            await asyncio.sleep(0.1)
            pcm = sounds.decode(rtp.stop_recording(), rtp.codec or "PCMA")
            if tone_share(pcm, hz) > 0.5:
                return


def test_every_prompt_is_packaged() -> None:
    assert missing_prompts() == []
    assert PROMPTS_DIR.parent.name == "media"


async def test_the_user_listens_and_deletes_after_the_pin(mailbox: Env) -> None:
    call, rtp = await mailbox.call("vmbox-2001")
    try:
        await _keys(rtp, PIN + "#")
        await asyncio.sleep(0.5)  # the PIN is checked; the summary starts
        await _keys(rtp, "1")
        await hear_tone(rtp, NEW_HZ)  # the new one comes first
        await _keys(rtp, "7")
        await hear_tone(rtp, OLD_HZ)  # then the saved one
        await _keys(rtp, "##")  # back to the menu, and out
        async with asyncio.timeout(10):
            await call.ended.wait()  # goodbye, and the media application hangs up
    finally:
        rtp.close()
    await mailbox.finished()
    [deleted] = read_actions(mailbox.data)
    assert (deleted.domain, deleted.mailbox, deleted.action, deleted.message) == (
        "acme.test",
        "2001",
        "delete",
        5,
    )


async def test_a_message_played_to_its_end_is_reported_heard(mailbox: Env) -> None:
    call, rtp = await mailbox.call("vmbox-2001")
    try:
        await _keys(rtp, PIN + "#")
        await asyncio.sleep(0.5)
        await _keys(rtp, "1")
        async with asyncio.timeout(10):
            while not read_actions(mailbox.data):
                await asyncio.sleep(0.1)
        await call.hang_up()
    finally:
        rtp.close()
    await mailbox.finished()
    assert [(a.action, a.message) for a in read_actions(mailbox.data)] == [("heard", 5)]


async def test_three_wrong_pins_end_the_call_and_change_nothing(mailbox: Env) -> None:
    call, rtp = await mailbox.call("vmbox-2001")
    try:
        for _ in range(3):
            await _keys(rtp, "1234#")
            await asyncio.sleep(0.3)
        async with asyncio.timeout(15):
            await call.ended.wait()
    finally:
        rtp.close()
    await mailbox.finished()
    assert read_actions(mailbox.data) == []
    assert read_greetings(mailbox.data) == []


async def test_a_mailbox_without_a_pin_stays_shut(mailbox: Env) -> None:
    call, rtp = await mailbox.call("vmbox-2002")
    try:
        await _keys(rtp, "1234#1")
        async with asyncio.timeout(15):
            await call.ended.wait()
    finally:
        rtp.close()
    await mailbox.finished()
    assert read_actions(mailbox.data) == []


async def test_the_user_records_a_greeting(mailbox: Env) -> None:
    call, rtp = await mailbox.call("vmbox-2001")
    try:
        await _keys(rtp, PIN + "#")
        await asyncio.sleep(0.5)
        await _keys(rtp, "2")
        await hear_tone(rtp, BEEP_HZ)
        await asyncio.sleep(0.5)  # the rest of the tone
        await rtp.play(sounds.frames(sounds.tone(VOICE_HZ, 2000), rtp.codec or "PCMA"))
        await _keys(rtp, "#")
        async with asyncio.timeout(10):
            while not read_greetings(mailbox.data):
                await asyncio.sleep(0.1)
        await call.hang_up()
    finally:
        rtp.close()
    await mailbox.finished()
    [(greeting, wav)] = read_greetings(mailbox.data)
    assert (greeting.domain, greeting.mailbox) == ("acme.test", "2001")
    assert 1800 <= greeting.duration_ms <= 3000
    assert sounds.dominant_frequency(sounds.read_prompt(wav), (VOICE_HZ, BEEP_HZ)) == VOICE_HZ
    assert read_actions(mailbox.data) == []
