"""IVR menus: the rules of one caller's session in a tenant's menus, without I/O.

A menu plays a greeting and gives each key (``0``-``9``, ``*``, ``#``) an action. The
media application that answers the call feeds this module the call's events
(:func:`start`, :func:`on_digit`, :func:`on_prompt_finished`, :func:`on_timer`) and
carries out the effects each returns, in order. Which menu answers (day or after
hours) and where a key leads are decided by the routing function
(provd.domain.routing): a menu never names a user, group or number, it only tells
Kamailio "menu 700, key 1" by placing the call back with a Request-URI user that says
so.

Rules
-----
* **Greeting.** Entering a menu plays its greeting. Keys pressed while it plays
  interrupt it (barge-in). When it ends, the caller has ``timeout_s`` seconds to press
  a key.
* **Keys.** :class:`Transfer` leaves the menu toward whatever routing gives that key;
  :class:`Submenu` enters another menu of the tenant (its greeting, its keys);
  :class:`Repeat` plays the greeting again; :class:`HangUp` ends the call;
  :class:`DialByExtension` collects an extension (below).
* **Attempts.** No key within ``timeout_s``, or a key with no action, is a failed
  attempt: the greeting plays again (after ``invalid_sound`` for a key with no action,
  when the menu has one), until the ``max_attempts``-th failure in the menu leaves it:
  toward the menu's default destination when it ``has_default``, else the call ends.
  Failures count from entering the menu; Repeat and dial by extension neither count
  nor forget them, so a caller cannot reset them and stay for ever.
* **Dial by extension.** Digits until ``#``, until ``dial_length`` digits, or until no
  digit came for :data:`DIGIT_TIMEOUT_S` seconds (``timeout_s`` for the first), then
  the call leaves toward those digits. ``#`` or the timer with nothing collected, and
  any key but a digit or ``#``, count as a key with no action (and forget the digits).
* **Cap.** A caller may wander (A to B and back, or Repeat), but a call plays at most
  ``max_greetings`` greetings (:data:`MAX_GREETINGS`); the one after that leaves the
  menu it would have played as the last failure does, so that no caller holds a media
  channel forever.
* **Finished.** After the call leaves or ends, every event is ignored. A menu that does
  not exist (entered at the start, or a Submenu naming one) ends the call at the start
  and is a key with no action in a menu: menus are checked when saved
  (:func:`menu_errors`), and this keeps a session total if one is deleted meanwhile.

Request-URI users (``Leave``)
-----------------------------
The media application places the call back through Kamailio with one of these users;
:func:`parse_request_user` reads the first two back for routing:

* ``ivr-<menu>-<key>``: the caller pressed a :class:`Transfer` key; ``<key>`` is the
  digit, ``star`` for ``*``, ``hash`` for ``#`` (``ivr-700-1``, ``ivr-700-star``);
* ``ivr-<menu>-default``: the menu's default destination, after the last failed
  attempt or at the cap (``ivr-700-default``);
* the collected digits as they are (``201``): dial by extension, 1 to ``dial_length``
  digits. Routing is to resolve them among the menu's tenant's extensions only: a
  caller must not reach an outside or emergency number through a menu.

``<menu>`` is the menu's extension; all of it is lower case.

Effects
-------
:class:`Play` stops whatever plays and plays a sound; :class:`StopPlaying`;
:class:`StartTimer` replaces the pending timer, if any (there is at most one);
:class:`CancelTimer`; :class:`Leave`; :class:`EndCall`. The media application calls
:func:`on_prompt_finished` only when the sound last played ended by itself (not when
a later effect stopped it) and :func:`on_timer` when the pending timer fires; a stale
report of either is ignored. A live session always has a sound playing or a timer
pending, so it always moves on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal, TypeGuard, get_args

from provd.domain.errors import InvalidInput
from provd.domain.tenancy import check_extension

MenuKey = Literal["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"]
KEYS: tuple[MenuKey, ...] = get_args(MenuKey)
SERVICE_PREFIX = "ivr-"
"""Kamailio sends a menu's calls to the media application as ``ivr-<menu>``
(provd.domain.routing); calls back start the same way (below)."""
DEFAULT: Literal["default"] = "default"
"""What :func:`parse_request_user` gives for a menu's default destination."""
KeyOrDefault = MenuKey | Literal["default"]

MAX_GREETINGS = 20
DIGIT_TIMEOUT_S = 3.0
"""Between two digits of dial by extension; the first gets the menu's ``timeout_s``."""

TIMEOUT_RANGE = range(1, 61)
ATTEMPTS_RANGE = range(1, 10)
DIAL_LENGTH_RANGE = range(2, 6)
"""As long as an extension may be (provd.domain.tenancy)."""
MAX_SOUND = 100

_NAMES: dict[KeyOrDefault, str] = {
    **{key: key for key in KEYS},
    "*": "star",
    "#": "hash",
    DEFAULT: DEFAULT,
}
_BY_NAME = {name: key for key, name in _NAMES.items()}
_REQUEST_USER = re.compile(r"ivr-([0-9]{2,5})-([0-9]|star|hash|default)")
# A name the media application resolves to a file: no empty or dot-led segment, so
# neither "../" nor an absolute path.
_SOUND = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")
_DIGITS = frozenset("0123456789")


def is_key(text: str) -> TypeGuard[MenuKey]:
    return text in KEYS


# ---- what a key does -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transfer:
    """Leave the menu: routing resolves where this key of this menu goes."""


@dataclass(frozen=True, slots=True)
class Submenu:
    """Enter another menu of the same tenant."""

    extension: str


@dataclass(frozen=True, slots=True)
class Repeat:
    """Play the menu's greeting again."""


@dataclass(frozen=True, slots=True)
class HangUp:
    """End the call."""


@dataclass(frozen=True, slots=True)
class DialByExtension:
    """Collect an extension and leave toward it."""


KeyAction = Transfer | Submenu | Repeat | HangUp | DialByExtension


@dataclass(frozen=True, slots=True)
class Menu:
    """One menu of a tenant, reached at its ``extension``; ``greeting`` and
    ``invalid_sound`` name sounds. See the module's rules for the rest."""

    extension: str
    greeting: str
    keys: Mapping[str, KeyAction]
    timeout_s: int = 5
    max_attempts: int = 3
    invalid_sound: str | None = None
    has_default: bool = False
    dial_length: int = 5


# ---- what the media application does --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Play:
    sound: str


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
class Leave:
    """Place the call back through Kamailio with this Request-URI user."""

    request_user: str


@dataclass(frozen=True, slots=True)
class EndCall:
    """Hang the caller up."""


Effect = Play | StopPlaying | StartTimer | CancelTimer | Leave | EndCall


# ---- request users ----------------------------------------------------------------------


def request_user(menu: str, key: KeyOrDefault) -> str:
    """The Request-URI user for a Transfer key of ``menu``, or for its default."""
    return f"ivr-{menu}-{_NAMES[key]}"


def parse_request_user(text: str) -> tuple[str, KeyOrDefault] | None:
    """(menu extension, key or :data:`DEFAULT`) for ``ivr-…`` users, else None."""
    match = _REQUEST_USER.fullmatch(text)
    if match is None:
        return None
    menu, name = match.groups()
    return menu, _BY_NAME[name]


# ---- the session ----------------------------------------------------------------------


class Phase(StrEnum):
    GREETING = "greeting"
    """The menu's greeting plays."""
    NOTICE = "notice"
    """The menu's invalid_sound plays; the greeting follows."""
    WAITING = "waiting"
    """The greeting ended; the timer counts the menu's timeout_s."""
    COLLECTING = "collecting"
    """Dial by extension; the timer counts until the next digit is due."""
    FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class Session:
    """One caller in a tenant's menus. ``failures`` counts the current menu's failed
    attempts, ``greetings`` every greeting played in the call, ``digits`` what dial by
    extension collected; ``end`` is the effect that finished the session."""

    menus: Mapping[str, Menu]
    current: str
    phase: Phase
    failures: int = 0
    greetings: int = 0
    digits: str = ""
    max_greetings: int = MAX_GREETINGS
    end: Leave | EndCall | None = None

    @property
    def finished(self) -> bool:
        return self.phase is Phase.FINISHED

    @property
    def menu(self) -> Menu:
        """The current menu (a KeyError after a start at a menu that does not exist)."""
        return self.menus[self.current]

    @property
    def playing(self) -> str | None:
        """The sound the media application plays for this session, if any."""
        if self.phase is Phase.GREETING:
            return self.menu.greeting
        if self.phase is Phase.NOTICE:
            return self.menu.invalid_sound
        return None

    @property
    def timer_pending(self) -> bool:
        return self.phase in (Phase.WAITING, Phase.COLLECTING)


Step = tuple[Session, list[Effect]]


@dataclass(frozen=True, slots=True)
class _Next:
    """Where a transition goes and what it starts; :func:`_settle` adds the stops."""

    session: Session
    play: str | None = None
    timer: float | None = None


def start(menus: Mapping[str, Menu], entry: str, *, max_greetings: int = MAX_GREETINGS) -> Step:
    """A call answered by the menu at extension ``entry``."""
    session = Session(menus, entry, Phase.GREETING, max_greetings=max_greetings)
    if entry not in menus:
        end = EndCall()
        return replace(session, phase=Phase.FINISHED, end=end), [end]
    return _settle(None, False, _greeting(session))


def on_digit(session: Session, digit: str) -> Step:
    """The caller pressed ``digit`` (any text: what is not a menu key has no action)."""
    if session.finished:
        return session, []
    collecting = session.phase is Phase.COLLECTING
    nxt = _collect(session, digit) if collecting else _key(session, digit)
    return _settle(session.playing, session.timer_pending, nxt)


def on_prompt_finished(session: Session) -> Step:
    """The sound last played ended by itself."""
    if session.playing is None:
        return session, []
    if session.phase is Phase.NOTICE:
        return _settle(None, False, _greeting(session))
    waiting = replace(session, phase=Phase.WAITING)
    return _settle(None, False, _Next(waiting, timer=_timeout(session)))


def on_timer(session: Session) -> Step:
    """The pending timer fired."""
    if not session.timer_pending:
        return session, []
    if session.phase is Phase.COLLECTING:
        nxt = _dialled(session) if session.digits else _fail(session, invalid=True)
    else:
        nxt = _fail(session, invalid=False)
    return _settle(None, False, nxt)


def _key(session: Session, digit: str) -> _Next:
    if not is_key(digit):
        return _fail(session, invalid=True)
    match session.menu.keys.get(digit):
        case Transfer():
            return _leave(session, request_user(session.current, digit))
        case Submenu(extension) if extension in session.menus:
            return _greeting(replace(session, current=extension, failures=0))
        case Repeat():
            return _greeting(session)
        case HangUp():
            return _finish(session, EndCall())
        case DialByExtension():
            collecting = replace(session, phase=Phase.COLLECTING, digits="")
            return _Next(collecting, timer=_timeout(session))
        case _:
            return _fail(session, invalid=True)


def _collect(session: Session, digit: str) -> _Next:
    if digit == "#" and session.digits:
        return _dialled(session)
    if digit not in _DIGITS:
        return _fail(session, invalid=True)
    collecting = replace(session, digits=session.digits + digit)
    if len(collecting.digits) >= session.menu.dial_length:
        return _dialled(collecting)
    return _Next(collecting, timer=DIGIT_TIMEOUT_S)


def _dialled(session: Session) -> _Next:
    return _leave(session, session.digits)


def _fail(session: Session, *, invalid: bool) -> _Next:
    menu = session.menu
    failed = replace(session, failures=session.failures + 1, digits="")
    if failed.failures >= menu.max_attempts:
        return _give_up(failed)
    if invalid and menu.invalid_sound is not None:
        return _Next(replace(failed, phase=Phase.NOTICE), play=menu.invalid_sound)
    return _greeting(failed)


def _greeting(session: Session) -> _Next:
    if session.greetings >= session.max_greetings:
        return _give_up(session)
    playing = replace(session, phase=Phase.GREETING, greetings=session.greetings + 1, digits="")
    return _Next(playing, play=session.menu.greeting)


def _give_up(session: Session) -> _Next:
    if session.menu.has_default:
        return _leave(session, request_user(session.current, DEFAULT))
    return _finish(session, EndCall())


def _leave(session: Session, user: str) -> _Next:
    return _finish(session, Leave(user))


def _finish(session: Session, end: Leave | EndCall) -> _Next:
    return _Next(replace(session, phase=Phase.FINISHED, end=end))


def _timeout(session: Session) -> float:
    return float(session.menu.timeout_s)


def _settle(was_playing: str | None, timer_was_pending: bool, nxt: _Next) -> Step:
    """The effects that take the media application from what it did before the event
    (``was_playing``, ``timer_was_pending``) to what ``nxt`` needs: what stops, then
    what starts, then the end."""
    session = nxt.session
    effects: list[Effect] = []
    if timer_was_pending and nxt.timer is None and not session.timer_pending:
        effects.append(CancelTimer())
    if was_playing is not None and nxt.play is None and session.playing is None:
        effects.append(StopPlaying())
    if nxt.play is not None:
        effects.append(Play(nxt.play))
    if nxt.timer is not None:
        effects.append(StartTimer(nxt.timer))
    if session.end is not None:
        effects.append(session.end)
    return session, effects


# ---- checking a tenant's menus ------------------------------------------------------------


def menu_errors(menus: Mapping[str, Menu]) -> list[InvalidInput]:
    """Everything wrong with a tenant's menus, each error's field naming the menu (by
    the extension it is stored under) and its attribute: ``700.timeout_s``,
    ``700.keys.5``. Empty when the menus are fit for :func:`start`."""
    errors: list[InvalidInput] = []
    for stored, menu in menus.items():
        errors.extend(_errors(stored, menu, menus))
    return errors


def check_menus(menus: Mapping[str, Menu]) -> None:
    """The first of :func:`menu_errors`, raised."""
    errors = menu_errors(menus)
    if errors:
        raise errors[0]


def _errors(stored: str, menu: Menu, menus: Mapping[str, Menu]) -> list[InvalidInput]:
    errors: list[InvalidInput] = []

    def fail(attribute: str, message: str) -> None:
        errors.append(InvalidInput(f"{stored}.{attribute}", message))

    try:
        if check_extension(menu.extension) != menu.extension:
            fail("extension", f"{menu.extension!r} has spaces around it")
        elif menu.extension != stored:
            fail("extension", f"{menu.extension!r} is not the extension it is stored under")
    except InvalidInput as e:
        fail("extension", e.message)
    for attribute, sound in (("greeting", menu.greeting), ("invalid_sound", menu.invalid_sound)):
        if sound is not None and not (len(sound) <= MAX_SOUND and _SOUND.fullmatch(sound)):
            fail(
                attribute,
                f"{sound!r} is not a sound name: letters, digits, _ . - and / between "
                f"parts that do not start with a dot, at most {MAX_SOUND} characters",
            )
    for attribute, value, allowed in (
        ("timeout_s", menu.timeout_s, TIMEOUT_RANGE),
        ("max_attempts", menu.max_attempts, ATTEMPTS_RANGE),
        ("dial_length", menu.dial_length, DIAL_LENGTH_RANGE),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
            fail(attribute, f"{value!r} is not a whole number from {allowed[0]} to {allowed[-1]}")
    for key, action in menu.keys.items():
        if not is_key(key):
            fail("keys", f"{key!r} is not a key: 0-9, * or #")
        elif isinstance(action, Submenu) and action.extension not in menus:
            fail(f"keys.{key}", f"no menu at extension {action.extension!r}")
        elif not isinstance(action, KeyAction):
            fail(f"keys.{key}", f"{action!r} is not a key's action")
    return errors
