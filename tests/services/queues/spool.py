"""Callers' records in the media application's queue spool, written with the contract's
own writer (provd.media.queue_files)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from provd.media import queue_files


def spool_queue_call(
    media_dir: Path,
    domain: str,
    queue: str,
    *,
    agent: str | None = None,
    at: datetime | None = None,
    wait_s: float = 10.0,
    talk_s: float = 30.0,
) -> str:
    """One caller's record: answered by ``agent``, else abandoned. Its id."""
    entered = at or datetime.now(UTC).replace(microsecond=0)
    record_id = f"{entered:%Y%m%dT%H%M%S}-{secrets.token_hex(6)}"
    queue_files.write_queue_call(
        media_dir,
        queue_files.QueueCall(
            id=record_id,
            domain=domain,
            queue=queue,
            call_id=f"call-{record_id}",
            caller="0612345678",
            caller_number="+31612345678",
            entered_at=entered,
            left_at=entered + timedelta(seconds=wait_s + (talk_s if agent else 0.0)),
            outcome="answered" if agent else "abandoned",
            wait_s=wait_s,
            agent=agent,
            talk_s=talk_s if agent else 0.0,
        ),
    )
    return record_id
