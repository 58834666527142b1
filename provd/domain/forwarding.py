"""Call forwarding of a user: the cases, and how long an unanswered call rings first.

*always* sends every call on before the user's phones ring; *busy* when the user is
busy (or in do-not-disturb); *no_answer* when no phone answered within
``forward_no_answer_seconds``; *unreachable* when no phone of the user is registered.
Each names a destination (provd.domain.destinations) or none.
"""

from __future__ import annotations

from enum import StrEnum

from provd.domain.destinations import check_seconds


class ForwardCase(StrEnum):
    ALWAYS = "always"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    UNREACHABLE = "unreachable"

    @property
    def column(self) -> str:
        """The user's column holding this case's destination."""
        return f"forward_{self.value}"

    @property
    def option(self) -> str:
        """As the command line writes it (``no-answer``)."""
        return self.value.replace("_", "-")


NO_ANSWER_SECONDS = (5, 120)
DEFAULT_NO_ANSWER_SECONDS = 20


def check_no_answer_seconds(value: object, *, field: str = "no_answer_seconds") -> int:
    return check_seconds(value, *NO_ANSWER_SECONDS, field=field)
