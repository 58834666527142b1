"""bench/two_nodes.py's pure parts: how the phones are spread over the nodes, and the
two-over-one figures, paired by round."""

from __future__ import annotations

from collections import Counter

import pytest
from _loadgen import Job
from two_nodes import ONE, SQLITE, TWO, Run, summary


def _job(ports: list[int]) -> Job:
    return Job("127.0.0.1", 8443, "ca.pem", "digest", 10, 30.0, 60.0, [], [], ports=ports)


def test_phones_go_to_each_port_in_turn() -> None:
    job = _job([8443, 8444])
    assert [job.port_for(i) for i in range(5)] == [8443, 8444, 8443, 8444, 8443]
    assert Counter(job.port_for(i) for i in range(501)) == {8443: 251, 8444: 250}


def test_without_ports_every_phone_goes_to_port() -> None:
    assert {_job([]).port_for(i) for i in range(10)} == {8443}


def _run(name: str, round_: int, phones: int, wall: float, provd: float, db: float) -> Run:
    run = Run(name, phones, round=round_, wall=wall, latencies_ms=[1.0] * phones)
    run.provd_cpu, run.db_cpu, run.server_cpu = provd, db, provd + db
    return run


def test_two_over_one_is_paired_within_each_round_then_the_median() -> None:
    runs = [
        _run(ONE, 1, 100, 2.0, 1.0, 0.5),  # 50 phones/s, 15 ms, provd 10 ms
        _run(TWO, 1, 100, 1.0, 1.2, 0.6),  # 100 phones/s, 18 ms, provd 12 ms
        _run(SQLITE, 1, 100, 0.5, 0.5, 0.0),  # not part of the ratio
        _run(ONE, 2, 100, 4.0, 1.0, 0.5),
        _run(TWO, 2, 100, 2.5, 1.0, 0.5),
        _run(ONE, 3, 100, 2.0, 1.0, 0.5),  # its pair missing (stopped): left out
    ]
    rows = summary(runs)
    assert [label for label, *_ in rows] == ["round 1", "round 2", "median"]
    assert rows[0][1:] == pytest.approx((2.0, 1.2, 1.2))
    assert rows[1][1:] == pytest.approx((1.6, 1.0, 1.0))
    assert rows[2][1:] == pytest.approx((1.8, 1.1, 1.1))


def test_a_round_where_no_phone_got_through_gives_no_ratio() -> None:
    runs = [_run(ONE, 1, 100, 2.0, 1.0, 0.5), _run(TWO, 1, 0, 2.0, 1.0, 0.5)]
    assert summary(runs) == []
