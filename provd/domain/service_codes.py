"""Service codes: what a user dials to change their own call handling from the phone.

The codes follow the GSM supplementary-service convention phones and users know
(``*21*number#`` sets, ``#21#`` clears), plus do-not-disturb and the night switch:

=================  ==========================================================
``*21*NUMBER#``    forward every call to NUMBER (an extension or a number)
``*67*NUMBER#``    forward when busy
``*61*NUMBER#``    forward when not answered
``*62*NUMBER#``    forward when not registered (unreachable)
``#21#`` …         clear that forward (``#67#``, ``#61#``, ``#62#``)
``#002#``          clear every forward
``*78`` / ``*79``  do-not-disturb on / off
``*915``           flip the night switch (on, or back to automatic); with several
                   schedules ``*915*N#`` flips the N-th (as ``provd codes`` lists them)
``*903`` / ``*904``  log in to / out of every queue the user is an agent of;
                   ``*903*EXT#`` / ``*904*EXT#`` that queue only; ``*903*`` and the
                   user's own extension flips their logins (their BLF lamp key)
``*1233``          the user's own mailbox: listen to messages, record a greeting
                   (a call to the media application, PIN first); ``*1233*EXT#``
                   mailbox EXT of the tenant with its PIN (a shared mailbox, or
                   one's own from a colleague's phone)
=================  ==========================================================

:func:`parse` only reads what was dialled; the change is made by
``provd.services.service_codes`` as the user who dialled, audited like any other.
``*1233`` is no change and :func:`parse` does not read it: it is a call, which
routing sends to the media application (provd.domain.routing).
A phone may send ``#`` percent-encoded (``%23``): the caller unquotes first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ForwardCase = Literal["always", "busy", "no-answer", "unreachable"]

FORWARD_CODES: dict[str, ForwardCase] = {
    "21": "always",
    "67": "busy",
    "61": "no-answer",
    "62": "unreachable",
}
FORWARD_SET_PREFIX: dict[ForwardCase, str] = {
    case: f"*{code}*" for code, case in FORWARD_CODES.items()
}
"""What a phone dials before the target to set a forward (``*21*`` then ``3603``):
phones that append the target to an "on code" end up dialling a code :func:`parse` reads."""
FORWARD_CLEAR: dict[ForwardCase, str] = {case: f"#{code}#" for code, case in FORWARD_CODES.items()}
DND_ON = "*78"
DND_OFF = "*79"
NIGHT_SWITCH = "*915"
AGENT_LOGIN = "*903"
AGENT_LOGOUT = "*904"
CLEAR_ALL = "#002#"
VOICEMAIL_ACCESS = "*1233"
"""The user's own mailbox (the Dutch hosted-PBX manuals' 1233, with provd's star)."""
_OTHER_MAILBOX = re.compile(r"\*1233\*([0-9]{2,5})#?")


def mailbox_access(dialled: str) -> str | None:
    """The mailbox ``*1233*EXT#`` names (its extension), or None when it is not that."""
    m = _OTHER_MAILBOX.fullmatch(dialled.strip())
    return m.group(1) if m else None


@dataclass(frozen=True)
class SetForward:
    case: ForwardCase
    target: str
    """As dialled: an extension or a number in any notation the tenant's country reads."""


@dataclass(frozen=True)
class ClearForward:
    case: ForwardCase | Literal["all"]


@dataclass(frozen=True)
class SetDnd:
    on: bool


@dataclass(frozen=True)
class FlipNightSwitch:
    schedule: int
    """1-based position among the tenant's schedules (by name)."""


@dataclass(frozen=True)
class QueueLogin:
    """An agent logging in (``on``) or out; ``queue`` is one queue's extension, None for
    every queue the user is an agent of."""

    on: bool
    queue: str | None = None


ServiceCode = SetForward | ClearForward | SetDnd | FlipNightSwitch | QueueLogin

_SET = re.compile(r"\*(21|67|61|62)\*([+0-9]{2,20})#?")
_CLEAR = re.compile(r"#(21|67|61|62)#")
_NIGHT = re.compile(r"\*915(?:\*([1-9][0-9]?)#?)?")
_AGENT = re.compile(r"\*90([34])(?:\*([0-9]{2,5})#?)?")


def parse(dialled: str) -> ServiceCode | None:
    """The service code ``dialled`` is, or None when it is not one."""
    text = dialled.strip()
    if not text or text[0] not in "*#":
        return None
    if m := _SET.fullmatch(text):
        return SetForward(FORWARD_CODES[m.group(1)], m.group(2))
    if m := _CLEAR.fullmatch(text):
        return ClearForward(FORWARD_CODES[m.group(1)])
    if text == CLEAR_ALL:
        return ClearForward("all")
    if text == DND_ON:
        return SetDnd(True)
    if text == DND_OFF:
        return SetDnd(False)
    if m := _NIGHT.fullmatch(text):
        return FlipNightSwitch(int(m.group(1) or 1))
    if m := _AGENT.fullmatch(text):
        return QueueLogin(m.group(1) == "3", m.group(2))
    return None


@dataclass(frozen=True)
class CodeHelp:
    code: str
    meaning: str


CODES: tuple[CodeHelp, ...] = (
    CodeHelp("*21*NUMBER#", "forward every call to NUMBER"),
    CodeHelp("*67*NUMBER#", "forward calls when busy"),
    CodeHelp("*61*NUMBER#", "forward calls not answered"),
    CodeHelp("*62*NUMBER#", "forward calls while no phone is registered"),
    CodeHelp("#21# #67# #61# #62#", "clear that forward"),
    CodeHelp("#002#", "clear every forward"),
    CodeHelp("*78", "do-not-disturb on"),
    CodeHelp("*79", "do-not-disturb off"),
    CodeHelp("*915", "flip the night switch (users allowed to); *915*N# for schedule N"),
    CodeHelp("*903", "log in to your queues; *903*EXT# for queue EXT only"),
    CodeHelp("*903*OWN#", "your own extension: flip your queue logins (your lamp key)"),
    CodeHelp("*904", "log out of your queues; *904*EXT# for queue EXT only"),
    CodeHelp(VOICEMAIL_ACCESS, "your voicemail: listen, delete, record your greeting (PIN)"),
    CodeHelp("*1233*EXT#", "mailbox EXT with its PIN: a shared mailbox, or yours elsewhere"),
)
"""What ``provd codes`` and the console list, in this order."""
