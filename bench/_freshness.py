"""Whether the MAC file a phone got during ``fleet_storm.py`` was right and fresh.

The benchmark renames some users through provd's API while their phones boot. Once
provd has acknowledged a rename, every MAC-file request that starts afterwards must
carry the new name: a cache that has not heard of the change would serve the old one.
A request that started before the acknowledgement may see either name (the server
may have read the user before or after the change committed). A file that sets
another account, or carries a name that was never this user's, is wrong.

Times are ``time.monotonic()`` readings, one clock for every process of the machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    OK = "ok"
    STALE = "stale"
    WRONG = "wrong"


@dataclass(frozen=True, slots=True)
class Rename:
    old: str
    new: str
    sent_at: float
    acked_at: float | None
    """None when provd did not acknowledge it (then either name is right)."""


def judge(
    seen: str | None, own_account: bool, original: str, started_at: float, rename: Rename | None
) -> Verdict:
    """The verdict on one MAC file: ``seen`` the display name it carried, ``original``
    the user's name when the storm began, ``started_at`` when its request started."""
    if not own_account or seen is None:
        return Verdict.WRONG
    if rename is None:
        return Verdict.OK if seen == original else Verdict.WRONG
    if seen not in (rename.old, rename.new):
        return Verdict.WRONG
    if rename.acked_at is not None and started_at > rename.acked_at and seen != rename.new:
        return Verdict.STALE
    return Verdict.OK


def must_be_new(started_at: float, rename: Rename | None) -> bool:
    """Whether the check of this file was strict: its request began after the ack."""
    return rename is not None and rename.acked_at is not None and started_at > rename.acked_at
