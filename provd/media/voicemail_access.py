"""A user in their own mailbox (``*1233``): the menu's effects carried out on the call.

Kamailio sends ``sip:vmbox-<extension>@<here>`` with the tenant's SIP domain in To, only
for that user's own call (provd.domain.routing). provd.domain.voicemail_access decides;
this module plays the prompts (provd/media/prompts, packaged with provd), the messages
(mailboxes.json gives their files) and the tone, checks the PIN against the hash
mailboxes.json carries, records a greeting, and writes what the user did where provd's
collector applies it (provd.media.mailbox_actions). It never changes a message itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Literal

from provd.domain import prompts, voicemail_pin
from provd.domain import voicemail_access as va
from provd.media import g711, mailbox_actions, sounds
from provd.media.catalogue import Catalogue
from provd.media.mailboxes import Mailbox, MailboxesError
from provd.media.rtp import RtpSession
from provd.media.ua import CallEnded, IncomingCall
from provd.media.voicemail import BEEP_HZ, BEEP_MS

log = logging.getLogger(__name__)

PROMPTS_DIR = Path(__file__).parent / "prompts"
"""The menu's spoken prompts, ``<name>.wav`` (8 kHz mono 16-bit), made by
scripts/make-prompts from provd.domain.prompts.PROMPTS."""
LOCKOUT = voicemail_pin.Lockout()
"""Wrong PINs per mailbox across every call this process answers."""
MIN_GREETING_MS = 1000
"""Shorter than this is a slip of the finger, not a greeting: nothing changes."""

_Event = tuple[Literal["digit", "prompt", "timer", "pin", "saved", "ended"], str, int]


async def serve_mailbox(
    catalogue: Catalogue, call: IncomingCall, rtp: RtpSession, domain: str, extension: str
) -> None:
    """The whole call, on an answered ``call``; returns when it ended (CallEnded when the
    user hung up)."""
    try:
        mailbox = catalogue.mailbox(domain, extension)
    except MailboxesError as exc:
        # Without the file there is no PIN to check: the mailbox stays shut.
        log.error("mailboxes unreadable, %s@%s cannot be opened: %s", extension, domain, exc)
        mailbox = Mailbox()
    await _AccessRun(catalogue, call, rtp, domain, extension, mailbox).run()


class _AccessRun:
    def __init__(
        self,
        catalogue: Catalogue,
        call: IncomingCall,
        rtp: RtpSession,
        domain: str,
        extension: str,
        mailbox: Mailbox,
    ) -> None:
        self._catalogue = catalogue
        self._call = call
        self._rtp = rtp
        self._domain = domain
        self._extension = extension
        self._mailbox = mailbox
        self._paths = {m.id: m.path for m in mailbox.messages}
        self._events: asyncio.Queue[_Event] = asyncio.Queue()
        self._play: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._work: set[asyncio.Task[None]] = set()
        self._recording = False
        self._generation = 0
        """Bumped by every Play and StartTimer: a report from an older one is stale."""

    async def run(self) -> None:
        watchers = [
            asyncio.ensure_future(self._digits()),
            asyncio.ensure_future(self._ended()),
        ]
        messages = tuple(va.Message(m.id, m.heard) for m in self._mailbox.messages)
        try:
            session, effects = va.start(messages, pin_set=self._mailbox.pin is not None)
            while True:
                if await self._apply(effects):
                    return
                kind, value, generation = await self._events.get()
                if kind == "ended":
                    raise CallEnded("the user hung up")
                if kind == "digit":
                    session, effects = va.on_digit(session, value)
                elif kind == "pin":
                    session, effects = va.on_pin_checked(session, value == "ok")
                elif kind == "saved":
                    session, effects = va.on_greeting_saved(session, value == "ok")
                elif generation != self._generation:
                    effects = []
                elif kind == "prompt":
                    session, effects = va.on_prompt_finished(session)
                else:
                    session, effects = va.on_timer(session)
        finally:
            if self._recording:
                self._rtp.stop_recording()  # hung up while recording: nothing kept
            self._stop_playing()
            self._cancel_timer()
            for task in watchers:
                task.cancel()
            # Reports already started (heard, deleted) are written to the end.
            if self._work:
                await asyncio.gather(*self._work, return_exceptions=True)

    async def _apply(self, effects: list[va.Effect]) -> bool:
        """Carry out ``effects``; True when the call is to end."""
        for effect in effects:
            if isinstance(effect, va.Play):
                self._stop_playing()
                self._generation += 1
                self._play = asyncio.ensure_future(self._play_items(effect.items, self._generation))
            elif isinstance(effect, va.StopPlaying):
                self._stop_playing()
            elif isinstance(effect, va.StartTimer):
                self._cancel_timer()
                self._generation += 1
                report: _Event = ("timer", "", self._generation)
                self._timer = asyncio.get_running_loop().call_later(
                    effect.seconds, self._events.put_nowait, report
                )
            elif isinstance(effect, va.CancelTimer):
                self._cancel_timer()
            elif isinstance(effect, va.CheckPin):
                self._spawn(self._check_pin(effect.entered))
            elif isinstance(effect, va.StartRecording):
                self._recording = True
                self._rtp.start_recording(max_bytes=effect.max_seconds * sounds.SAMPLE_RATE)
            elif isinstance(effect, va.SaveRecording):
                self._recording = False
                self._spawn(self._save_greeting(self._rtp.stop_recording()))
            elif isinstance(effect, va.MarkHeard):
                self._spawn(self._report("heard", effect.id))
            elif isinstance(effect, va.DeleteMessage):
                self._spawn(self._report("delete", effect.id))
            elif isinstance(effect, va.EndCall):
                return True
        return False

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _play_items(self, items: tuple[va.Item, ...], generation: int) -> None:
        codec = self._rtp.codec or "PCMA"
        for item in items:
            frames = await self._frames(item, codec)
            await self._rtp.play(frames)
        self._events.put_nowait(("prompt", "", generation))

    async def _frames(self, item: va.Item, codec: str) -> list[bytes]:
        try:
            if isinstance(item, va.Prompt):
                return prompt_frames(item.name, codec)
            if isinstance(item, va.Tone):
                return sounds.frames(sounds.tone(BEEP_HZ, BEEP_MS), codec)
            path = self._paths.get(item.id)
            if path is None:
                return []
            pcm = await asyncio.to_thread(sounds.read_prompt, Path(path))
            return sounds.frames(pcm, codec) if pcm else []
        except (OSError, sounds.PromptError) as exc:
            # A missing file is silence, not a dead call: the menu still moves on.
            log.error("call %s: %s unusable: %s", self._call.call_id, item, exc)
            return []

    async def _check_pin(self, entered: str) -> None:
        ok = False
        key = f"{self._extension}@{self._domain}"
        now = asyncio.get_running_loop().time()
        if LOCKOUT.locked(key, now):
            # Refused unchecked, the right PIN too, and said no differently: a guesser
            # learns nothing from the answers while it lasts.
            log.warning("call %s: mailbox %s is locked after wrong PINs", self._call.call_id, key)
        else:
            try:
                stored = voicemail_pin.parse_stored(self._mailbox.pin or "")
                ok = await asyncio.to_thread(voicemail_pin.verify, entered, stored)
            except ValueError as exc:
                log.error("mailbox %s: its PIN hash is unusable: %s", key, exc)
            if ok:
                LOCKOUT.succeeded(key)
            else:
                LOCKOUT.failed(key, now)
                log.info("call %s: wrong PIN for %s", self._call.call_id, key)
        self._events.put_nowait(("pin", "ok" if ok else "wrong", 0))

    async def _save_greeting(self, payload: bytes) -> None:
        pcm = g711.decode(self._rtp.codec or "PCMA", payload)
        saved = len(pcm) * 1000 // (2 * sounds.SAMPLE_RATE) >= MIN_GREETING_MS
        if saved:
            try:
                greeting = await asyncio.to_thread(
                    mailbox_actions.write_greeting,
                    self._catalogue.data_dir,
                    domain=self._domain,
                    mailbox=self._extension,
                    pcm16=pcm,
                )
                log.info("call %s: greeting %s recorded for %s@%s", self._call.call_id,
                         greeting.id, self._extension, self._domain)  # fmt: skip
            except OSError as exc:
                log.error("call %s: greeting lost: %s", self._call.call_id, exc)
                saved = False
        self._events.put_nowait(("saved", "ok" if saved else "no", 0))

    async def _report(self, action: mailbox_actions.Action, message: int) -> None:
        try:
            await asyncio.to_thread(
                mailbox_actions.write_action,
                self._catalogue.data_dir,
                domain=self._domain,
                mailbox=self._extension,
                action=action,
                message=message,
            )
        except OSError as exc:
            log.error(
                "call %s: %s of message %d lost: %s", self._call.call_id, action, message, exc
            )

    def _stop_playing(self) -> None:
        if self._play is not None:
            self._play.cancel()
            self._play = None

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _digits(self) -> None:
        while True:
            digit = await self._rtp.digits.get()
            self._events.put_nowait(("digit", digit, 0))

    async def _ended(self) -> None:
        await self._call.ended.wait()
        self._events.put_nowait(("ended", "", 0))


_PROMPT_FRAMES: dict[tuple[str, str], list[bytes]] = {}


def prompt_frames(name: str, codec: str, *, folder: Path = PROMPTS_DIR) -> list[bytes]:
    """A packaged prompt as frames in ``codec``, encoded once per process."""
    key = (str(folder / name), codec)
    frames = _PROMPT_FRAMES.get(key)
    if frames is None:
        frames = sounds.frames(sounds.read_prompt(folder / f"{name}.wav"), codec)
        _PROMPT_FRAMES[key] = frames
    return frames


def missing_prompts(folder: Path = PROMPTS_DIR) -> list[str]:
    """The prompts provd ships with no usable file in ``folder`` (none, when complete)."""
    missing = []
    for name in sorted(prompts.PROMPTS):
        try:
            sounds.read_prompt(folder / f"{name}.wav")
        except (OSError, sounds.PromptError):
            missing.append(name)
    return missing
