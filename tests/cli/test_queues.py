"""`provd queues …`: a queue with agents, a failover and a number, agents ordered and
logged in and out, the figures, and bad input one line naming the field with nothing
written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli.call_handling import ok, refused


def _queues(data_dir: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        return db.execute("SELECT * FROM queue ORDER BY id").fetchall()


@pytest.fixture
def office(data_dir: Path) -> Path:
    ok(data_dir, "user add --extension 202 --name 'Back Office'")
    ok(data_dir, "user add --extension 203 --name Sales")
    ok(data_dir, "group add 600 --name Sales --policy fixed")
    return data_dir


def test_a_queue_with_agents_a_failover_and_a_number(office: Path) -> None:
    shown = ok(
        office,
        "queues add default 800 --name Support --strategy longest_idle --ring 20"
        " --max-wait 120 --failover group:600 --announce-position --agent 202 --agent 201",
    )
    assert shown.splitlines()[1:] == [
        "queue: 800 (Support) in default",
        "strategy: longest_idle",
        "ring_seconds: 20",
        "max_wait_seconds: 120",
        "failover: group 600 (Sales)",
        "moh: default (the tenant music on hold)",
        "intro: none",
        "periodic: none every 40 s",
        "announce_position: yes",
        "numbers: none",
        "agents:",
        "  1. 202 Back Office (logged out)",
        "  2. 201 Front Desk (logged out)",
    ]
    ok(office, "number add +31201234500 --count 10 --tenant default")
    assert "queue 800 (Support)" in ok(office, "number assign +31201234501 --queue 800")
    listed = ok(office, "queues list default").splitlines()
    assert listed[1].split() == ["800", "Support", "longest_idle", "0/2", "group", "600", "(Sales)"]
    ok(office, "user forward 203 --busy queue:800")
    view = json.loads(ok(office, "queues set default 800 --strategy fewest-calls --json"))
    assert view["strategy"] == "fewest_calls"
    refused(office, "queues remove default 800", "extension")


def test_agents_are_changed_logged_in_and_out_and_counted(office: Path) -> None:
    ok(office, "queues add default 800 --name Support --agent 201")
    ok(office, "queues add default 801 --name Sales --agent 201")
    assert ok(office, "queues agents default 800 --add 202 --position 1").splitlines() == [
        "  1. 202 Back Office (logged out)",
        "  2. 201 Front Desk (logged out)",
    ]
    ok(office, "queues agents default 800 --add 203")
    ok(office, "queues agents default 800 --order 201,203,202")
    assert ok(office, "queues agents default 800 --remove 203").splitlines() == [
        "  1. 201 Front Desk (logged out)",
        "  2. 202 Back Office (logged out)",
    ]
    assert ok(office, "queues login default 201").strip() == "201 logged in to queue 800, 801"
    done = json.loads(ok(office, "queues logout default 201 --queue 801 --json"))
    assert done == {"agent": "201", "logged_in": False, "changed": ["801"], "unchanged": []}
    assert "logged in since" in ok(office, "queues show default 800")
    figures = ok(office, "queues stats default 800 --period 7d")
    assert "answered: 0" in figures and "201" in figures
    assert "*903*201" in ok(office, "codes --tenant default")


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("queues add default 800", "name"),
        ("queues add default 201 --name Dup", "extension"),
        ("queues add default 800 --name S --strategy loudest", "strategy"),
        ("queues add default 800 --name S --ring 2", "ring_seconds"),
        ("queues add default 800 --name S --ring 60 --max-wait 30", "max_wait_seconds"),
        ("queues add default 800 --name S --failover group:699", "failover"),
        ("queues add default 800 --name S --moh nothing", "moh"),
        ("queues add default 800 --name S --agent 299", "agents"),
        ("queues set default 899 --name S", "extension"),
        ("queues login default 201 --queue 899", "queue"),
        ("queues login default 201", "agent"),
        ("queues stats default 899", "extension"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(office: Path, line: str, field: str) -> None:
    refused(office, line, field)
    assert _queues(office) == []
