"""What the media application says is happening now, as the console and /metrics read
it: believed while fresh, dropped once the media application has not written for a
while (it stopped, and its waiting callers went with it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from provd.media import queue_files
from provd.services.queues.media import live

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
NOW = {"acme.test": {"800": queue_files.LiveQueue(2, 12.0, {"201": "talking"})}}


def test_a_fresh_state_is_read(tmp_path: Path) -> None:
    queue_files.write_live(tmp_path, T0, NOW)
    assert live(tmp_path, now=T0 + timedelta(seconds=queue_files.LIVE_STALE_S)) == NOW


def test_a_stale_state_is_nobody_waiting(tmp_path: Path) -> None:
    queue_files.write_live(tmp_path, T0, NOW)
    later = T0 + timedelta(seconds=queue_files.LIVE_STALE_S + 1)
    assert live(tmp_path, now=later) == {}


def test_no_state_and_a_broken_one_are_nothing(tmp_path: Path) -> None:
    assert live(None) == {}
    assert live(tmp_path) == {}
    (tmp_path / queue_files.LIVE_FILE).write_text("{")
    assert live(tmp_path) == {}


def test_the_media_application_rewrites_well_within_the_staleness() -> None:
    # Readers drop a state older than LIVE_STALE_S; an idle app must beat it.
    assert queue_files.LIVE_HEARTBEAT_S * 2 < queue_files.LIVE_STALE_S
