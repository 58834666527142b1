"""Hunt groups: how a group rings its members, and the limits of its times.

* *simultaneous*: every member at once, for ``ring_seconds``.
* *fixed*: one member after the other, in their order, ``ring_seconds`` each.
* *circular*: as fixed, starting after the member who answered last.
* *longest_idle*: as fixed, the member idle longest first.

``total_wait_seconds`` is when the caller goes to the overflow destination; 0 means
once every member has been tried (rung once). A busy member, or one in do-not-disturb,
is skipped by the call path.
"""

from __future__ import annotations

from enum import StrEnum

from provd.domain.destinations import check_seconds
from provd.domain.errors import InvalidInput


class Policy(StrEnum):
    SIMULTANEOUS = "simultaneous"
    FIXED = "fixed"
    CIRCULAR = "circular"
    LONGEST_IDLE = "longest_idle"


RING_SECONDS = (5, 120)
DEFAULT_RING_SECONDS = 15
MAX_WAIT_SECONDS = 900
MAX_MEMBERS = 50
"""More than a ring cycle can reach: a group this large wants to be split."""


def check_policy(text: str, *, field: str = "policy") -> Policy:
    try:
        return Policy(text.strip().lower().replace("-", "_"))
    except ValueError:
        names = ", ".join(p.value for p in Policy)
        raise InvalidInput(field, f"{text!r} is not a policy: use {names}") from None


def check_ring_seconds(value: object, *, field: str = "ring_seconds") -> int:
    return check_seconds(value, *RING_SECONDS, field=field)


def check_wait(total_wait: object, ring: int, *, field: str = "total_wait_seconds") -> int:
    """The total wait: 0 (every member tried once), else at least one member's ring time,
    as a shorter one would cut the first member off before their ring time is up."""
    wait = check_seconds(total_wait, 0, MAX_WAIT_SECONDS, field=field)
    if 0 < wait < ring:
        raise InvalidInput(
            field,
            f"a total wait of {wait} s is shorter than one member's ring time ({ring} s):"
            f" use 0 (every member tried once) or at least {ring}",
        )
    return wait
