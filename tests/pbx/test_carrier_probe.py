"""The carrier prober against real Kamailio: OPTIONS leave through tm toward the carrier's
own address, sipp playing the carriers; a silent carrier is marked down and the routing
table tries it last, and it is tried first again once it answers."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from provd.db.models import Carrier
from provd.services.carriers.probing import CarrierProber
from provd.services.carriers.state import CarrierState, probe_answer
from tests.pbx.conftest import PROXY_IP, PbxEnv, ip
from tests.pbx.sippctl import SippRun, sipp

pytestmark = pytest.mark.asyncio(loop_scope="session")

LIVE = (ip(40), 5060)  # answers 200
SILENT = (ip(41), 5060)  # nothing listens, until a test starts a gateway there
BUSY = (ip(42), 5060)  # answers 503: alive, but would refuse calls


@pytest_asyncio.fixture(loop_scope="session")
async def carriers(pbx: PbxEnv) -> AsyncIterator[PbxEnv]:
    async with pbx.orm():
        for name, (host, port), priority in (
            ("first", SILENT, 1),
            ("second", LIVE, 2),
            ("third", BUSY, 3),
        ):
            await Carrier.create(
                name=name, host=host, port=port, transport="udp", priority=priority
            )
    await pbx.refresh_routing()
    try:
        yield pbx
    finally:
        async with pbx.orm():
            await Carrier.filter(name__in=("first", "second", "third")).delete()
        await pbx.refresh_routing()


def _order(pbx: PbxEnv) -> list[str]:
    return [c.name for c in pbx.routing.table.carriers.in_order()]


async def _states(pbx: PbxEnv) -> dict[str, tuple[CarrierState, str]]:
    async with pbx.orm():
        rows = await Carrier.filter(name__in=("first", "second", "third"))
    return {r.name: (probe_answer(r).state, probe_answer(r).describe()) for r in rows}


def _gateway(
    pbx: PbxEnv, where: tuple[str, int], *, busy: bool = False, calls: int = 1
) -> contextlib.AbstractAsyncContextManager[SippRun]:
    """A carrier's gateway answering OPTIONS 200 (503 when ``busy``)."""
    scenario = "uas_options_busy.xml" if busy else "uas_options.xml"
    return sipp(scenario, pbx.work, local=where, calls=calls, timeout_s=20)


async def test_a_silent_carrier_is_marked_down_and_tried_last_until_it_answers(
    carriers: PbxEnv,
) -> None:
    pbx = carriers
    prober = CarrierProber(pbx.supervisor.control.probe_carrier, on_change=pbx.routing.refresh)
    # Never probed: unknown, which routes as up, in priority order.
    assert _order(pbx) == ["first", "second", "third"]

    async with (
        _gateway(pbx, LIVE) as live,
        _gateway(pbx, BUSY, busy=True) as busy,
    ):
        await asyncio.sleep(0.3)
        async with pbx.orm():
            # The silent one takes tm's fr_timer (5 s) to give up.
            flipped = await prober.probe_all()
        live_run, busy_run = await live.finish(), await busy.finish()
    assert sorted(flipped) == ["first", "third"]
    assert live_run.rc == 0 and busy_run.rc == 0, live_run.output
    [options] = live_run.received("OPTIONS ")
    # Straight from Kamailio's socket to the carrier, From provd on the proxy's address.
    assert options.startswith(f"OPTIONS sip:{LIVE[0]}:{LIVE[1]} SIP/2.0"), options
    assert re.search(rf"^Via: SIP/2\.0/UDP {re.escape(PROXY_IP)}[:;]", options, re.M), options
    assert re.search(rf"^From: <sip:provd@{re.escape(PROXY_IP)}:5060>;tag=", options, re.M)
    assert "X-Provd-Token" not in options

    assert await _states(pbx) == {
        "first": (CarrierState.DOWN, "no answer: Request Timeout"),
        "second": (CarrierState.UP, "200 OK"),
        "third": (CarrierState.DOWN, "503 Service Unavailable"),
    }
    # The refresh came with the flip: the live carrier first, the down ones after it.
    assert _order(pbx) == ["second", "first", "third"]

    # The silent carrier answers again: the loop (1 s here) finds it and restores the order.
    loop = CarrierProber(
        pbx.supervisor.control.probe_carrier, interval_s=1.0, on_change=pbx.routing.refresh
    )
    async with (
        _gateway(pbx, SILENT, calls=100),
        _gateway(pbx, LIVE, calls=100),
        _gateway(pbx, BUSY, busy=True, calls=100),
    ):
        await asyncio.sleep(0.3)
        async with pbx.orm():
            loop.start()
            try:
                started = time.monotonic()
                while _order(pbx) != ["first", "second", "third"]:
                    assert time.monotonic() - started < 20, _order(pbx)
                    await asyncio.sleep(0.1)
            finally:
                await loop.stop()
    states = await _states(pbx)
    assert states["first"] == (CarrierState.UP, "200 OK")
    assert states["third"] == (CarrierState.DOWN, "503 Service Unavailable")
