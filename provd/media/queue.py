"""Call queues in the media application: callers wait here, hearing music on hold, while
their call is offered to the queue's logged-in agents.

Kamailio sends a queue's call as ``sip:queue-<ext>@<here>`` with the tenant's domain in
To. The caller is answered and hears the queue's introduction (if any), then music on
hold: the queue's own sound, else the tenant's playlist (``moh/tenants/<slug>.wav``,
which provd renders: provd.pbx.media_app.tenant_moh_path), else the default; a periodic
message interrupts it every ``periodic_s`` seconds when the queue has one.

Offers. Callers are served in the order they came: a caller offers its call only
while every caller ahead of it is offering theirs, and only to *free* agents (logged
in, not ringing for another caller, not talking to one of the queue's callers).
provd.domain.queues orders them by the queue's strategy; each offer is a new call back
through Kamailio (``queue-<q>-agent-<ext>``, as the caller), cancelled after the queue's
ring time. The first agent to answer is bridged to the caller. An agent who did not
answer is not offered this caller again until every free agent has been tried; then,
after :data:`provd.domain.queues.RETRY_SECONDS`, the round starts again. At the maximum
wait the caller leaves toward the queue's failover (``queue-<q>-failover``, resolved
by routing) or, without one, the call ends.

What happened is written for provd: ``queue-live.json`` when it changes (at most once
a second) and a record per caller who left (provd.media.queue_files). Agents' figures
since login start from what provd wrote in ``queues.json`` and are kept here from then
on, so the strategies see the calls this process has not yet had recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from provd.domain import queues
from provd.media import sounds
from provd.media.catalogue import _Watched
from provd.media.queue_files import (
    LIVE_FILE,
    LIVE_HEARTBEAT_S,
    QUEUES_FILE,
    LiveQueue,
    QueueCall,
    QueueConfig,
    QueueFileError,
    new_call_id,
    queues_from_json,
    write_live,
    write_queue_call,
)
from provd.media.rtp import RtpSession
from provd.media.sip import parse_name_addr, uri_user_host
from provd.media.ua import CallFailed, IncomingCall, OutgoingCall
from provd.media.voicemail_access import prompt_frames

if TYPE_CHECKING:
    from provd.media.app import MediaApp

log = logging.getLogger(__name__)

MOH_DIR = "moh"
TENANT_MOH_DIR = "tenants"
"""The tenants' playlists, apart from ``default.wav``: a tenant may be named default."""
DEFAULT_MOH = "default"
LIVE_EVERY_S = 1.0


class _Signal:
    """Wakes every waiter when something changed (an agent freed, a caller left)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float, ended: asyncio.Event) -> None:
        changed = asyncio.ensure_future(self._event.wait())
        gone = asyncio.ensure_future(ended.wait())
        try:
            await asyncio.wait({changed, gone}, timeout=max(0.0, timeout))
        finally:
            changed.cancel()
            gone.cancel()


@dataclass(eq=False)
class _Caller:
    call: IncomingCall
    entered: float
    entered_at: datetime
    offering: bool = False


@dataclass(eq=False)
class _LiveQueue:
    waiting: list[_Caller] = field(default_factory=list)
    agents: dict[str, str] = field(default_factory=dict)
    """Agents busy with this queue: ``ringing`` or ``talking``."""
    stats: dict[str, queues.AgentStats] = field(default_factory=dict)
    signal: _Signal = field(default_factory=_Signal)


class QueueService:
    def __init__(self, app: MediaApp, data_dir: Path) -> None:
        self._app = app
        self.data_dir = data_dir
        self._file: _Watched[dict[str, dict[str, QueueConfig]]] = _Watched(
            data_dir / QUEUES_FILE, queues_from_json, dict
        )
        self._live: dict[tuple[str, str], _LiveQueue] = {}
        self._dirty = True
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.ensure_future(self._write_live_loop())

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        self._write_live()

    def config(self, domain: str, extension: str) -> QueueConfig | None:
        """The queue as provd last wrote it; None when there is no such queue.
        QueueFileError when the file is broken."""
        return self._file.get().get(domain.lower(), {}).get(extension)

    def _queue(self, domain: str, extension: str, config: QueueConfig) -> _LiveQueue:
        live = self._live.setdefault((domain.lower(), extension), _LiveQueue())
        for agent in config.agents:
            known = live.stats.get(agent.extension)
            # A new login (or the first sight of the agent) starts from provd's figures.
            if known is None or known.since != agent.stats.since:
                live.stats[agent.extension] = agent.stats
        return live

    # ---- one caller ----------------------------------------------------------------

    async def serve(
        self, call: IncomingCall, rtp: RtpSession, domain: str, extension: str, first: QueueConfig
    ) -> None:
        """Hold the answered ``call`` in the queue until an agent answers (bridged until
        either hangs up), the caller hangs up, or the maximum wait passes."""
        loop = asyncio.get_running_loop()
        live = self._queue(domain, extension, first)
        me = _Caller(call, loop.time(), datetime.now(UTC))
        live.waiting.append(me)
        self._changed(live)
        hold = asyncio.ensure_future(self._hold(rtp, first, lambda: _place(live, me)))
        deadline = me.entered + first.max_wait_s
        config = first
        tried: set[str] = set()
        outcome: queues.Outcome = "abandoned"
        try:
            while not call.ended.is_set():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    outcome = "failover"
                    break
                config = self._current(domain, extension, config)
                live = self._queue(domain, extension, config)
                free = self._free(live, config)
                if not self._my_turn(live, me) or not free:
                    await live.signal.wait(min(remaining, queues.RETRY_SECONDS), call.ended)
                    continue
                untried = [a for a in free if a.extension not in tried]
                if not untried:
                    # Everybody free has been offered this caller: a pause, then again.
                    tried.clear()
                    await live.signal.wait(min(remaining, queues.RETRY_SECONDS), call.ended)
                    continue
                offer = queues.offers(config.strategy, untried)[0]
                tried.update(offer)
                won = await self._offer(call, domain, extension, config, live, me, offer, deadline)
                if won is None:
                    continue
                agent, out, leg = won
                hold.cancel()
                await self._talk(call, rtp, domain, extension, live, me, agent, out, leg)
                return
            if outcome == "abandoned":
                self._left(live, me, domain, extension, "abandoned")
                return
            hold.cancel()
            self._left(live, me, domain, extension, "failover")
            if config.has_failover:
                await self._app.put_through(
                    call, rtp, domain, queues.failover_request_user(extension)
                )
        finally:
            hold.cancel()
            if me in live.waiting:  # cancelled from outside: still counted
                self._left(live, me, domain, extension, "abandoned")

    def _current(self, domain: str, extension: str, last: QueueConfig) -> QueueConfig:
        try:
            return self.config(domain, extension) or last
        except QueueFileError as exc:
            log.error("queues unreadable: %s", exc)
            return last

    @staticmethod
    def _my_turn(live: _LiveQueue, me: _Caller) -> bool:
        for caller in live.waiting:
            if caller is me:
                return True
            if not caller.offering:
                return False
        return False

    @staticmethod
    def _free(live: _LiveQueue, config: QueueConfig) -> list[queues.Agent]:
        return [
            queues.Agent(a.extension, live.stats.get(a.extension, a.stats))
            for a in config.agents
            if a.extension not in live.agents
        ]

    async def _offer(
        self,
        call: IncomingCall,
        domain: str,
        extension: str,
        config: QueueConfig,
        live: _LiveQueue,
        me: _Caller,
        agents: tuple[str, ...],
        deadline: float,
    ) -> tuple[str, OutgoingCall, RtpSession] | None:
        """Ring ``agents`` together for the queue's ring time: the first to answer with
        their call and audio leg, or None (nobody answered, or the caller hung up)."""
        loop = asyncio.get_running_loop()
        ring_s = max(0.5, min(float(config.ring_s), deadline - loop.time()))
        legs: dict[str, RtpSession] = {}
        placing: dict[asyncio.Future[OutgoingCall], str] = {}
        task: asyncio.Future[OutgoingCall]
        me.offering = True
        for agent in agents:
            live.agents[agent] = "ringing"
        self._changed(live)
        winner: tuple[str, OutgoingCall, RtpSession] | None = None
        try:
            for agent in agents:
                legs[agent] = await self._app.open_leg()
                task = asyncio.ensure_future(
                    self._app.place_call(
                        call,
                        domain,
                        queues.agent_request_user(extension, agent),
                        legs[agent],
                        timeout_s=ring_s,
                    )
                )
                placing[task] = agent
            examined: set[asyncio.Future[OutgoingCall]] = set()
            gone = asyncio.ensure_future(call.ended.wait())
            try:
                pending: set[asyncio.Future[object]] = {gone, *placing}  # type: ignore[arg-type]
                while winner is None and not call.ended.is_set() and pending - {gone}:
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for task in placing:
                        if task not in done:
                            continue
                        examined.add(task)
                        agent = placing[task]
                        try:
                            out = task.result()
                        except CallFailed as exc:
                            log.info("queue %s: agent %s answered %d", extension, agent, exc.status)
                            continue
                        if winner is None:
                            winner = (agent, out, legs[agent])
                        else:  # a second agent answered at the same moment
                            await out.hang_up()
            finally:
                gone.cancel()
            for task in placing:
                if not task.done():
                    task.cancel()
            for task in placing:
                if task in examined:
                    continue
                # Answered while being cancelled: ua.call hangs that one up itself.
                with contextlib.suppress(asyncio.CancelledError, CallFailed):
                    late = await task
                    await late.hang_up()
            if winner is not None and call.ended.is_set():
                await winner[1].hang_up()
                winner = None
            return winner
        finally:
            me.offering = False
            for agent in agents:
                if winner is None or agent != winner[0]:
                    live.agents.pop(agent, None)
                    leg = legs.get(agent)
                    if leg is not None:
                        leg.close()
            if winner is not None:
                live.agents[winner[0]] = "talking"
            self._changed(live)

    async def _talk(
        self,
        call: IncomingCall,
        rtp: RtpSession,
        domain: str,
        extension: str,
        live: _LiveQueue,
        me: _Caller,
        agent: str,
        out: OutgoingCall,
        leg: RtpSession,
    ) -> None:
        loop = asyncio.get_running_loop()
        live.waiting.remove(me)
        wait_s = loop.time() - me.entered
        self._changed(live)
        answered = loop.time()
        try:
            await self._app.bridge(call, rtp, out, leg)
        finally:
            leg.close()
            talk_s = loop.time() - answered
            live.agents.pop(agent, None)
            ended = datetime.now(UTC)
            stats = live.stats.get(agent)
            if stats is not None:
                live.stats[agent] = queues.after_call(stats, talk_s=talk_s, ended=ended)
            self._record(me, domain, extension, "answered", wait_s, agent=agent, talk_s=talk_s)
            self._changed(live)

    def _left(
        self, live: _LiveQueue, me: _Caller, domain: str, extension: str, outcome: queues.Outcome
    ) -> None:
        if me in live.waiting:
            live.waiting.remove(me)
        wait_s = asyncio.get_running_loop().time() - me.entered
        self._record(me, domain, extension, outcome, wait_s)
        self._changed(live)

    def _record(
        self,
        me: _Caller,
        domain: str,
        extension: str,
        outcome: queues.Outcome,
        wait_s: float,
        *,
        agent: str | None = None,
        talk_s: float = 0.0,
    ) -> None:
        now = datetime.now(UTC)
        caller = parse_name_addr(me.call.invite.headers.get("From") or "")
        pai = me.call.invite.headers.get("P-Asserted-Identity")
        number = _uri_user(parse_name_addr(pai).uri) if pai else ""
        record = QueueCall(
            id=new_call_id(now),
            domain=domain.lower(),
            queue=extension,
            call_id=me.call.call_id,
            caller=_uri_user(caller.uri),
            caller_number=number if number.startswith("+") else None,
            entered_at=me.entered_at,
            left_at=now,
            outcome=outcome,
            wait_s=wait_s,
            agent=agent,
            talk_s=talk_s,
        )
        try:
            write_queue_call(self.data_dir, record)
        except OSError as exc:
            log.error(
                "queue %s: record of call %s not written: %s", extension, me.call.call_id, exc
            )

    # ---- what the caller hears -------------------------------------------------------

    async def _hold(
        self, rtp: RtpSession, config: QueueConfig, position: Callable[[], int]
    ) -> None:
        """What a waiting caller hears: the introduction, their position (when the queue
        says it), then music, interrupted every ``periodic_s`` seconds by their position
        again and the periodic message."""
        codec = rtp.codec or "PCMA"
        loop = asyncio.get_running_loop()
        if config.intro:
            await rtp.play(self._sound(config.intro, codec))
        if config.announce_position:
            await rtp.play(self._position(position(), codec))
        periodic = self._sound(config.periodic, codec) if config.periodic else []
        interrupts = bool(periodic) or config.announce_position
        next_message = loop.time() + config.periodic_s
        while True:
            music = self._music(config, codec)
            if not music:
                await asyncio.sleep(1.0)
                continue
            if not interrupts:
                await rtp.play(music)
                continue
            await _play_until(rtp, music, max(0.0, next_message - loop.time()))
            if loop.time() >= next_message:
                if config.announce_position:
                    await rtp.play(self._position(position(), codec))
                if periodic:
                    await rtp.play(periodic)
                next_message = loop.time() + config.periodic_s

    @staticmethod
    def _position(place: int, codec: str) -> list[bytes]:
        frames: list[bytes] = []
        try:
            for name in queues.position_prompts(max(1, place)):
                frames += prompt_frames(name, codec)
        except (OSError, sounds.PromptError) as exc:
            log.error("position prompt unusable: %s", exc)
        return frames

    def _sound(self, name: str, codec: str) -> list[bytes]:
        try:
            return self._app.catalogue.frames(name, codec)
        except (OSError, sounds.PromptError) as exc:
            log.error("sound %s unusable: %s", name, exc)
            return []

    def _music(self, config: QueueConfig, codec: str) -> list[bytes]:
        if config.moh:
            frames = self._sound(config.moh, codec)
            if frames:
                return frames
        own = self.data_dir / MOH_DIR / TENANT_MOH_DIR / f"{config.tenant}.wav"
        for path in (own, self.data_dir / MOH_DIR / f"{DEFAULT_MOH}.wav"):
            try:
                return self._app.catalogue.file_frames(path, codec)
            except FileNotFoundError:
                continue
            except (OSError, sounds.PromptError) as exc:
                log.error("music on hold %s unusable: %s", path, exc)
        return []

    # ---- what provd sees -------------------------------------------------------------

    def _changed(self, live: _LiveQueue) -> None:
        live.signal.fire()
        self._dirty = True

    def live(self) -> dict[str, dict[str, LiveQueue]]:
        now = asyncio.get_running_loop().time()
        tenants: dict[str, dict[str, LiveQueue]] = {}
        for (domain, extension), live in sorted(self._live.items()):
            longest = max((now - c.entered for c in live.waiting), default=0.0)
            tenants.setdefault(domain, {})[extension] = LiveQueue(
                waiting=len(live.waiting), longest_wait_s=longest, agents=dict(live.agents)
            )
        return tenants

    def _write_live(self) -> None:
        try:
            write_live(self.data_dir, datetime.now(UTC), self.live())
        except OSError as exc:
            log.error("%s not written: %s", LIVE_FILE, exc)
        self._dirty = False

    async def _write_live_loop(self) -> None:
        loop = asyncio.get_running_loop()
        written = loop.time()
        while True:
            # The longest wait grows while callers wait: rewritten each second then too;
            # and now and then when idle, so that readers can tell a live app from a
            # dead one by the file's age.
            idle_too_long = loop.time() - written >= LIVE_HEARTBEAT_S
            if self._dirty or idle_too_long or any(q.waiting for q in self._live.values()):
                self._write_live()
                written = loop.time()
            await asyncio.sleep(LIVE_EVERY_S)


async def _play_until(rtp: RtpSession, frames: list[bytes], seconds: float) -> None:
    """Play ``frames``, cut off after ``seconds``. Not asyncio.wait_for: on Python 3.11
    it can swallow the caller's own cancellation when the inner task finishes at that
    moment, and the hold audio then plays on into a bridged call (or a test waits for
    ever)."""
    playing = asyncio.ensure_future(rtp.play(frames))
    try:
        await asyncio.wait({playing}, timeout=seconds)
    finally:
        if not playing.done():
            playing.cancel()
            # Let it finish stopping (wait never raises), so the next play may start.
            await asyncio.wait({playing})


def _place(live: _LiveQueue, me: _Caller) -> int:
    """The caller's position among those waiting, from 1."""
    return live.waiting.index(me) + 1 if me in live.waiting else 1


def _uri_user(uri: str) -> str:
    return uri_user_host(uri)[0] if "@" in uri else ""
