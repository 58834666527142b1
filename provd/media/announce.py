"""A caller hearing an announcement: its sound, as many times as it says, then BYE.

Kamailio sends ``sip:ann-<extension>@<here>`` with the tenant's SIP domain in To
(provd.domain.routing); announcements.json (provd.media.announcements) says which
sound and how many times. Nothing the caller sends changes that: keys are ignored, and
the call ends when the last play ends or the caller hangs up first.
"""

from __future__ import annotations

import asyncio
import logging

from provd.media import sounds
from provd.media.announcements import Announcement
from provd.media.catalogue import Catalogue
from provd.media.rtp import RtpSession
from provd.media.ua import IncomingCall

log = logging.getLogger(__name__)

GAP_MS = 500
"""Silence between two plays, so that the repeat is heard as one."""


async def play_announcement(
    catalogue: Catalogue, call: IncomingCall, rtp: RtpSession, announcement: Announcement
) -> None:
    """Play the announcement to the answered ``call``; returns when it is over (the
    caller hears the end or hung up). The caller of this hangs up."""
    codec = rtp.codec or "PCMA"
    try:
        frames = catalogue.frames(announcement.sound, codec)
    except (OSError, sounds.PromptError) as exc:
        # Nothing to play is a call that ends at once, not one that stays open.
        log.error("announcement sound %s unusable: %s", announcement.sound, exc)
        return
    gap = sounds.frames(bytes(GAP_MS * 16), codec)  # 8 kHz, 16-bit: 16 bytes a ms
    playing = asyncio.ensure_future(_play(rtp, frames, gap, announcement.plays))
    hung_up = asyncio.ensure_future(call.ended.wait())
    try:
        await asyncio.wait({playing, hung_up}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        playing.cancel()
        hung_up.cancel()


async def _play(rtp: RtpSession, frames: list[bytes], gap: list[bytes], plays: int) -> None:
    for n in range(plays):
        if n:
            await rtp.play(gap)
        await rtp.play(frames)
