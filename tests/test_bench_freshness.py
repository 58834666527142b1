"""The stale-file decision of bench/fleet_storm.py (bench/_freshness.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from _freshness import Rename, Verdict, judge, must_be_new

OLD, NEW = "Bench Phone 7", "Renamed 7"
RENAME = Rename(OLD, NEW, sent_at=10.0, acked_at=11.0)


def test_an_unrenamed_phone_must_see_its_own_name() -> None:
    assert judge(OLD, True, OLD, 50.0, None) is Verdict.OK
    assert judge("Bench Phone 8", True, OLD, 50.0, None) is Verdict.WRONG


def test_a_file_for_another_account_is_wrong_whatever_its_name() -> None:
    assert judge(OLD, False, OLD, 50.0, None) is Verdict.WRONG
    assert judge(None, True, OLD, 50.0, None) is Verdict.WRONG


def test_after_the_acknowledgement_only_the_new_name_will_do() -> None:
    assert judge(NEW, True, OLD, 11.5, RENAME) is Verdict.OK
    assert judge(OLD, True, OLD, 11.5, RENAME) is Verdict.STALE
    assert must_be_new(11.5, RENAME)


def test_before_the_acknowledgement_either_name_will_do() -> None:
    for started in (9.0, 10.5, 11.0):
        assert judge(OLD, True, OLD, started, RENAME) is Verdict.OK
        assert judge(NEW, True, OLD, started, RENAME) is Verdict.OK
        assert not must_be_new(started, RENAME)


def test_a_name_that_was_never_the_users_is_wrong_even_when_renamed() -> None:
    assert judge("Renamed 8", True, OLD, 50.0, RENAME) is Verdict.WRONG


def test_an_unacknowledged_rename_checks_nothing_strictly() -> None:
    failed = Rename(OLD, NEW, sent_at=10.0, acked_at=None)
    assert judge(OLD, True, OLD, 50.0, failed) is Verdict.OK
    assert judge(NEW, True, OLD, 50.0, failed) is Verdict.OK
    assert not must_be_new(50.0, failed)
