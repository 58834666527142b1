"""Whether this provd can do its work: what ``/readyz`` tells a load balancer.

Ready means the database answers a trivial query and, when ``serve`` runs or drives a
PBX, Kamailio answers its RPC and rtpengine a ping on its control address. The checks
run together, each bounded in time, so an answer comes within :data:`CHECK_TIMEOUT_S`
whatever hangs. What is reported is fixed wording, never a driver's message: those
can carry a host, a user name or a path, and load balancers are not told those. The
cause goes to the log, once when a check starts failing and once when it recovers.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from provd.db.connection import ping
from provd.pbx import PbxControl

log = logging.getLogger("provd.health")

CHECK_TIMEOUT_S = 2.0
"""Generous on purpose: a load balancer that took a query queued behind a boot storm's
writes for an outage would move phones away for nothing."""
OK = "ok"


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: dict[str, str]
    """Each check's answer: :data:`OK`, or why not in a few fixed words."""

    @property
    def ready(self) -> bool:
        return all(answer == OK for answer in self.checks.values())

    def view(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "not ready",
            "checks": dict(self.checks),
            "not_ready": [name for name, answer in self.checks.items() if answer != OK],
        }


Answer = tuple[str, str]
"""What a check reports, and the cause for the log (empty when it is the same)."""


async def _database() -> Answer:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await ping()
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_S:g} s", ""
    except Exception as e:
        # Whatever the driver raises (refused, closed, authentication), the answer is
        # the same; the log has the driver's words for the operator.
        return "does not answer", f"{type(e).__name__}: {e}"
    return OK, ""


async def _kamailio(control: PbxControl) -> Answer:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            started = await control.started_at()
    except TimeoutError:
        started = None
    return (OK if started is not None else "does not answer its RPC"), ""


async def _rtpengine(control: PbxControl) -> Answer:
    answered = await control.rtpengine_answers(timeout=CHECK_TIMEOUT_S)
    return (OK if answered else "does not answer a ping"), ""


class ReadinessChecks:
    """One server's checks; ``control``: the PBX ``serve`` runs or drives (None: none).

    Each check's previous answer is kept so that only changes are logged: probes come
    every few seconds, and an outage must not fill the log.
    """

    def __init__(self, control: PbxControl | None) -> None:
        self._control = control
        self._last: dict[str, str] = {}

    async def run(self) -> Readiness:
        checks = {"database": _database()}
        if self._control is not None:
            control = self._control
            checks |= {"kamailio": _kamailio(control), "rtpengine": _rtpengine(control)}
        answers = dict(zip(checks, await asyncio.gather(*checks.values()), strict=True))
        for name, (answer, cause) in answers.items():
            self._note(name, answer, cause)
        return Readiness({name: answer for name, (answer, _) in answers.items()})

    def _note(self, name: str, answer: str, cause: str) -> None:
        before = self._last.get(name, OK)
        self._last[name] = answer
        if answer == before:
            return
        if answer == OK:
            log.warning("ready again: %s answers", name)
        else:
            log.warning("not ready: %s %s%s", name, answer, f" ({cause})" if cause else "")
