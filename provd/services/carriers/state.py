"""Whether a carrier answers: its last OPTIONS probe, as people read it.

The PBX layer probes each carrier with OPTIONS and stores the answer on the carrier
(``probe_up``, ``probe_status``, ``probe_reason``, ``probed_at``); all null until the
first probe. This reads those columns only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from provd.db.models import Carrier


class CarrierState(StrEnum):
    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"
    """Not probed yet."""


@dataclass(frozen=True, slots=True)
class ProbeAnswer:
    state: CarrierState
    status: int | None
    """The SIP status of the last answer; None when none came (or no probe yet)."""
    reason: str | None
    probed_at: datetime | None

    def describe(self) -> str:
        """``200 OK``, ``503 Service Unavailable``, ``no answer`` or ``not probed yet``."""
        if self.probed_at is None and self.status is None:
            return "not probed yet"
        if self.status is None:
            return f"no answer{': ' + self.reason if self.reason else ''}"
        return f"{self.status} {self.reason}" if self.reason else str(self.status)


def probe_answer(carrier: Carrier) -> ProbeAnswer:
    if carrier.probe_up is None:
        state = CarrierState.UNKNOWN
    else:
        state = CarrierState.UP if carrier.probe_up else CarrierState.DOWN
    return ProbeAnswer(state, carrier.probe_status, carrier.probe_reason, carrier.probed_at)
