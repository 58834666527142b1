"""The user agent behind a real Kamailio that record-routes, as provd-media will run: calls
in and out, ended from either side, cancelled, over the route set Kamailio leaves."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provd.media.ua import CallFailed, IncomingCall, UserAgent
from tests.media.peer import LOOPBACK, free_udp_port
from tests.pbx.sippctl import SippResult, sipp

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).parent / "sipp"
PBX_SCENARIOS = Path(__file__).parent.parent / "pbx" / "sipp"
SDP = b"v=0\r\no=ivr 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n"

# The least of a proxy in front of provd-media: record-route initial INVITEs, route
# within dialogs by the Route headers, send extension 800 to the user agent and any
# other to a callee.
CONFIG = """#!KAMAILIO
debug=2
log_stderror=yes
children=1
auto_aliases=no
listen=udp:{host}:{port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "siputils.so"
loadmodule "textops.so"
request_route {{
  if (has_totag()) {{
    if (loose_route()) {{ t_relay(); exit; }}
    if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    sl_send_reply("404", "Not here");
    exit;
  }}
  if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
  t_check_trans();
  if (is_method("INVITE")) {{ record_route(); }}
  if ($rU == "800") {{ $du = "sip:{host}:{ua_port}"; }} else {{ $du = "sip:{host}:{callee_port}"; }}
  t_relay();
}}
"""


@dataclass(frozen=True)
class Ports:
    proxy: int
    ua: int
    callee: int
    caller: int


def _distinct_ports() -> Ports:
    ports: list[int] = []
    while len(ports) < 4:
        port = free_udp_port()
        if port not in ports:
            ports.append(port)
    return Ports(*ports)


async def _until_bound(proc: asyncio.subprocess.Process, port: int) -> None:
    wanted = f"0100007F:{port:04X}"
    async with asyncio.timeout(10):
        while proc.returncode is None:
            table = Path("/proc/net/udp").read_text()
            if any(line.split()[1] == wanted for line in table.splitlines()[1:]):
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"kamailio ended (rc={proc.returncode}) before it listened")


@pytest.fixture
async def kamailio(tmp_path: Path) -> AsyncIterator[Ports]:
    ports = _distinct_ports()
    config = tmp_path / "kamailio.cfg"
    config.write_text(
        CONFIG.format(host=LOOPBACK, port=ports.proxy, ua_port=ports.ua, callee_port=ports.callee)
    )
    with (tmp_path / "kamailio.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *("kamailio", "-DD", "-E", "-f", str(config), "-Y", str(tmp_path)),
            *("-P", str(tmp_path / "kamailio.pid"), "-w", str(tmp_path)),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its workers in a group of their own, ended with it
        )
    try:
        await _until_bound(proc, ports.proxy)
        yield ports
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()


class App:
    """What the application does with each call: ``mode`` says."""

    def __init__(self) -> None:
        self.mode = "answer"
        self.calls: list[IncomingCall] = []
        self.done = asyncio.Event()

    async def __call__(self, call: IncomingCall) -> None:
        self.calls.append(call)
        await call.ring()
        if self.mode == "ring":
            await call.ended.wait()
        else:
            await call.answer(SDP)
            if self.mode == "hang up":
                await call.hang_up()
        self.done.set()


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
async def ua(kamailio: Ports, app: App) -> AsyncIterator[UserAgent]:
    agent = await UserAgent.start(LOOPBACK, kamailio.ua, app)
    try:
        yield agent
    finally:
        await agent.close()


async def call_in(scenario: str, ports: Ports, workdir: Path) -> SippResult:
    async with sipp(
        str(SCENARIOS / scenario),
        workdir,
        local=(LOOPBACK, ports.caller),
        remote=f"{LOOPBACK}:{ports.proxy}",
        timeout_s=10,
        extra=["-s", "800"],
    ) as run:
        return await run.finish()


async def test_a_caller_through_the_proxy_is_answered_and_hangs_up(
    kamailio: Ports, ua: UserAgent, app: App, tmp_path: Path
) -> None:
    result = await call_in("caller_hangs_up.xml", kamailio, tmp_path)
    assert result.rc == 0, result.output
    [call] = app.calls
    assert call.invite.headers.get_all("Record-Route")  # the proxy record-routed
    await asyncio.wait_for(call.ended.wait(), 5)


async def test_a_caller_through_the_proxy_is_hung_up_on(
    kamailio: Ports, ua: UserAgent, app: App, tmp_path: Path
) -> None:
    app.mode = "hang up"
    result = await call_in("caller_is_hung_up_on.xml", kamailio, tmp_path)
    assert result.rc == 0, result.output  # our BYE reached it through the proxy
    [bye] = result.received("BYE ")
    assert "provd-media" in bye
    assert f"Via: SIP/2.0/UDP {LOOPBACK}:{kamailio.proxy};" in bye  # by the route set
    await asyncio.wait_for(app.done.wait(), 5)
    assert app.calls[0].ended.is_set()


async def test_a_caller_through_the_proxy_cancels(
    kamailio: Ports, ua: UserAgent, app: App, tmp_path: Path
) -> None:
    app.mode = "ring"
    result = await call_in("caller_cancels.xml", kamailio, tmp_path)
    assert result.rc == 0, result.output
    await asyncio.wait_for(app.done.wait(), 5)


async def test_a_call_placed_through_the_proxy_is_answered_and_hung_up(
    kamailio: Ports, ua: UserAgent, tmp_path: Path
) -> None:
    async with sipp(
        str(PBX_SCENARIOS / "uas_answer.xml"),
        tmp_path,
        local=(LOOPBACK, kamailio.callee),
        timeout_s=10,
    ) as run:
        call = await ua.call(
            f"sip:900@{LOOPBACK}:{kamailio.proxy}",
            proxy=(LOOPBACK, kamailio.proxy),
            from_uri=f"sip:ivr@{LOOPBACK}",
            sdp=SDP,
            timeout_s=10,
        )
        await call.hang_up()
        result = await run.finish()
    assert result.rc == 0, result.output
    [bye] = result.received("BYE ")
    assert f"Via: SIP/2.0/UDP {LOOPBACK}:{kamailio.proxy};" in bye  # it came through the proxy


async def test_a_call_placed_through_the_proxy_that_nobody_answers_is_cancelled(
    kamailio: Ports, ua: UserAgent, tmp_path: Path
) -> None:
    async with sipp(
        str(PBX_SCENARIOS / "uas_cancel.xml"),
        tmp_path,
        local=(LOOPBACK, kamailio.callee),
        timeout_s=10,
    ) as run:
        with pytest.raises(CallFailed) as failed:
            await ua.call(
                f"sip:900@{LOOPBACK}:{kamailio.proxy}",
                proxy=(LOOPBACK, kamailio.proxy),
                from_uri=f"sip:ivr@{LOOPBACK}",
                sdp=SDP,
                timeout_s=1,
            )
        result = await run.finish()
    assert failed.value.status == 408
    assert result.rc == 0, result.output
