"""A caller leaving a message: the mailbox's greeting, a beep, the recording, the spool.

Kamailio sends ``sip:vm-<extension>@<here>`` with the tenant's SIP domain in To, the
caller in From, their E.164 number in P-Asserted-Identity when known and, when a
forward sent the call here, a Diversion saying why (provd.domain.routing). A key
pressed during the greeting skips to the beep. The recording runs until the caller
hangs up or the mailbox's limit is reached (then a short beep and we hang up); a
message under a second is a caller who gave up, not a message, and is not kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime

from provd.media import g711, sounds, spool
from provd.media.catalogue import Catalogue
from provd.media.mailboxes import Mailbox, MailboxesError
from provd.media.rtp import RtpSession
from provd.media.sip import Headers, SipParseError, SipRequest, parse_name_addr, split_list
from provd.media.ua import IncomingCall

log = logging.getLogger(__name__)

BEEP_HZ = 1000.0
BEEP_MS = 400
END_BEEP_MS = 150
MIN_MESSAGE_MS = 1000
"""Shorter than this is a caller who hung up at the beep: nothing to keep."""

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_ANONYMOUS_HOST = "anonymous.invalid"


@dataclass(frozen=True)
class Caller:
    """Who left the message, as the INVITE says."""

    shown: str
    """The From user (what the caller's number looked like); empty when anonymous."""
    name: str
    number: str | None
    """The P-Asserted-Identity user when it is an E.164 number."""
    reason: str
    """The Diversion reason; empty when the call was not forwarded here."""


def caller_of(invite: SipRequest) -> Caller:
    headers = invite.headers
    shown = name = ""
    try:
        sender = parse_name_addr(headers.get("From") or "")
        user, host = _user_host(sender.uri)
        if host.lower() != _ANONYMOUS_HOST:
            shown, name = user, sender.display
        elif sender.display.lower() != "anonymous":
            name = sender.display
    except SipParseError:
        pass
    number = None
    for value in _list(headers, "P-Asserted-Identity"):
        try:
            user, _ = _user_host(parse_name_addr(value).uri)
        except SipParseError:
            continue
        if _E164.fullmatch(user):
            number = user
            break
    reason = ""
    diversions = _list(headers, "Diversion")  # the first is the latest forward
    if diversions:
        with contextlib.suppress(SipParseError):
            reason = parse_name_addr(diversions[0]).params.get("reason", "")
    return Caller(shown, name, number, reason.strip('"'))


def _list(headers: Headers, name: str) -> list[str]:
    return [value for field in headers.get_all(name) for value in split_list(field)]


def _user_host(uri: str) -> tuple[str, str]:
    scheme, _, rest = uri.partition(":")
    rest = rest.split(";", 1)[0].split("?", 1)[0]
    if scheme.lower() == "tel":
        return rest, ""
    user, _, host = rest.rpartition("@")
    return user, host.split(":", 1)[0]


async def take_message(
    catalogue: Catalogue,
    call: IncomingCall,
    rtp: RtpSession,
    domain: str,
    extension: str,
) -> spool.SpooledMessage | None:
    """Take a message on an answered call: the spooled message, or None when the caller
    left nothing worth keeping. Returns once the call is over (or being hung up)."""
    mailbox = _mailbox(catalogue, domain, extension)
    codec = rtp.codec or "PCMA"
    if mailbox.greeting is not None and not await _greet(catalogue, call, rtp, mailbox.greeting):
        log.info("call %s: the caller hung up during the greeting", call.call_id)
        return None
    if not await _unless_ended(call, rtp.play(sounds.frames(_beep(BEEP_MS), codec))):
        return None
    limit_s = mailbox.max_seconds
    started = datetime.now(UTC)
    rtp.start_recording(max_bytes=limit_s * sounds.SAMPLE_RATE)
    try:
        async with asyncio.timeout(limit_s):
            await call.ended.wait()
    except TimeoutError:
        log.info("call %s: mailbox %s's limit of %d s reached", call.call_id, extension, limit_s)
    payload = rtp.stop_recording()
    if not call.ended.is_set():
        await _unless_ended(call, rtp.play(sounds.frames(_beep(END_BEEP_MS), codec)))
        await call.hang_up()
    pcm = g711.decode(codec, payload)
    duration_ms = len(pcm) * 1000 // (2 * sounds.SAMPLE_RATE)
    if duration_ms < MIN_MESSAGE_MS:
        log.info("call %s: %d ms for %s not kept", call.call_id, duration_ms, extension)
        return None
    caller = caller_of(call.invite)
    try:
        message = await asyncio.to_thread(
            spool.write_message,
            catalogue.data_dir,
            domain=domain,
            mailbox=extension,
            caller=caller.shown,
            caller_name=caller.name,
            caller_number=caller.number,
            call_id=call.call_id,
            reason=caller.reason,
            pcm16=pcm,
            received_at=started,
        )
    except OSError as exc:
        log.error("call %s: message for %s@%s lost: %s", call.call_id, extension, domain, exc)
        return None
    log.info(
        "call %s: message %s (%d ms) for %s@%s",
        call.call_id, message.id, message.duration_ms, extension, domain,
    )  # fmt: skip
    return message


def _mailbox(catalogue: Catalogue, domain: str, extension: str) -> Mailbox:
    try:
        return catalogue.mailbox(domain, extension)
    except MailboxesError as exc:
        # A broken file must not lose a caller's message: defaults still record one.
        log.error("mailboxes unreadable, taking the message with defaults: %s", exc)
        return Mailbox()


async def _greet(catalogue: Catalogue, call: IncomingCall, rtp: RtpSession, name: str) -> bool:
    """Play the greeting until it ends or a key is pressed; False if the caller hung up."""
    try:
        pcm = catalogue.sound(name)
    except (OSError, sounds.PromptError) as exc:
        log.error("greeting %s unusable, going straight to the beep: %s", name, exc)
        return not call.ended.is_set()
    while not rtp.digits.empty():  # keys from before the greeting skip nothing
        rtp.digits.get_nowait()
    playing = asyncio.ensure_future(rtp.play(sounds.frames(pcm, rtp.codec or "PCMA")))
    key = asyncio.ensure_future(rtp.digits.get())
    try:
        return await _unless_ended(
            call, asyncio.wait({playing, key}, return_when=asyncio.FIRST_COMPLETED)
        )
    finally:
        playing.cancel()
        key.cancel()


async def _unless_ended(call: IncomingCall, work: Awaitable[object]) -> bool:
    """Await ``work`` unless the caller hangs up first: True when it finished."""
    task = asyncio.ensure_future(work)
    ended = asyncio.ensure_future(call.ended.wait())
    try:
        await asyncio.wait({task, ended}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ended.cancel()
        if not task.done():
            task.cancel()
    if not task.done() or task.cancelled():
        return False
    task.result()  # a failure in ``work`` is raised, not lost with the task
    return not call.ended.is_set()


def _beep(ms: int) -> bytes:
    return sounds.tone(BEEP_HZ, ms)
