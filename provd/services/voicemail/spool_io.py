"""The media application's voicemail files as provd reads and writes them: its spool of
new messages and mailboxes.json. provd.media.spool and provd.media.mailboxes own both
formats; voicemail's services reach them through these names only."""

from __future__ import annotations

from provd.media.mailboxes import DEFAULT_MAX_SECONDS, Mailbox, write_mailboxes
from provd.media.spool import (
    BAD_DIR,
    MESSAGE_ID,
    SPOOL_DIR,
    SpooledMessage,
    read_spool,
    remove,
    set_aside,
)

__all__ = [
    "BAD_DIR",
    "DEFAULT_MAX_SECONDS",
    "MESSAGE_ID",
    "SPOOL_DIR",
    "Mailbox",
    "SpooledMessage",
    "read_spool",
    "remove",
    "set_aside",
    "write_mailboxes",
]
