"""The queue documents provd and the media application exchange: each read back as
written, and a broken one refused with a reason rather than half read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provd.domain import queues
from provd.media import queue_files as qf

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)

CONFIG = qf.QueueConfig(
    tenant="acme",
    name="Sales",
    strategy=queues.Strategy.LEAST_TALK_TIME,
    ring_s=20,
    max_wait_s=120,
    has_failover=True,
    moh="acme/music",
    intro="acme/welcome",
    periodic="acme/info",
    periodic_s=45,
    announce_position=True,
    agents=(
        queues.Agent("2002", queues.AgentStats(T0, 3, 95.5, T0 + timedelta(minutes=9))),
        queues.Agent("2001", queues.AgentStats(T0 + timedelta(minutes=1))),
    ),
)


def test_queues_json_reads_back_as_written(tmp_path: Path) -> None:
    path = qf.write_queues(tmp_path, {"ACME.test": {"800": CONFIG}})
    assert path == tmp_path / qf.QUEUES_FILE
    assert qf.queues_from_json(path.read_text()) == {"acme.test": {"800": CONFIG}}
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(version=2), "version 2"),
        (lambda d: d["tenants"]["acme.test"]["800"].update(strategy="round_robin"), "round_robin"),
        (lambda d: d["tenants"]["acme.test"]["800"]["agents"][0].update(since=None), "login"),
        (
            lambda d: d["tenants"]["acme.test"]["800"]["agents"][0].update(
                since="2026-12-07T08:00"
            ),
            "zone",
        ),
        (lambda d: d["tenants"]["acme.test"]["800"].pop("ring_s"), "ring_s"),
    ],
)
def test_a_broken_queues_json_is_refused_with_its_reason(mutate: object, message: str) -> None:
    doc = json.loads(qf.queues_to_json({"acme.test": {"800": CONFIG}}))
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(qf.QueueFileError, match=message):
        qf.queues_from_json(json.dumps(doc))


def test_the_live_state_reads_back(tmp_path: Path) -> None:
    assert qf.read_live(tmp_path) is None
    live = {"acme.test": {"800": qf.LiveQueue(2, 31.5, {"2001": "talking", "2002": "ringing"})}}
    qf.write_live(tmp_path, T0, live)
    assert qf.read_live(tmp_path) == (T0, live)
    (tmp_path / qf.LIVE_FILE).write_text('{"version": 1}')
    with pytest.raises(qf.QueueFileError):
        qf.read_live(tmp_path)


def record(outcome: queues.Outcome = "answered", **kw: object) -> qf.QueueCall:
    base: dict[str, object] = {
        "id": qf.new_call_id(T0),
        "domain": "acme.test",
        "queue": "800",
        "call_id": "abc@127.0.0.1",
        "caller": "0612345678",
        "caller_number": "+31612345678",
        "entered_at": T0,
        "left_at": T0 + timedelta(seconds=80),
        "outcome": outcome,
        "wait_s": 12.5,
        "agent": "2001" if outcome == "answered" else None,
        "talk_s": 67.5 if outcome == "answered" else 0.0,
    }
    base.update(kw)
    return qf.QueueCall(**base)  # type: ignore[arg-type]


def test_caller_records_are_spooled_whole_and_read_oldest_first(tmp_path: Path) -> None:
    later = record("abandoned", id=qf.new_call_id(T0 + timedelta(seconds=1)))
    first = record()
    qf.write_queue_call(tmp_path, later)
    qf.write_queue_call(tmp_path, first)
    found = qf.read_queue_calls(tmp_path)
    assert [r for _, r in found] == [first, later]
    assert all(p.parent == tmp_path / qf.CALLS_DIR for p, _ in found)


def test_an_unreadable_record_is_listed_with_its_error(tmp_path: Path) -> None:
    assert qf.read_queue_calls(tmp_path) == []
    qf.write_queue_call(tmp_path, record())
    bad = tmp_path / qf.CALLS_DIR / "20261207T080000-000000000000.json"
    bad.write_text(json.dumps({"version": 1, "outcome": "lost"}))
    found = qf.read_queue_calls(tmp_path)
    errors = [r for _, r in found if isinstance(r, qf.QueueFileError)]
    assert len(found) == 2 and len(errors) == 1
    assert "lost" in str(errors[0])
