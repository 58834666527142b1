"""What provd and the media application tell each other about queues, as files in the
media application's data directory (it never opens provd's database).

``queues.json`` (provd writes it whole, renamed over the old one, when a queue, an
agent's login or a sound changes; the media application reads it again when it
changed, at the next event)::

    {"version": 1,
     "tenants": {"acme.test": {"800": {
        "tenant": "acme", "name": "Sales", "strategy": "longest_idle",
        "ring_s": 15, "max_wait_s": 300, "has_failover": true,
        "moh": null, "intro": null, "periodic": null, "periodic_s": 40,
        "announce_position": false,
        "agents": [{"extension": "2001", "since": "2026-12-07T08:00:00+00:00",
                    "calls": 3, "talk_s": 95.5, "last_call_end": null}]}}}}

Tenants are keyed by SIP domain (the To domain of a ``queue-<ext>`` call); ``tenant`` is
the slug (the tenant's music-on-hold file is ``moh/tenants/<slug>.wav``). ``moh``,
``intro`` and ``periodic`` name sounds as menus do (null: the tenant's music on hold, else the
default; no introduction; no periodic message). ``agents`` lists the *logged-in*
agents in the queue's order with their figures since login, from provd's records: the
media application starts from them and counts on itself.

``queue-live.json`` (the media application writes it whole when something changed, at
most once a second, and every :data:`LIVE_HEARTBEAT_S` seconds anyway; a reader drops
one older than :data:`LIVE_STALE_S`): what is happening now, for the console and
``/metrics``::

    {"version": 1, "written_at": "...",
     "tenants": {"acme.test": {"800": {"waiting": 2, "longest_wait_s": 31.5,
        "agents": {"2001": "talking", "2002": "ringing"}}}}}

An agent missing from ``agents`` is free (or not logged in).

``queue/calls/<id>.json`` (the media application, once per caller who left a queue;
renamed into place whole; provd collects and removes them)::

    {"version": 1, "id": "...", "domain": "acme.test", "queue": "800",
     "call_id": "...", "caller": "0612345678", "caller_number": "+31612345678",
     "entered_at": "...", "left_at": "...", "outcome": "answered",
     "agent": "2001", "wait_s": 12.5, "talk_s": 64.0}

``outcome`` is answered, abandoned (the caller hung up while waiting) or failover (the
maximum wait passed); ``agent`` and ``talk_s`` are for an answered call only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from provd.domain import queues
from provd.media import spool

QUEUES_FILE = "queues.json"
LIVE_FILE = "queue-live.json"
LIVE_HEARTBEAT_S = 10.0
"""The media application rewrites the live state at least this often, changed or not."""
LIVE_STALE_S = 30.0
"""A live state older than this is not believed: the media application that wrote it
has stopped (its callers went with it), so nothing waits."""
CALLS_DIR = "queue/calls"
VERSION = 1

AgentState = str
"""``ringing`` or ``talking``."""


class QueueFileError(ValueError):
    """A queue file is unreadable or not a document this version understands."""


@dataclass(frozen=True)
class QueueConfig:
    tenant: str
    name: str
    strategy: queues.Strategy
    ring_s: int = queues.DEFAULT_RING_SECONDS
    max_wait_s: int = queues.DEFAULT_MAX_WAIT_SECONDS
    has_failover: bool = False
    moh: str | None = None
    intro: str | None = None
    periodic: str | None = None
    periodic_s: int = queues.DEFAULT_PERIODIC_SECONDS
    announce_position: bool = False
    agents: tuple[queues.Agent, ...] = ()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _when(value: object) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise QueueFileError(f"{value!r}: a time without its zone")
    return parsed


def queues_to_json(tenants: Mapping[str, Mapping[str, QueueConfig]]) -> str:
    doc = {
        "version": VERSION,
        "tenants": {
            domain.lower(): {ext: _queue_json(q) for ext, q in sorted(qs.items())}
            for domain, qs in sorted(tenants.items())
        },
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def _queue_json(q: QueueConfig) -> dict[str, Any]:
    return {
        "tenant": q.tenant,
        "name": q.name,
        "strategy": q.strategy.value,
        "ring_s": q.ring_s,
        "max_wait_s": q.max_wait_s,
        "has_failover": q.has_failover,
        "moh": q.moh,
        "intro": q.intro,
        "periodic": q.periodic,
        "periodic_s": q.periodic_s,
        "announce_position": q.announce_position,
        "agents": [
            {
                "extension": a.extension,
                "since": _iso(a.stats.since),
                "calls": a.stats.calls,
                "talk_s": round(a.stats.talk_s, 3),
                "last_call_end": _iso(a.stats.last_call_end),
            }
            for a in q.agents
        ],
    }


def queues_from_json(text: str) -> dict[str, dict[str, QueueConfig]]:
    """SIP domain -> queues by extension; QueueFileError naming what is wrong."""
    try:
        doc = json.loads(text)
        if doc.get("version") != VERSION:
            raise QueueFileError(f"version {doc.get('version')!r}, expected {VERSION}")
        return {
            str(domain): {str(ext): _queue(q) for ext, q in qs.items()}
            for domain, qs in doc["tenants"].items()
        }
    except QueueFileError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise QueueFileError(f"{QUEUES_FILE}: {exc}") from exc


def _queue(doc: Mapping[str, Any]) -> QueueConfig:
    agents = []
    for a in doc["agents"]:
        since = _when(a["since"])
        if since is None:
            raise QueueFileError(f"agent {a['extension']}: no login time")
        stats = queues.AgentStats(
            since=since,
            calls=int(a["calls"]),
            talk_s=float(a["talk_s"]),
            last_call_end=_when(a.get("last_call_end")),
        )
        agents.append(queues.Agent(str(a["extension"]), stats))
    return QueueConfig(
        tenant=str(doc["tenant"]),
        name=str(doc["name"]),
        strategy=queues.Strategy(doc["strategy"]),
        ring_s=int(doc["ring_s"]),
        max_wait_s=int(doc["max_wait_s"]),
        has_failover=bool(doc["has_failover"]),
        moh=doc.get("moh"),
        intro=doc.get("intro"),
        periodic=doc.get("periodic"),
        periodic_s=int(doc.get("periodic_s", queues.DEFAULT_PERIODIC_SECONDS)),
        announce_position=bool(doc.get("announce_position", False)),
        agents=tuple(agents),
    )


def _replace(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def write_queues(data_dir: Path, tenants: Mapping[str, Mapping[str, QueueConfig]]) -> Path:
    """Replace ``queues.json`` whole (a reader sees the old or the new one)."""
    return _replace(data_dir / QUEUES_FILE, queues_to_json(tenants))


# ---- what is happening now -------------------------------------------------------------


@dataclass(frozen=True)
class LiveQueue:
    waiting: int = 0
    longest_wait_s: float = 0.0
    agents: Mapping[str, AgentState] = field(default_factory=dict)


def live_to_json(written_at: datetime, tenants: Mapping[str, Mapping[str, LiveQueue]]) -> str:
    doc = {
        "version": VERSION,
        "written_at": written_at.isoformat(),
        "tenants": {
            domain: {
                ext: {
                    "waiting": q.waiting,
                    "longest_wait_s": round(q.longest_wait_s, 1),
                    "agents": dict(sorted(q.agents.items())),
                }
                for ext, q in sorted(qs.items())
            }
            for domain, qs in sorted(tenants.items())
        },
    }
    return json.dumps(doc, sort_keys=True) + "\n"


def live_from_json(text: str) -> tuple[datetime, dict[str, dict[str, LiveQueue]]]:
    try:
        doc = json.loads(text)
        if doc.get("version") != VERSION:
            raise QueueFileError(f"version {doc.get('version')!r}, expected {VERSION}")
        written = _when(doc["written_at"])
        assert written is not None
        tenants = {
            str(domain): {
                str(ext): LiveQueue(
                    waiting=int(q["waiting"]),
                    longest_wait_s=float(q["longest_wait_s"]),
                    agents={str(k): str(v) for k, v in q["agents"].items()},
                )
                for ext, q in qs.items()
            }
            for domain, qs in doc["tenants"].items()
        }
        return written, tenants
    except QueueFileError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, AssertionError) as exc:
        raise QueueFileError(f"{LIVE_FILE}: {exc}") from exc


def read_live(data_dir: Path) -> tuple[datetime, dict[str, dict[str, LiveQueue]]] | None:
    """The last live state the media application wrote; None when it has written none."""
    try:
        text = (data_dir / LIVE_FILE).read_text()
    except FileNotFoundError:
        return None
    return live_from_json(text)


def write_live(
    data_dir: Path, written_at: datetime, tenants: Mapping[str, Mapping[str, LiveQueue]]
) -> Path:
    return _replace(data_dir / LIVE_FILE, live_to_json(written_at, tenants))


# ---- one caller's time in a queue ------------------------------------------------------


@dataclass(frozen=True)
class QueueCall:
    id: str
    domain: str
    queue: str
    call_id: str
    caller: str
    caller_number: str | None
    entered_at: datetime
    left_at: datetime
    outcome: queues.Outcome
    wait_s: float
    agent: str | None = None
    talk_s: float = 0.0


def queue_call_to_json(call: QueueCall) -> str:
    doc = {
        "version": VERSION,
        "id": call.id,
        "domain": call.domain,
        "queue": call.queue,
        "call_id": call.call_id,
        "caller": call.caller,
        "caller_number": call.caller_number,
        "entered_at": call.entered_at.isoformat(),
        "left_at": call.left_at.isoformat(),
        "outcome": call.outcome,
        "agent": call.agent,
        "wait_s": round(call.wait_s, 3),
        "talk_s": round(call.talk_s, 3),
    }
    return json.dumps(doc, sort_keys=True) + "\n"


def queue_call_from_json(text: str) -> QueueCall:
    try:
        doc = json.loads(text)
        if doc.get("version") != VERSION:
            raise QueueFileError(f"version {doc.get('version')!r}, expected {VERSION}")
        outcome = str(doc["outcome"])
        if outcome not in queues.OUTCOMES:
            raise QueueFileError(f"outcome {outcome!r}")
        entered, left = _when(doc["entered_at"]), _when(doc["left_at"])
        if entered is None or left is None:
            raise QueueFileError("entered_at and left_at are required")
        return QueueCall(
            id=str(doc["id"]),
            domain=str(doc["domain"]),
            queue=str(doc["queue"]),
            call_id=str(doc["call_id"]),
            caller=str(doc["caller"]),
            caller_number=doc.get("caller_number"),
            entered_at=entered,
            left_at=left,
            outcome=outcome,
            wait_s=float(doc["wait_s"]),
            agent=doc.get("agent"),
            talk_s=float(doc.get("talk_s", 0.0)),
        )
    except QueueFileError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise QueueFileError(f"queue call: {exc}") from exc


def write_queue_call(data_dir: Path, call: QueueCall) -> Path:
    """Spool one caller's record; complete exactly when the file exists."""
    return _replace(data_dir / CALLS_DIR / f"{call.id}.json", queue_call_to_json(call))


def new_call_id(now: datetime) -> str:
    """A record id that sorts by time and never repeats (the voicemail spool's form)."""
    return spool.new_id(now)


def read_queue_calls(data_dir: Path) -> list[tuple[Path, QueueCall | QueueFileError]]:
    """Every spooled record, oldest first: parsed, or the error that makes it unusable
    (the collector sets those aside)."""
    folder = data_dir / CALLS_DIR
    if not folder.is_dir():
        return []
    found: list[tuple[Path, QueueCall | QueueFileError]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            found.append((path, queue_call_from_json(path.read_text())))
        except QueueFileError as exc:
            found.append((path, exc))
        except FileNotFoundError:
            continue
    return found
