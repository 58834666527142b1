"""The carrier prober: each round stores every enabled carrier's answer, and only a carrier
going down or coming back asks for the routing table to be rebuilt."""

from __future__ import annotations

import asyncio
import logging

import pytest

from provd.db.models import AuditEntry, Carrier
from provd.pbx import PbxError, ProbeResult
from provd.services import carriers
from provd.services.carriers.probing import CarrierProber, routes_as_up
from provd.services.carriers.state import CarrierState, probe_answer
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR as A

OK = ProbeResult(200, "OK")
TIMEOUT = ProbeResult(None, "Request Timeout")
BUSY = ProbeResult(503, "Service Unavailable")


class Carriers:
    """What each carrier answers, by its ``host:port``; what was asked, in order."""

    def __init__(self, answers: dict[str, ProbeResult | Exception]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str]] = []

    async def probe(self, address: str, transport: str) -> ProbeResult:
        self.asked.append((address, transport))
        answer = self.answers[address]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Refreshes:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


async def _state(name: str) -> CarrierState:
    return probe_answer(await carriers.get_carrier(name)).state


@pytest.mark.parametrize(
    ("before", "up", "flips"),
    [
        (None, True, False),  # unknown already routes as up
        (None, False, True),
        (True, False, True),
        (False, True, True),
        (True, True, False),
        (False, False, False),
    ],
)
def test_a_flip_is_a_change_in_how_routing_orders_the_carrier(
    before: bool | None, up: bool, flips: bool
) -> None:
    assert (routes_as_up(before) != up) is flips


async def test_each_round_stores_the_answers_and_refreshes_routing_only_on_a_flip(
    platform: Platform,
) -> None:
    await carriers.add_carrier(platform, A, "main", "127.0.0.1:5060", priority=1)
    await carriers.add_carrier(platform, A, "backup", "127.0.0.2:5070", transport="tcp")
    await carriers.add_carrier(platform, A, "spare", "::1")
    await Carrier.filter(name="spare").update(enabled=False)
    audit_rows = await AuditEntry.all().count()
    net = Carriers({"127.0.0.1:5060": OK, "127.0.0.2:5070": TIMEOUT})
    refreshes = Refreshes()
    prober = CarrierProber(net.probe, on_change=refreshes)

    # First round: main up (it was unknown, which routes as up: no flip), backup down.
    assert await prober.probe_all() == ["backup"]
    assert sorted(net.asked) == [("127.0.0.1:5060", "udp"), ("127.0.0.2:5070", "tcp")]
    assert refreshes.count == 1
    main, backup, spare = [await carriers.get_carrier(n) for n in ("main", "backup", "spare")]
    assert (main.probe_up, main.probe_status, main.probe_reason) == (True, 200, "OK")
    assert (backup.probe_up, backup.probe_status, backup.probe_reason) == (
        False,
        None,
        "Request Timeout",
    )
    assert main.probed_at is not None and main.probed_at == backup.probed_at
    # A disabled carrier is not probed: its state stays as it was.
    assert spare.probed_at is None and await _state("spare") is CarrierState.UNKNOWN

    # Nothing changed: no refresh.
    assert await prober.probe_all() == []
    assert refreshes.count == 1

    # main answers 503 (down), backup comes back: one refresh for both.
    net.answers.update({"127.0.0.1:5060": BUSY, "127.0.0.2:5070": OK})
    assert sorted(await prober.probe_all()) == ["backup", "main"]
    assert refreshes.count == 2
    assert (await _state("main"), await _state("backup")) == (CarrierState.DOWN, CarrierState.UP)
    main = await carriers.get_carrier("main")
    assert (main.probe_status, main.probe_reason) == (503, "Service Unavailable")

    # Observed state, not a change a person made: no audit row.
    assert await AuditEntry.all().count() == audit_rows


async def test_a_round_keeps_what_kamailio_could_not_be_asked_about(platform: Platform) -> None:
    await carriers.add_carrier(platform, A, "main", "127.0.0.1")
    await carriers.add_carrier(platform, A, "backup", "127.0.0.2")
    await Carrier.filter(name="main").update(probe_up=True, probe_status=200, probe_reason="OK")
    net = Carriers(
        {"127.0.0.1:5060": PbxError("kamailio RPC unreachable"), "127.0.0.2:5060": TIMEOUT}
    )
    refreshes = Refreshes()
    with pytest.raises(PbxError):
        await CarrierProber(net.probe, on_change=refreshes).probe_all()
    main = await carriers.get_carrier("main")
    assert (main.probe_up, main.probe_status, main.probed_at) == (True, 200, None)
    # The answer that did come is stored, and its flip acted on.
    assert await _state("backup") is CarrierState.DOWN
    assert refreshes.count == 1


async def test_a_long_reason_is_cut_to_the_column(platform: Platform) -> None:
    await carriers.add_carrier(platform, A, "main", "127.0.0.1")
    net = Carriers({"127.0.0.1:5060": ProbeResult(403, "Forbidden " + "x" * 300)})
    await CarrierProber(net.probe).probe_all()
    main = await carriers.get_carrier("main")
    assert main.probe_up is True and main.probe_reason == ("Forbidden " + "x" * 300)[:128]


async def test_going_down_warns_and_coming_back_informs(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    await carriers.add_carrier(platform, A, "main", "127.0.0.1")
    net = Carriers({"127.0.0.1:5060": TIMEOUT})
    prober = CarrierProber(net.probe)
    with caplog.at_level(logging.INFO, logger="provd.carriers"):
        await prober.probe_all()
        await prober.probe_all()
        net.answers["127.0.0.1:5060"] = OK
        await prober.probe_all()
        await prober.probe_all()
    said = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "provd.carriers"]
    assert said == [
        (logging.WARNING, "carrier main is down (no answer: Request Timeout): calls try it last"),
        (logging.INFO, "carrier main is up again (200 OK)"),
    ]


async def test_started_it_probes_every_interval_until_stopped(platform: Platform) -> None:
    await carriers.add_carrier(platform, A, "main", "127.0.0.1")
    rounds = asyncio.Queue[None]()
    net = Carriers({"127.0.0.1:5060": OK})

    async def probe(address: str, transport: str) -> ProbeResult:
        rounds.put_nowait(None)
        return await net.probe(address, transport)

    prober = CarrierProber(probe, interval_s=0.01)
    prober.start()
    try:
        for _ in range(3):
            await asyncio.wait_for(rounds.get(), timeout=10)
    finally:
        await prober.stop()
    asked = len(net.asked)
    await asyncio.sleep(0.05)
    assert len(net.asked) == asked
    assert await _state("main") is CarrierState.UP


async def test_a_failing_round_does_not_end_the_loop(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    await carriers.add_carrier(platform, A, "main", "127.0.0.1")
    calls = asyncio.Queue[None]()

    async def unreachable(address: str, transport: str) -> ProbeResult:
        calls.put_nowait(None)
        raise PbxError("kamailio RPC unreachable")

    prober = CarrierProber(unreachable, interval_s=0.01)
    with caplog.at_level(logging.WARNING, logger="provd.carriers"):
        prober.start()
        try:
            for _ in range(3):
                await asyncio.wait_for(calls.get(), timeout=10)
        finally:
            await prober.stop()
    # Logged once for the streak, not once per round.
    assert [r.getMessage() for r in caplog.records if r.name == "provd.carriers"] == [
        "carrier probe: kamailio RPC unreachable; retrying every 0.01s"
    ]


async def test_views_show_the_state_and_audit_rows_leave_it_out(platform: Platform) -> None:
    await carriers.add_carrier(platform, A, "main", "127.0.0.1")
    view = carriers.carrier_view(await carriers.get_carrier("main"))
    assert {k: view[k] for k in ("state", "probe_status", "probe_reason", "probed_at")} == {
        "state": "unknown",
        "probe_status": None,
        "probe_reason": None,
        "probed_at": None,
    }
    await CarrierProber(Carriers({"127.0.0.1:5060": BUSY}).probe).probe_all()
    row = await carriers.get_carrier("main")
    view = carriers.carrier_view(row)
    assert (view["state"], view["probe_status"], view["probe_reason"]) == (
        "down",
        503,
        "Service Unavailable",
    )
    assert row.probed_at is not None and view["probed_at"] == row.probed_at.isoformat()
    await carriers.remove_carrier(platform, A, "main")
    for entry in await AuditEntry.filter(object_type="carrier"):
        snapshot = entry.after or entry.before
        assert snapshot is not None and "state" not in snapshot and "probed_at" not in snapshot
