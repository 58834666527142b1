"""Messages in the media application's spool, written here in the contract's format
(its writer, provd.media.spool, is not what these tests are about)."""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from tests.services.menus.audio import tone_wav


def spool_message(
    media_dir: Path,
    domain: str,
    mailbox: str,
    *,
    at: datetime | None = None,
    caller: str = "0612345678",
    caller_name: str = "Jan Jansen",
    caller_number: str | None = "+31612345678",
    reason: str = "no-answer",
    wav: bytes | None = None,
    message_id: str | None = None,
) -> str:
    """A complete message: the WAV first, then its JSON (renamed into place). Its id."""
    at = at or datetime.now(UTC).replace(microsecond=0)
    message_id = message_id or f"{at:%Y%m%dT%H%M%S}-{secrets.token_hex(6)}"
    spool = media_dir / "voicemail" / "new"
    spool.mkdir(parents=True, exist_ok=True)
    (spool / f"{message_id}.wav").write_bytes(wav if wav is not None else tone_wav(0.2))
    fields = {
        "version": 1, "domain": domain, "mailbox": mailbox, "caller": caller,
        "caller_name": caller_name, "caller_number": caller_number,
        "received_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "duration_ms": 200,
        "call_id": f"call-{message_id}", "reason": reason,
    }  # fmt: skip
    tmp = spool / f".{message_id}.json.tmp"
    tmp.write_text(json.dumps(fields))
    os.replace(tmp, spool / f"{message_id}.json")
    return message_id
