"""Call queues through real Kamailio, rtpengine and provd's media application: a
carrier's caller reaches a number on a queue, waits with music on hold, and is offered
to the queue's agents (sipp phones) by the queue's strategy; a busy agent is passed
over; ring-all rings everybody and cancels the rest; the maximum wait sends the caller
to the failover; a caller who hangs up is counted abandoned.

The routing data is given to the route listener directly (as test_ivr does) and the
queues to the media application as provd writes them (queues.json); what the media
application reports back (queue-live.json, the per-caller records) is read with the
same module provd reads it with.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from provd.domain import queues
from provd.domain.routing import QueueRouting, ToQueue, ToUser
from provd.media import sdp, sounds
from provd.media.queue_files import (
    CALLS_DIR,
    QueueCall,
    QueueConfig,
    read_live,
    read_queue_calls,
    write_queues,
)
from provd.media.rtp import RtpSession
from provd.media.ua import IncomingCall, UserAgent
from provd.pbx.media_app import media_dir, sounds_dir
from tests.pbx.conftest import ACME, PbxEnv, acme_called_from, ip, reg_row, unregister
from tests.pbx.sippctl import SippResult, SippRun, run_sipp, sipp

pytestmark = pytest.mark.asyncio(loop_scope="session")

CARRIER_UAC = (ip(95), 5062)
PHONE_2001 = (ip(96), 5082)
PHONE_2002 = (ip(97), 5084)
DID = "+31201234577"
DIALLED = "0201234577"
MUSIC_HZ = 700.0


def agent(ext: str, *, calls: int = 0, idle_min: float | None = None) -> queues.Agent:
    now = datetime.now(UTC)
    stats = queues.AgentStats(
        since=now - timedelta(hours=2),
        calls=calls,
        talk_s=60.0 * calls,
        last_call_end=now - timedelta(minutes=idle_min) if idle_min is not None else None,
    )
    return queues.Agent(ext, stats)


def configure(
    data: Path,
    strategy: queues.Strategy,
    *agents: queues.Agent,
    max_wait_s: int = 30,
    moh: str | None = None,
) -> None:
    config = QueueConfig(
        tenant="acme",
        name="Sales",
        strategy=strategy,
        ring_s=4,
        max_wait_s=max_wait_s,
        has_failover=True,
        moh=moh,
        agents=agents,
    )
    write_queues(data, {ACME: {"800": config}})


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def queue(pbx: PbxEnv) -> AsyncIterator[PbxEnv]:
    for ext, where in (("2001", PHONE_2001), ("2002", PHONE_2002)):
        row = reg_row(pbx.accounts[ext], where)
        result = await run_sipp("register.xml", pbx.work, remote=pbx.proxy, local=where, rows=[row])
        assert result.rc == 0, result.messages
    music = sounds_dir(pbx.supervisor.settings) / "acme" / "queue-music.wav"
    music.parent.mkdir(parents=True, exist_ok=True)
    sounds.write_wav(music, sounds.tone(MUSIC_HZ, 2000))
    routing = QueueRouting(
        "800", "Sales", agents=("2001", "2002"), ring_s=4, failover=ToUser("2002")
    )
    try:
        with acme_called_from(
            pbx, CARRIER_UAC[0], numbers={DID: ToQueue("800")}, queues={"800": routing}
        ):
            yield pbx
    finally:
        await unregister(pbx, ("2001", "2002"))


@pytest.fixture
def data(queue: PbxEnv) -> Path:
    """The media application's directory, with no caller records left from before."""
    path = media_dir(queue.supervisor.settings)
    for old in (path / CALLS_DIR).glob("*.json"):
        old.unlink()
    return path


def records(data: Path) -> list[QueueCall]:
    found = []
    for _path, record in read_queue_calls(data):
        assert isinstance(record, QueueCall), record
        found.append(record)
    return found


async def settled(data: Path, count: int) -> list[QueueCall]:
    """The caller records once ``count`` are written (the media application writes one
    when the caller's call has ended, which may be just after sipp finished)."""
    for _ in range(100):
        found = records(data)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    return records(data)


async def carrier_call(pbx: PbxEnv, hold_ms: int) -> SippResult:
    return await run_sipp(
        "carrier_ivr_silent.xml",
        pbx.work,
        remote=pbx.proxy,
        local=CARRIER_UAC,
        media=(CARRIER_UAC[0], 19640),
        rows=[[DIALLED, "0612345678", "Jan Jansen", "X-Test: queue", str(hold_ms)]],
        timeout_s=30,
    )


@contextlib.asynccontextmanager
async def phones(
    pbx: PbxEnv, scenario_2001: str, scenario_2002: str
) -> AsyncIterator[tuple[SippRun, SippRun]]:
    async with (
        sipp(
            scenario_2001, pbx.work, local=PHONE_2001, media=(PHONE_2001[0], 19650), timeout_s=20
        ) as one,
        sipp(
            scenario_2002, pbx.work, local=PHONE_2002, media=(PHONE_2002[0], 19660), timeout_s=20
        ) as two,
    ):
        yield one, two


async def test_fewest_calls_offers_the_agent_with_fewer_calls_first(
    queue: PbxEnv, data: Path
) -> None:
    configure(data, queues.Strategy.FEWEST_CALLS, agent("2001", calls=5), agent("2002", calls=1))
    async with phones(queue, "uas_call.xml", "uas_call.xml") as (_one, two):
        carrier = await carrier_call(queue, 3000)
        answered = await two.finish()
    assert carrier.rc == 0, carrier.messages
    assert answered.rc == 0, answered.messages
    [invite] = answered.received("INVITE ")
    assert invite.split()[1].startswith("sip:2002@")
    # The offer comes as the caller, with the queue's name in front for the agent.
    assert re.search(r'^From: "Sales: Jan Jansen" <sip:0612345678@acme\.test>', invite, re.M), (
        invite
    )
    [record] = await settled(data, 1)
    assert (record.outcome, record.agent, record.queue) == ("answered", "2002", "800")
    assert record.caller == "0612345678"
    assert record.talk_s > 0


async def test_longest_idle_offers_the_agent_idle_longest_first(queue: PbxEnv, data: Path) -> None:
    configure(
        data,
        queues.Strategy.LONGEST_IDLE,
        agent("2002", idle_min=1),
        agent("2001", idle_min=30),
    )
    async with phones(queue, "uas_call.xml", "uas_call.xml") as (one, _two):
        carrier = await carrier_call(queue, 3000)
        answered = await one.finish()
    assert carrier.rc == 0, carrier.messages
    assert answered.rc == 0, answered.messages
    [invite] = answered.received("INVITE ")
    assert invite.split()[1].startswith("sip:2001@")
    [record] = await settled(data, 1)
    assert (record.outcome, record.agent) == ("answered", "2001")


async def test_a_busy_agent_is_passed_over_for_the_next(queue: PbxEnv, data: Path) -> None:
    configure(data, queues.Strategy.FEWEST_CALLS, agent("2001", calls=3), agent("2002"))
    async with phones(queue, "uas_call.xml", "uas_busy.xml") as (one, two):
        carrier = await carrier_call(queue, 3000)
        answered = await one.finish()
        busy = await two.finish()
    assert carrier.rc == 0, carrier.messages
    assert answered.rc == 0, answered.messages
    assert len(busy.received("INVITE ")) == 1  # 2002 (fewest calls) was offered first
    [record] = await settled(data, 1)
    assert (record.outcome, record.agent) == ("answered", "2001")


async def test_ring_all_rings_every_agent_and_the_first_answer_takes_the_call(
    queue: PbxEnv, data: Path
) -> None:
    configure(data, queues.Strategy.RING_ALL, agent("2001"), agent("2002"))
    async with phones(queue, "uas_call.xml", "uas_cancel.xml") as (one, two):
        carrier = await carrier_call(queue, 3000)
        answered = await one.finish()
        cancelled = await two.finish()
    assert carrier.rc == 0, carrier.messages
    assert answered.rc == 0, answered.messages
    assert cancelled.rc == 0, cancelled.messages
    assert len(cancelled.received("CANCEL ")) >= 1
    [record] = await settled(data, 1)
    assert (record.outcome, record.agent) == ("answered", "2001")


async def test_the_maximum_wait_sends_the_caller_to_the_failover(queue: PbxEnv, data: Path) -> None:
    # Nobody logged in: the caller waits the maximum, then routing's failover (2002).
    configure(data, queues.Strategy.RING_ALL, max_wait_s=2)
    async with sipp(
        "uas_call.xml", queue.work, local=PHONE_2002, media=(PHONE_2002[0], 19660), timeout_s=20
    ) as two:
        carrier = await carrier_call(queue, 4500)
        answered = await two.finish()
    assert carrier.rc == 0, carrier.messages
    assert answered.rc == 0, answered.messages
    [invite] = answered.received("INVITE ")
    assert invite.split()[1].startswith("sip:2002@")
    [record] = await settled(data, 1)
    assert (record.outcome, record.agent) == ("failover", None)
    assert record.wait_s >= 2


async def test_a_caller_who_hangs_up_while_waiting_is_counted_abandoned(
    queue: PbxEnv, data: Path
) -> None:
    configure(data, queues.Strategy.RING_ALL)
    async with sipp(
        "carrier_ivr_silent.xml",
        queue.work,
        remote=queue.proxy,
        local=CARRIER_UAC,
        media=(CARRIER_UAC[0], 19640),
        rows=[[DIALLED, "0612345678", "Jan Jansen", "X-Test: queue", "3000"]],
        timeout_s=20,
    ) as carrier:
        waiting = 0
        for _ in range(50):  # the live state shows the caller waiting
            await asyncio.sleep(0.1)
            live = read_live(data)
            if live is not None and ACME in live[1] and "800" in live[1][ACME]:
                waiting = live[1][ACME]["800"].waiting
                if waiting:
                    break
        assert waiting == 1
        result = await carrier.finish()
    assert result.rc == 0, result.messages
    [record] = await settled(data, 1)
    assert record.outcome == "abandoned"
    waiting = -1
    for _ in range(40):  # and no longer once gone
        live = read_live(data)
        assert live is not None
        waiting = live[1][ACME]["800"].waiting
        if waiting == 0:
            break
        await asyncio.sleep(0.1)
    assert waiting == 0


async def test_the_waiting_caller_hears_the_queues_music(queue: PbxEnv, data: Path) -> None:
    configure(data, queues.Strategy.RING_ALL, moh="acme/queue-music")

    async def no_calls(call: IncomingCall) -> None:
        await call.reject(486, "Busy Here")

    ua = await UserAgent.start(CARRIER_UAC[0], 5066, no_calls)
    rtp = await RtpSession.open(CARRIER_UAC[0], (19700, 19800))
    try:
        proxy_host, proxy_port = queue.proxy.split(":")
        call = await ua.call(
            f"sip:{DIALLED}@{proxy_host}",
            proxy=(proxy_host, int(proxy_port)),
            from_uri=f"sip:0612345678@{CARRIER_UAC[0]}",
            sdp=sdp.offer_sdp(CARRIER_UAC[0], rtp.local_port, 1).encode(),
        )
        answer = sdp.parse_sdp(call.answer.decode())
        chosen = sdp.choose_codec(answer)
        assert chosen is not None
        rtp.set_remote(answer.host, answer.port, chosen[0], chosen[1], answer.event_type)
        rtp.start_recording()
        await rtp.play(sounds.frames(sounds.tone(300, 600, amplitude=0.01), chosen[1]))
        await asyncio.sleep(0.5)
        heard = rtp.stop_recording()
        assert len(heard) >= 4000, len(heard)
        pcm = sounds.decode(heard, chosen[1])
        candidates = (300.0, MUSIC_HZ, 523.25, 1000.0)
        assert sounds.dominant_frequency(pcm, candidates) == MUSIC_HZ
        await call.hang_up()
    finally:
        rtp.close()
        await ua.close()
    [record] = await settled(data, 1)
    assert record.outcome == "abandoned"
