"""A carrier's state from its last OPTIONS probe: unknown until probed, then up or down
with the answer that decided it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from provd.db.models import Carrier
from provd.services import carriers
from provd.services.carriers.state import CarrierState, probe_answer
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR as A

AT = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("probe", "state", "described"),
    [
        ({}, CarrierState.UNKNOWN, "not probed yet"),
        (
            {"probe_up": True, "probe_status": 200, "probe_reason": "OK", "probed_at": AT},
            CarrierState.UP,
            "200 OK",
        ),
        (
            {"probe_up": False, "probe_status": 503, "probe_reason": "Busy", "probed_at": AT},
            CarrierState.DOWN,
            "503 Busy",
        ),
        ({"probe_up": False, "probed_at": AT}, CarrierState.DOWN, "no answer"),
        (
            {"probe_up": False, "probe_reason": "timeout", "probed_at": AT},
            CarrierState.DOWN,
            "no answer: timeout",
        ),
        ({"probe_up": True, "probe_status": 404, "probed_at": AT}, CarrierState.UP, "404"),
    ],
)
async def test_the_state_and_answer_come_from_the_probe_columns(
    platform: Platform, probe: dict[str, object], state: CarrierState, described: str
) -> None:
    await carriers.add_carrier(platform, A, "upstream", "127.0.0.1")
    if probe:
        await Carrier.filter(name="upstream").update(**probe)
    answer = probe_answer(await carriers.get_carrier("upstream"))
    assert answer.state is state
    assert answer.describe() == described
    assert answer.probed_at == probe.get("probed_at")
