"""A user's own mailbox from the phone (``*1233``): the rules of one call, without I/O.

The media application answers ``vmbox-<extension>`` (provd.domain.routing), feeds this
module the call's events (:func:`start`, :func:`on_digit`, :func:`on_prompt_finished`,
:func:`on_timer`, :func:`on_pin_checked`, :func:`on_greeting_saved`) and carries out
the effects each returns, in order, as provd.domain.ivr's menus are run.

Rules
-----
* **No PIN set**: the caller hears that no PIN is set and goodbye, and the call ends:
  a mailbox without a PIN stays shut (an admin sets one: ``provd voicemail pin``).
* **PIN**: digits, then ``#`` (or no key for :data:`DIGIT_TIMEOUT_S` after a digit);
  ``*`` starts the entry again. Checking is an effect (:class:`CheckPin`, PBKDF2 is
  slow on purpose) answered by :func:`on_pin_checked`. A wrong PIN, ``#`` alone, or no
  key at all for :data:`KEY_TIMEOUT_S` is a failed attempt; the
  :data:`PIN_ATTEMPTS`-th ends the call with nothing changed.
* **Main menu**: how many new and saved messages there are (said digit by digit), then
  ``1`` listen, ``2`` record a new greeting, ``#`` leave.
* **Listening**: new messages newest first, then saved ones newest first. A message
  counts as heard (:class:`MarkHeard`) once it played to its end or a key was pressed
  during it. During or after a message: ``7`` deletes it (:class:`DeleteMessage`),
  ``9`` keeps it and goes on, ``4`` plays it again, ``#`` goes back to the main menu.
  After the last one the main menu comes back.
* **Greeting**: a prompt and the tone, then the recording (:class:`StartRecording`)
  until ``#`` or :data:`MAX_GREETING_S`; :class:`SaveRecording` hands it to the media
  application, which answers :func:`on_greeting_saved` (False: too short, nothing
  changed). Hanging up while recording keeps nothing (the media application discards).
* **Keys**: a key pressed while a menu prompt plays interrupts it. A key a menu does
  not know plays :data:`INVALID` and the menu again. :data:`MENU_REPEATS` menu prompts
  in a row with no key end the call, as does :data:`MAX_PLAYS` prompts in one call, so
  that nobody holds a media channel forever.
* **Goodbye** plays to its end (keys are ignored), then the call ends.

Effects
-------
:class:`Play` stops whatever plays and plays its items one after the other
(:class:`Prompt` a packaged prompt, :class:`Tone` the recording tone,
:class:`MessageAudio` a message); :class:`StopPlaying`; :class:`StartTimer` replaces
the pending timer; :class:`CancelTimer`; :class:`CheckPin`; :class:`StartRecording`;
:class:`SaveRecording`; :class:`MarkHeard`; :class:`DeleteMessage`; :class:`EndCall`.
As for menus, :func:`on_prompt_finished` is called only when the last Play ended by
itself, and stale timer reports are not passed on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

PIN_ATTEMPTS = 3
KEY_TIMEOUT_S = 8.0
"""After a menu prompt (or the PIN prompt), to press a key."""
DIGIT_TIMEOUT_S = 4.0
"""After a PIN digit, before the entry counts as finished."""
MENU_REPEATS = 3
MAX_PLAYS = 100
MAX_GREETING_S = 60
MAX_PIN_KEYS = 16
"""Digits kept while entering a PIN: longer is wrong anyway, this bounds the session."""

# Prompt names: the packaged prompts are provd/media/prompts/<name>.wav (PROMPTS).
ENTER_PIN = "enter-pin"
WRONG_PIN = "wrong-pin"
NO_PIN = "no-pin"
YOU_HAVE = "you-have"
NEW_MESSAGES = "new-messages"
AND = "and"
SAVED_MESSAGES = "saved-messages"
MAIN_MENU = "main-menu"
NO_MESSAGES = "no-messages"
MESSAGE_MENU = "message-menu"
DELETED = "deleted"
NO_MORE_MESSAGES = "no-more-messages"
RECORD_GREETING = "record-greeting"
GREETING_SAVED = "greeting-saved"
GREETING_NOT_SAVED = "greeting-not-saved"
INVALID = "invalid"
GOODBYE = "goodbye"

PROMPTS: dict[str, str] = {
    ENTER_PIN: "Please enter your PIN, then press hash.",
    WRONG_PIN: "That PIN is not correct.",
    NO_PIN: "No PIN is set for this mailbox. Please ask your administrator to set one.",
    YOU_HAVE: "You have",
    NEW_MESSAGES: "new messages",
    AND: "and",
    SAVED_MESSAGES: "saved messages.",
    MAIN_MENU: (
        "To listen to your messages, press 1. To record your greeting, press 2. "
        "To leave, press hash."
    ),
    NO_MESSAGES: "There are no messages.",
    MESSAGE_MENU: (
        "To delete this message, press 7. To keep it and go on, press 9. "
        "To hear it again, press 4. For the main menu, press hash."
    ),
    DELETED: "Message deleted.",
    NO_MORE_MESSAGES: "No more messages.",
    RECORD_GREETING: "Record your greeting after the tone. Press hash when you are done.",
    GREETING_SAVED: "Your greeting is saved.",
    GREETING_NOT_SAVED: "Nothing was recorded. Your greeting is unchanged.",
    INVALID: "That key does nothing here.",
    GOODBYE: "Goodbye.",
    **{
        str(d): w
        for d, w in enumerate(
            ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
        )
    },
}
"""Every prompt the menu plays, with what it says (scripts/make-prompts speaks these)."""


@dataclass(frozen=True, slots=True)
class Message:
    """A message of the mailbox as the media application knows it."""

    id: int
    heard: bool


# ---- what plays -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str


@dataclass(frozen=True, slots=True)
class Tone:
    """The tone after which the recording starts."""


@dataclass(frozen=True, slots=True)
class MessageAudio:
    id: int


Item = Prompt | Tone | MessageAudio


# ---- effects ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Play:
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class StopPlaying:
    pass


@dataclass(frozen=True, slots=True)
class StartTimer:
    seconds: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    pass


@dataclass(frozen=True, slots=True)
class CheckPin:
    """Check ``entered`` against the mailbox's PIN; answer with :func:`on_pin_checked`."""

    entered: str


@dataclass(frozen=True, slots=True)
class StartRecording:
    max_seconds: int


@dataclass(frozen=True, slots=True)
class SaveRecording:
    """Stop recording and make it the greeting; answer with :func:`on_greeting_saved`."""


@dataclass(frozen=True, slots=True)
class MarkHeard:
    id: int


@dataclass(frozen=True, slots=True)
class DeleteMessage:
    id: int


@dataclass(frozen=True, slots=True)
class EndCall:
    pass


Effect = (
    Play
    | StopPlaying
    | StartTimer
    | CancelTimer
    | CheckPin
    | StartRecording
    | SaveRecording
    | MarkHeard
    | DeleteMessage
    | EndCall
)


# ---- the session ------------------------------------------------------------------------


class Phase(StrEnum):
    PIN_PROMPT = "pin_prompt"
    PIN_ENTRY = "pin_entry"
    CHECKING = "checking"
    MENU = "menu"
    """The main menu (or what leads to it) plays."""
    MENU_WAIT = "menu_wait"
    MESSAGE = "message"
    """A message (perhaps after a short prompt) plays."""
    MESSAGE_MENU = "message_menu"
    MESSAGE_WAIT = "message_wait"
    RECORD_PROMPT = "record_prompt"
    RECORDING = "recording"
    SAVING = "saving"
    GOODBYE = "goodbye"
    FINISHED = "finished"


_PLAYING = frozenset(
    {
        Phase.PIN_PROMPT,
        Phase.MENU,
        Phase.MESSAGE,
        Phase.MESSAGE_MENU,
        Phase.RECORD_PROMPT,
        Phase.GOODBYE,
    }
)
_TIMED = frozenset({Phase.PIN_ENTRY, Phase.MENU_WAIT, Phase.MESSAGE_WAIT, Phase.RECORDING})
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True, slots=True)
class Session:
    """One call to a mailbox. ``messages`` newest first as the mailbox lists them, with
    what this call changed; ``queue`` the ids still to listen to, ``current`` first;
    ``idle`` menu prompts in a row with no key; ``plays`` every Play of the call."""

    phase: Phase
    messages: tuple[Message, ...]
    attempts: int = 0
    digits: str = ""
    queue: tuple[int, ...] = ()
    idle: int = 0
    plays: int = 0

    @property
    def finished(self) -> bool:
        return self.phase is Phase.FINISHED

    @property
    def current(self) -> int | None:
        return self.queue[0] if self.queue else None

    @property
    def new(self) -> int:
        return sum(1 for m in self.messages if not m.heard)

    @property
    def saved(self) -> int:
        return sum(1 for m in self.messages if m.heard)


Step = tuple[Session, list[Effect]]


@dataclass(frozen=True, slots=True)
class _Next:
    session: Session
    play: tuple[Item, ...] = ()
    timer: float | None = None
    effects: tuple[Effect, ...] = ()
    """Effects before the play (a report, a check, a recording start or stop)."""


def start(messages: tuple[Message, ...], *, pin_set: bool) -> Step:
    """A call to the mailbox answered; ``messages`` newest first."""
    session = Session(Phase.PIN_PROMPT, messages)
    if not pin_set:
        return _settle(_goodbye(session, NO_PIN))
    return _settle(_play(session, Phase.PIN_PROMPT, (Prompt(ENTER_PIN),)))


def on_digit(session: Session, key: str) -> Step:
    """The caller pressed ``key``."""
    phase = session.phase
    if phase in (Phase.PIN_PROMPT, Phase.PIN_ENTRY):
        nxt = _pin_key(session, key)
    elif phase in (Phase.MENU, Phase.MENU_WAIT):
        nxt = _menu_key(session, key)
    elif phase is Phase.MESSAGE:
        nxt = _message_key(*_heard(session), key)
    elif phase in (Phase.MESSAGE_MENU, Phase.MESSAGE_WAIT):
        nxt = _message_key(session, (), key)
    elif phase is Phase.RECORDING and key == "#":
        nxt = _Next(replace(session, phase=Phase.SAVING), effects=(SaveRecording(),))
    else:
        return session, []  # checking, the record prompt, saving, goodbye, finished
    return _settle(nxt, was_playing=phase in _PLAYING, was_timing=phase in _TIMED)


def on_prompt_finished(session: Session) -> Step:
    """The last Play ended by itself."""
    phase = session.phase
    if phase is Phase.PIN_PROMPT:
        nxt = _Next(replace(session, phase=Phase.PIN_ENTRY), timer=KEY_TIMEOUT_S)
    elif phase is Phase.MENU:
        nxt = _Next(replace(session, phase=Phase.MENU_WAIT), timer=KEY_TIMEOUT_S)
    elif phase is Phase.MESSAGE:
        heard, reports = _heard(session)
        nxt = _play(heard, Phase.MESSAGE_MENU, (Prompt(MESSAGE_MENU),), reports)
    elif phase is Phase.MESSAGE_MENU:
        nxt = _Next(replace(session, phase=Phase.MESSAGE_WAIT), timer=KEY_TIMEOUT_S)
    elif phase is Phase.RECORD_PROMPT:
        recording = replace(session, phase=Phase.RECORDING)
        nxt = _Next(
            recording, timer=float(MAX_GREETING_S), effects=(StartRecording(MAX_GREETING_S),)
        )
    elif phase is Phase.GOODBYE:
        nxt = _Next(replace(session, phase=Phase.FINISHED), effects=(EndCall(),))
    else:
        return session, []
    return _settle(nxt)


def on_timer(session: Session) -> Step:
    """The pending timer fired."""
    phase = session.phase
    if phase is Phase.PIN_ENTRY:
        nxt = _check(session) if session.digits else _wrong_pin(session)
    elif phase is Phase.MENU_WAIT:
        nxt = _idle(session, Phase.MENU, MAIN_MENU)
    elif phase is Phase.MESSAGE_WAIT:
        nxt = _idle(session, Phase.MESSAGE_MENU, MESSAGE_MENU)
    elif phase is Phase.RECORDING:
        nxt = _Next(replace(session, phase=Phase.SAVING), effects=(SaveRecording(),))
    else:
        return session, []
    return _settle(nxt)


def on_pin_checked(session: Session, ok: bool) -> Step:
    """The answer to :class:`CheckPin`."""
    if session.phase is not Phase.CHECKING:
        return session, []
    if not ok:
        return _settle(_wrong_pin(session))
    opened = replace(session, digits="", attempts=0)
    return _settle(_play(opened, Phase.MENU, (*_summary(opened), Prompt(MAIN_MENU))))


def on_greeting_saved(session: Session, saved: bool) -> Step:
    """The answer to :class:`SaveRecording`."""
    if session.phase is not Phase.SAVING:
        return session, []
    said = GREETING_SAVED if saved else GREETING_NOT_SAVED
    return _settle(_play(session, Phase.MENU, (Prompt(said), Prompt(MAIN_MENU))))


# ---- transitions -----------------------------------------------------------------------


def _pin_key(session: Session, key: str) -> _Next:
    if key in _DIGITS:
        digits = (session.digits + key)[:MAX_PIN_KEYS]
        return _Next(replace(session, phase=Phase.PIN_ENTRY, digits=digits), timer=DIGIT_TIMEOUT_S)
    if key == "#":
        return _check(session) if session.digits else _wrong_pin(session)
    # "*" (or anything else): start again, not counted.
    return _play(replace(session, digits=""), Phase.PIN_PROMPT, (Prompt(ENTER_PIN),))


def _check(session: Session) -> _Next:
    checking = replace(session, phase=Phase.CHECKING, digits="")
    return _Next(checking, effects=(CheckPin(session.digits),))


def _wrong_pin(session: Session) -> _Next:
    failed = replace(session, attempts=session.attempts + 1, digits="")
    if failed.attempts >= PIN_ATTEMPTS:
        return _goodbye(failed, WRONG_PIN)
    return _play(failed, Phase.PIN_PROMPT, (Prompt(WRONG_PIN), Prompt(ENTER_PIN)))


def _menu_key(session: Session, key: str) -> _Next:
    awake = replace(session, idle=0)
    if key == "1":
        queue = _listening_order(awake.messages)
        if not queue:
            return _play(awake, Phase.MENU, (Prompt(NO_MESSAGES), Prompt(MAIN_MENU)))
        return _play(replace(awake, queue=queue), Phase.MESSAGE, (MessageAudio(queue[0]),))
    if key == "2":
        return _play(awake, Phase.RECORD_PROMPT, (Prompt(RECORD_GREETING), Tone()))
    if key == "#":
        return _goodbye(awake)
    return _play(awake, Phase.MENU, (Prompt(INVALID), Prompt(MAIN_MENU)))


def _message_key(session: Session, reports: tuple[Effect, ...], key: str) -> _Next:
    awake = replace(session, idle=0)
    current = awake.current
    assert current is not None  # a message phase always has one
    if key == "7":
        kept = tuple(m for m in awake.messages if m.id != current)
        after = replace(awake, messages=kept, queue=awake.queue[1:])
        return _next_message(after, (DeleteMessage(current),), (Prompt(DELETED),))
    if key == "9":
        return _next_message(replace(awake, queue=awake.queue[1:]), reports, ())
    if key == "4":
        return _play(awake, Phase.MESSAGE, (MessageAudio(current),), reports)
    if key == "#":
        menu = replace(awake, queue=())
        return _play(menu, Phase.MENU, (*_summary(menu), Prompt(MAIN_MENU)), reports)
    return _play(awake, Phase.MESSAGE_MENU, (Prompt(INVALID), Prompt(MESSAGE_MENU)), reports)


def _next_message(session: Session, reports: tuple[Effect, ...], before: tuple[Item, ...]) -> _Next:
    if session.current is None:
        items = (*before, Prompt(NO_MORE_MESSAGES), *_summary(session), Prompt(MAIN_MENU))
        return _play(session, Phase.MENU, items, reports)
    return _play(session, Phase.MESSAGE, (*before, MessageAudio(session.current)), reports)


def _heard(session: Session) -> tuple[Session, tuple[Effect, ...]]:
    """The current message marked heard (once)."""
    current = session.current
    message = next((m for m in session.messages if m.id == current), None)
    if message is None or message.heard:
        return session, ()
    messages = tuple(replace(m, heard=True) if m.id == current else m for m in session.messages)
    return replace(session, messages=messages), (MarkHeard(message.id),)


def _idle(session: Session, phase: Phase, prompt: str) -> _Next:
    idle = replace(session, idle=session.idle + 1)
    if idle.idle >= MENU_REPEATS:
        return _goodbye(idle)
    return _play(idle, phase, (Prompt(prompt),))


def _goodbye(session: Session, first: str | None = None) -> _Next:
    items = (Prompt(first), Prompt(GOODBYE)) if first else (Prompt(GOODBYE),)
    return _Next(replace(session, phase=Phase.GOODBYE, plays=session.plays + 1), play=items)


def _play(
    session: Session, phase: Phase, items: tuple[Item, ...], effects: tuple[Effect, ...] = ()
) -> _Next:
    if session.plays >= MAX_PLAYS:
        nxt = _goodbye(session)
        return replace(nxt, effects=effects)
    playing = replace(session, phase=phase, plays=session.plays + 1)
    return _Next(playing, play=items, effects=effects)


def _summary(session: Session) -> tuple[Item, ...]:
    return (
        Prompt(YOU_HAVE),
        *(Prompt(d) for d in str(session.new)),
        Prompt(NEW_MESSAGES),
        Prompt(AND),
        *(Prompt(d) for d in str(session.saved)),
        Prompt(SAVED_MESSAGES),
    )


def _listening_order(messages: tuple[Message, ...]) -> tuple[int, ...]:
    """New ones first, each part in the mailbox's order (newest first)."""
    return tuple(m.id for m in messages if not m.heard) + tuple(m.id for m in messages if m.heard)


def _settle(nxt: _Next, *, was_playing: bool = False, was_timing: bool = False) -> Step:
    """The effects from what ran before the event (a sound still playing, a timer still
    pending) to what ``nxt`` needs: what stops, the reports, what starts, the end."""
    effects: list[Effect] = []
    if was_timing and nxt.timer is None:
        effects.append(CancelTimer())
    if was_playing and not nxt.play:
        effects.append(StopPlaying())
    effects.extend(e for e in nxt.effects if not isinstance(e, EndCall))
    if nxt.play:
        effects.append(Play(nxt.play))
    if nxt.timer is not None:
        effects.append(StartTimer(nxt.timer))
    if any(isinstance(e, EndCall) for e in nxt.effects):
        effects.append(EndCall())
    return nxt.session, effects
