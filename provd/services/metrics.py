"""What provd counts for Prometheus: every metric is defined here, and only here.

The web layer and the services record through the functions below and never touch
``prometheus_client`` themselves, so how values are kept is decided in this module:

- one process (``provd serve`` today): values live in this process's memory, and the
  process's own CPU, memory and open-file figures (``process_*``) are added;
- several processes: when ``PROMETHEUS_MULTIPROC_DIR`` names a directory as provd
  starts, prometheus_client writes each process's counters to files there and a scrape,
  answered by any of them, adds the files up (its multiprocess mode). ``process_*`` is
  left out then, as prometheus_client cannot add up processes' figures; the directory
  must be emptied before the processes start.

Gauges are never stored: what a scrape shows as a gauge (rollout devices by state,
registered contacts, callers waiting in queues) is read when the scrape comes, so every
process shows the same and none has to be told; so are the queues' calls by outcome, a
count of rows that are never removed. Labels take values from fixed sets only (route
classes, status codes, states, outcomes, daemon names): never a MAC, a user name, a
tenant or anything secret. The queue figures are therefore the platform's, summed over
every tenant's queues; a tenant's own are on its Queues page and in its API.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from provd.db.models import QueueAgent
from provd.pbx import PbxControl, PbxError
from provd.services.queues.media import live
from provd.services.queues.stats import calls_by_outcome, wait_ms_by_outcome
from provd.services.rollouts.progress import open_device_states

log = logging.getLogger("provd.metrics")

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client reads it when it is imported: set it before provd starts."""
MULTIPROCESS = MULTIPROCESS_ENV in os.environ
_REGISTRATIONS_TIMEOUT_S = 3.0

# A counter's creation time (``*_created``) is one more series per label set that no
# dashboard reads; rates come from the counters themselves.
disable_created_metrics()  # type: ignore[no-untyped-call]
_REGISTRY = CollectorRegistry()
if not MULTIPROCESS:
    ProcessCollector(registry=_REGISTRY)


class RouteClass(StrEnum):
    """What a request was for: the ``route`` label of the request counter."""

    PHONE = "phone"
    """A phone's file: configuration or firmware."""
    API = "api"
    CONSOLE = "console"
    """The console, the installer pages, sign-in and sign-out."""
    STATIC = "static"
    OTHER = "other"
    """The operations endpoints, and paths that match no route."""


_HTTP_REQUESTS = Counter(
    "provd_http_requests",
    "HTTP requests answered, by what they were for and the status sent",
    ["route", "status"],
    registry=_REGISTRY,
)
_PHONE_FETCH = Histogram(
    "provd_phone_fetch_seconds",
    "Time to answer a phone's configuration file (200 answers only: a challenge or a "
    "refusal takes no rendering), from the request to the response",
    registry=_REGISTRY,
)
_AUTH_FAILURES = Counter(
    "provd_phone_auth_failures",
    "Phone requests whose Digest credentials were found wrong (malformed, unknown user, "
    "wrong password, a bootstrap credential or token for another device); a request "
    "without credentials is a challenge, not a failure",
    registry=_REGISTRY,
)
_AUTH_THROTTLED = Counter(
    "provd_phone_auth_throttled",
    "Phone requests with wrong credentials answered 429 because their client keeps failing",
    registry=_REGISTRY,
)
_PBX_RESTARTS = Counter(
    "provd_pbx_restarts",
    "Times Kamailio or rtpengine died and the supervisor had it running again (serve --pbx)",
    ["process"],
    registry=_REGISTRY,
)


def http_request(route: RouteClass, status: int) -> None:
    _HTTP_REQUESTS.labels(route.value, str(status)).inc()


def phone_fetch(seconds: float) -> None:
    _PHONE_FETCH.observe(seconds)


def phone_auth_failed(*, throttled: bool) -> None:
    _AUTH_FAILURES.inc()
    if throttled:
        _AUTH_THROTTLED.inc()


def pbx_restarted(process: str) -> None:
    """The supervisor's restart hook: ``process`` is ``kamailio`` or ``rtpengine``."""
    _PBX_RESTARTS.labels(process).inc()


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


class _Joined(Collector):
    def __init__(self, parts: Sequence[Collector]) -> None:
        self._parts = parts

    def collect(self) -> Iterator[Metric]:
        for part in self._parts:
            yield from part.collect()


async def _rollout_devices() -> Metric:
    family = GaugeMetricFamily(
        "provd_rollout_devices",
        "Devices of the firmware rollouts not over yet (running or paused), by state",
        labels=["state"],
    )
    for state, n in (await open_device_states()).items():
        family.add_metric([state], n)
    return family


async def _registered_contacts(control: PbxControl) -> Metric | None:
    """Contacts the PBX holds, as the console counts them; None when it does not answer
    in time (a scrape shows no value rather than a wrong one)."""
    try:
        async with asyncio.timeout(_REGISTRATIONS_TIMEOUT_S):
            registrations = await control.registrations()
    except (PbxError, TimeoutError) as e:
        log.warning("metrics: the PBX did not give its registrations: %s", e)
        return None
    family = GaugeMetricFamily(
        "provd_pbx_registered_contacts",
        "Contacts (phones' bindings) registered with the PBX",
    )
    family.add_metric([], sum(len(r.contacts) for r in registrations.values()))
    return family


async def _queues(media_dir: Path | None) -> list[Metric]:
    """Callers waiting in every queue now (the media application's last word), agents
    logged in (one per agent and queue), and the callers who left a queue by outcome."""
    waiting = GaugeMetricFamily(
        "provd_queue_waiting", "Callers waiting in a call queue now, over every queue"
    )
    waiting.add_metric(
        [], sum(q.waiting for queues in live(media_dir).values() for q in queues.values())
    )
    logged_in = GaugeMetricFamily(
        "provd_queue_agents_logged_in",
        "Agents logged in to a call queue, one per agent and queue, over every queue",
    )
    logged_in.add_metric([], await QueueAgent.filter(logged_in=True).count())
    calls = CounterMetricFamily(
        "provd_queue_calls",
        "Callers who left a call queue, by outcome (answered, abandoned, failover)",
        labels=["outcome"],
    )
    for outcome, n in (await calls_by_outcome()).items():
        calls.add_metric([outcome], n)
    # With the count above, the average wait over any range: rate(sum) / rate(count).
    waited = CounterMetricFamily(
        "provd_queue_wait_seconds",
        "Seconds callers waited in a call queue before they left it, by outcome",
        labels=["outcome"],
    )
    for outcome, ms in (await wait_ms_by_outcome()).items():
        waited.add_metric([outcome], ms / 1000)
    return [waiting, logged_in, calls, waited]


async def exposition(
    control: PbxControl | None, accept: str = "", *, media_dir: Path | None = None
) -> tuple[bytes, str]:
    """The scrape's body and its content type (text, or OpenMetrics when ``accept``
    asks for it); ``control``: the PBX whose registrations to count, if any;
    ``media_dir``: where the media application says what is happening in its queues."""
    read: list[Metric] = [await _rollout_devices(), *await _queues(media_dir)]
    if control is not None and (contacts := await _registered_contacts(control)) is not None:
        read.append(contacts)
    stored: Collector = (
        MultiProcessCollector(None)  # type: ignore[no-untyped-call]
        if MULTIPROCESS
        else _REGISTRY
    )
    encode, content_type = choose_encoder(accept)
    return encode(_Joined([stored, _Families(read)])), content_type
