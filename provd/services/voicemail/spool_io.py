"""The media application's voicemail files as provd reads and writes them: its spool of
new messages, what users did from the phone (actions, greetings) and mailboxes.json.
provd.media.spool, provd.media.mailbox_actions and provd.media.mailboxes own the
formats; voicemail's services reach them through these names only."""

from __future__ import annotations

from provd.media.mailbox_actions import (
    read_actions,
    read_greetings,
    remove_action,
    remove_greeting,
    set_aside_greeting,
)
from provd.media.mailboxes import DEFAULT_MAX_SECONDS, Mailbox, MailboxMessage, write_mailboxes
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
    "MailboxMessage",
    "SpooledMessage",
    "read_actions",
    "read_greetings",
    "read_spool",
    "remove",
    "remove_action",
    "remove_greeting",
    "set_aside",
    "set_aside_greeting",
    "write_mailboxes",
]
