"""The media application: answers the calls Kamailio sends it and plays them.

Kamailio sends it ``sip:vm-<extension>@<here>`` for a user's mailbox (the call flow is
provd.media.voicemail's), ``sip:vmbox-<extension>@<here>`` for a user's own call to
their mailbox (``*1233``, provd.media.voicemail_access), ``sip:ann-<extension>@<here>``
for an announcement (provd.media.announce), ``sip:queue-<extension>@<here>`` for a
queue (provd.media.queue) and ``sip:ivr-<menu>@<here>`` for a menu, with the tenant's
SIP domain in To (provd.domain.routing, the media step). For a menu it answers, plays the menu
(provd.domain.ivr decides; this module carries out the effects) and, when the caller
leaves the menu, places a new call back through Kamailio with the Request-URI user
the menu gave, as the caller (From, P-Asserted-Identity and Privacy as they came), so
that routing, limits and call records apply to where the caller goes. When that call
is answered it relays the audio of both calls to each other until either side hangs
up; a call that is not answered ends the caller's call too (Kamailio already followed
the destination's forwards and overflows).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from provd.domain import ivr, queues
from provd.domain.routing import ANNOUNCEMENT_PREFIX, MAILBOX_ACCESS_PREFIX, VOICEMAIL_PREFIX
from provd.media import sdp, sounds, voicemail, voicemail_access
from provd.media.announce import play_announcement
from provd.media.announcements import AnnouncementsError
from provd.media.catalogue import Catalogue, CatalogueError
from provd.media.queue import QueueService
from provd.media.queue_files import QueueFileError
from provd.media.rtp import NoFreePort, RtpSession
from provd.media.sip import parse_name_addr, uri_user_host
from provd.media.ua import CallEnded, CallFailed, IncomingCall, OutgoingCall, UserAgent

log = logging.getLogger(__name__)

PASSED_ON = ("P-Asserted-Identity", "Privacy")
"""The caller's identity headers, passed on to the call back as they came."""
RING_LIMIT_S = 180.0
"""The longest a call back may take to be answered (Kamailio's plan ends it first)."""

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class MediaSettings:
    sip: Address
    """Where the media application listens (Kamailio sends calls here)."""
    proxy: Address
    """Kamailio: where calls back go."""
    rtp_host: str
    rtp_ports: tuple[int, int]


class MediaApp:
    def __init__(self, settings: MediaSettings, catalogue: Catalogue) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self._ua: UserAgent | None = None
        self._sessions = itertools.count(random.randrange(1 << 30))
        self.calls = 0
        """Calls answered since start (logs and tests)."""
        self.queues = QueueService(self, catalogue.data_dir)

    async def start(self) -> None:
        host, port = self.settings.sip
        self._ua = await UserAgent.start(host, port, self.on_invite)
        self.queues.start()
        log.info("media application listening on %s:%d", host, port)

    async def close(self) -> None:
        await self.queues.close()
        if self._ua is not None:
            await self._ua.close()
            self._ua = None

    @property
    def ua(self) -> UserAgent:
        if self._ua is None:
            raise RuntimeError("the media application is not started")
        return self._ua

    async def on_invite(self, call: IncomingCall) -> None:
        user, _ = uri_user_host(call.request_uri)
        _, domain = uri_user_host(call.to_uri)
        if user.startswith(VOICEMAIL_PREFIX):
            await self._voicemail(call, domain, user.removeprefix(VOICEMAIL_PREFIX))
            return
        if user.startswith(queues.SERVICE_PREFIX):
            await self._queue(call, domain, user.removeprefix(queues.SERVICE_PREFIX))
            return
        if user.startswith(MAILBOX_ACCESS_PREFIX):
            await self._mailbox_access(call, domain, user.removeprefix(MAILBOX_ACCESS_PREFIX))
            return
        if user.startswith(ANNOUNCEMENT_PREFIX):
            await self._announcement(call, domain, user.removeprefix(ANNOUNCEMENT_PREFIX))
            return
        if not user.startswith(ivr.SERVICE_PREFIX):
            await call.reject(404, "Not Found")
            return
        menu = user.removeprefix(ivr.SERVICE_PREFIX)
        try:
            menus = self.catalogue.menus(domain)
        except CatalogueError as exc:
            log.error("menus unreadable: %s", exc)
            await call.reject(500, "Server Internal Error")
            return
        if menu not in menus:
            await call.reject(404, "Not Found")
            return

        async def menu_call(rtp: RtpSession) -> None:
            leave = await _MenuRun(self, call, rtp, menus, menu).run()
            if leave is not None:
                await self.put_through(call, rtp, domain, leave)

        await self._answered(call, menu_call)

    async def _queue(self, call: IncomingCall, domain: str, extension: str) -> None:
        try:
            config = self.queues.config(domain, extension)
        except QueueFileError as exc:
            log.error("queues unreadable: %s", exc)
            await call.reject(500, "Server Internal Error")
            return
        if config is None:
            await call.reject(404, "Not Found")
            return
        await self._answered(
            call, lambda rtp: self.queues.serve(call, rtp, domain, extension, config)
        )

    async def _voicemail(self, call: IncomingCall, domain: str, extension: str) -> None:
        if not extension:
            await call.reject(404, "Not Found")
            return
        await self._answered(
            call,
            lambda rtp: voicemail.take_message(self.catalogue, call, rtp, domain, extension),
        )

    async def _mailbox_access(self, call: IncomingCall, domain: str, extension: str) -> None:
        if not extension:
            await call.reject(404, "Not Found")
            return
        await self._answered(
            call,
            lambda rtp: voicemail_access.serve_mailbox(
                self.catalogue, call, rtp, domain, extension
            ),
        )

    async def _announcement(self, call: IncomingCall, domain: str, extension: str) -> None:
        try:
            announcement = self.catalogue.announcement(domain, extension)
        except AnnouncementsError as exc:
            log.error("announcements unreadable: %s", exc)
            await call.reject(500, "Server Internal Error")
            return
        if announcement is None:
            await call.reject(404, "Not Found")
            return
        await self._answered(
            call, lambda rtp: play_announcement(self.catalogue, call, rtp, announcement)
        )

    async def _answered(
        self, call: IncomingCall, work: Callable[[RtpSession], Awaitable[object]]
    ) -> None:
        """Answer ``call`` and run ``work`` on its audio; the call is hung up after, unless
        the caller did first. A refused offer ends here (``_answer`` replied)."""
        rtp = await self._answer(call)
        if rtp is None:
            return
        self.calls += 1
        try:
            await work(rtp)
        except CallEnded:
            pass
        finally:
            rtp.close()
            if not call.ended.is_set():
                await call.hang_up()

    async def _answer(self, call: IncomingCall) -> RtpSession | None:
        """Answered with a session for the offered audio; None when refused."""
        try:
            offer = sdp.parse_sdp(call.offer.decode("utf-8", errors="replace"))
        except sdp.SdpError as exc:
            log.info("call %s refused: %s", call.call_id, exc)
            await call.reject(488, "Not Acceptable Here")
            return None
        chosen = sdp.choose_codec(offer)
        if chosen is None:
            await call.reject(488, "Not Acceptable Here")
            return None
        try:
            rtp = await RtpSession.open(self.settings.rtp_host, self.settings.rtp_ports)
        except NoFreePort:
            log.error("no free RTP port for call %s", call.call_id)
            await call.reject(503, "Service Unavailable")
            return None
        payload_type, codec = chosen
        rtp.set_remote(offer.host, offer.port, payload_type, codec, offer.event_type)
        body = sdp.answer_sdp(
            self.settings.rtp_host,
            rtp.local_port,
            payload_type,
            codec,
            offer.event_type,
            next(self._sessions),
        )
        try:
            await call.answer(body.encode())
        except BaseException:
            rtp.close()
            raise
        return rtp

    async def place_call(
        self,
        call: IncomingCall,
        domain: str,
        request_user: str,
        leg: RtpSession,
        *,
        timeout_s: float = RING_LIMIT_S,
    ) -> OutgoingCall:
        """Call ``request_user`` in the caller's tenant back through Kamailio as the caller
        (From, and the identity headers as they came), offering ``leg`` for the audio:
        the answered call, or CallFailed."""
        target = f"sip:{request_user}@{domain}"
        headers = [(n, v) for n in PASSED_ON if (v := call.invite.headers.get(n))]
        caller = parse_name_addr(call.invite.headers.get("From") or "")
        offer = sdp.offer_sdp(self.settings.rtp_host, leg.local_port, next(self._sessions))
        return await self.ua.call(
            target,
            proxy=self.settings.proxy,
            from_uri=caller.uri,
            from_display=caller.display,
            to_uri=target,
            sdp=offer.encode(),
            headers=headers,
            timeout_s=timeout_s,
        )

    async def open_leg(self) -> RtpSession:
        return await RtpSession.open(self.settings.rtp_host, self.settings.rtp_ports)

    async def put_through(
        self, call: IncomingCall, rtp: RtpSession, domain: str, request_user: str
    ) -> None:
        """Call ``request_user`` back through Kamailio as the caller; bridge on answer."""
        leg = await self.open_leg()
        try:
            placing = asyncio.ensure_future(self.place_call(call, domain, request_user, leg))
            hung_up = asyncio.ensure_future(call.ended.wait())
            try:
                await asyncio.wait({placing, hung_up}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                hung_up.cancel()
            if not placing.done():
                # The caller hung up while it rang: cancelling the INVITE ends it there.
                placing.cancel()
                with contextlib.suppress(asyncio.CancelledError, CallFailed):
                    await placing
                return
            try:
                out = placing.result()
            except CallFailed as exc:
                log.info("call %s: %s answered %d", call.call_id, request_user, exc.status)
                return
            await self.bridge(call, rtp, out, leg)
        finally:
            leg.close()

    async def bridge(
        self, call: IncomingCall, rtp: RtpSession, out: OutgoingCall, leg: RtpSession
    ) -> None:
        try:
            answer = sdp.parse_sdp(out.answer.decode("utf-8", errors="replace"))
            chosen = sdp.choose_codec(answer)
            if chosen is None:
                raise sdp.SdpError("no codec in common in the answer")
        except sdp.SdpError as exc:
            log.warning("call %s: unusable answer: %s", call.call_id, exc)
            await out.hang_up()
            return
        leg.set_remote(answer.host, answer.port, chosen[0], chosen[1], answer.event_type)
        rtp.bridge(leg)
        leg.bridge(rtp)
        caller_gone = asyncio.ensure_future(call.ended.wait())
        callee_gone = asyncio.ensure_future(out.ended.wait())
        try:
            await asyncio.wait({caller_gone, callee_gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            caller_gone.cancel()
            callee_gone.cancel()
            rtp.unbridge()
            leg.unbridge()
        if not out.ended.is_set():
            await out.hang_up()


_Event = tuple[Literal["digit", "prompt", "timer", "ended"], str, int]


class _MenuRun:
    """One caller in the menus: events in, the session's effects carried out."""

    def __init__(
        self,
        app: MediaApp,
        call: IncomingCall,
        rtp: RtpSession,
        menus: Mapping[str, ivr.Menu],
        entry: str,
    ) -> None:
        self._app = app
        self._call = call
        self._rtp = rtp
        self._menus = menus
        self._entry = entry
        self._events: asyncio.Queue[_Event] = asyncio.Queue()
        self._play: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._generation = 0
        """Bumped by every Play and StartTimer: a report from an older one is stale."""

    async def run(self) -> str | None:
        """The Request-URI user the caller leaves toward, or None (hang up)."""
        watchers = [
            asyncio.ensure_future(self._digits()),
            asyncio.ensure_future(self._ended()),
        ]
        try:
            session, effects = ivr.start(self._menus, self._entry)
            while True:
                outcome = self._apply(effects)
                if outcome is not None:
                    return outcome[0]
                kind, value, generation = await self._events.get()
                if kind == "ended":
                    raise CallEnded("the caller hung up")
                if kind == "digit":
                    session, effects = ivr.on_digit(session, value)
                elif generation != self._generation:
                    effects = []
                elif kind == "prompt":
                    session, effects = ivr.on_prompt_finished(session)
                else:
                    session, effects = ivr.on_timer(session)
        finally:
            self._stop_playing()
            self._cancel_timer()
            for task in watchers:
                task.cancel()

    def _apply(self, effects: list[ivr.Effect]) -> tuple[str | None] | None:
        for effect in effects:
            if isinstance(effect, ivr.Play):
                self._stop_playing()
                self._generation += 1
                self._play = asyncio.ensure_future(self._play_sound(effect.sound, self._generation))
            elif isinstance(effect, ivr.StopPlaying):
                self._stop_playing()
            elif isinstance(effect, ivr.StartTimer):
                self._cancel_timer()
                self._generation += 1
                report: _Event = ("timer", "", self._generation)
                self._timer = asyncio.get_running_loop().call_later(
                    effect.seconds, self._events.put_nowait, report
                )
            elif isinstance(effect, ivr.CancelTimer):
                self._cancel_timer()
            elif isinstance(effect, ivr.Leave):
                return (effect.request_user,)
            elif isinstance(effect, ivr.EndCall):
                return (None,)
        return None

    async def _play_sound(self, name: str, generation: int) -> None:
        try:
            frames = self._app.catalogue.frames(name, self._rtp.codec or "PCMA")
        except (OSError, sounds.PromptError) as exc:
            # A missing sound is silence, not a dead call: the menu still times out.
            log.error("sound %s unusable: %s", name, exc)
            frames = []
        await self._rtp.play(frames)
        self._events.put_nowait(("prompt", name, generation))

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
