"""IVR menus without a media server: each rule through a scripted call, then every
transition of the session from every state it can reach, then random menus and
callers; each step checked against a model of the media application that carries the
effects out."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provd.domain.errors import InvalidInput
from provd.domain.ivr import (
    DEFAULT,
    DIGIT_TIMEOUT_S,
    KEYS,
    MAX_GREETINGS,
    CancelTimer,
    DialByExtension,
    Effect,
    EndCall,
    HangUp,
    KeyAction,
    KeyOrDefault,
    Leave,
    Menu,
    Phase,
    Play,
    Repeat,
    Session,
    StartTimer,
    StopPlaying,
    Submenu,
    Transfer,
    check_menus,
    menu_errors,
    on_digit,
    on_prompt_finished,
    on_timer,
    parse_request_user,
    request_user,
    start,
)
from tests.hypothesis_profiles import examples

PROPERTY = settings(
    max_examples=examples(300),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

MAIN = Menu(
    "700",
    "welcome",
    {
        "1": Transfer(),
        "2": Submenu("701"),
        "3": Repeat(),
        "9": DialByExtension(),
        "0": HangUp(),
        "*": Transfer(),
        "#": Transfer(),
    },
    timeout_s=5,
    max_attempts=3,
    invalid_sound="invalid",
    has_default=True,
    dial_length=3,
)
SALES = Menu(
    "701",
    "sales",
    {"1": Transfer(), "9": Submenu("700"), "5": DialByExtension(), "3": Repeat()},
    timeout_s=7,
    max_attempts=2,
)
MENUS = {"700": MAIN, "701": SALES}

PROMPT = "prompt finished"
TIMER = "timer"


# ---- a model of the media application ----------------------------------------------------


@dataclass
class App:
    """What the media application does for one call; refuses an effect that makes no
    sense where it is (stopping nothing, cancelling no timer, anything after the end)."""

    playing: str | None = None
    timer: float | None = None
    ended: Leave | EndCall | None = None

    def apply(self, effects: list[Effect]) -> None:
        for effect in effects:
            assert self.ended is None, f"{effect} after {self.ended}"
            match effect:
                case Play(sound):
                    self.playing = sound
                case StopPlaying():
                    assert self.playing is not None, "stops nothing"
                    self.playing = None
                case StartTimer(seconds):
                    assert seconds > 0
                    self.timer = seconds
                case CancelTimer():
                    assert self.timer is not None, "cancels no timer"
                    self.timer = None
                case Leave() | EndCall():
                    self.ended = effect


def check_agrees(session: Session, app: App) -> None:
    assert app.playing == session.playing
    assert (app.timer is not None) == session.timer_pending
    if session.finished:
        assert app.ended == session.end is not None
        assert app.playing is None and app.timer is None
    else:
        assert app.ended is None and session.end is None
        # Something will report back: a live session can never wait for nothing.
        assert app.playing is not None or app.timer is not None
    assert session.greetings <= session.max_greetings


def check_leave(menus: Mapping[str, Menu], session: Session, effects: list[Effect]) -> None:
    """The end is the last effect, and a Leave names something routing can resolve."""
    ends = [e for e in effects if isinstance(e, Leave | EndCall)]
    assert ends in ([], effects[-1:])
    if not ends or not isinstance(ends[0], Leave):
        return
    user = ends[0].request_user
    parsed = parse_request_user(user)
    if parsed is None:
        assert user.isascii() and user.isdigit()
        assert 1 <= len(user) <= session.menu.dial_length
        return
    menu, key = parsed
    assert request_user(menu, key) == user
    if key == DEFAULT:
        assert menus[menu].has_default
    else:
        assert isinstance(menus[menu].keys[key], Transfer)


class Call:
    """A session and the media application's model, checked after every event."""

    def __init__(self, menus: Mapping[str, Menu], entry: str, **kw: int) -> None:
        self.menus = menus
        self.app = App()
        self.session, effects = start(menus, entry, **kw)
        self.first = effects
        self._apply(effects)

    def _apply(self, effects: list[Effect]) -> list[Effect]:
        self.app.apply(effects)
        check_agrees(self.session, self.app)
        check_leave(self.menus, self.session, effects)
        return effects

    def press(self, keys: str) -> list[Effect]:
        effects: list[Effect] = []
        for key in keys:
            effects = self.digit(key)
        return effects

    def digit(self, digit: str) -> list[Effect]:
        before = self.session
        self.session, effects = on_digit(self.session, digit)
        if before.finished:
            assert (self.session, effects) == (before, [])
        return self._apply(effects)

    def prompt_finished(self) -> list[Effect]:
        """The sound ends by itself (a stale report when nothing plays)."""
        before = self.session
        self.app.playing = None
        self.session, effects = on_prompt_finished(self.session)
        if before.playing is None:
            assert (self.session, effects) == (before, [])
        return self._apply(effects)

    def timer(self) -> list[Effect]:
        """The pending timer fires (a stale report when none is)."""
        before = self.session
        self.app.timer = None
        self.session, effects = on_timer(self.session)
        if not before.timer_pending:
            assert (self.session, effects) == (before, [])
        return self._apply(effects)

    def event(self, event: str) -> list[Effect]:
        if event == PROMPT:
            return self.prompt_finished()
        if event == TIMER:
            return self.timer()
        return self.digit(event)


def waiting_in(entry: str, menus: Mapping[str, Menu] = MENUS) -> Call:
    """A call whose greeting has played: the menu waits for a key."""
    call = Call(menus, entry)
    call.prompt_finished()
    return call


# ---- the greeting and the keys ---------------------------------------------------------


def test_a_call_starts_with_the_greeting_and_waits_for_a_key_after_it() -> None:
    call = Call(MENUS, "700")
    assert call.first == [Play("welcome")]
    assert (call.session.phase, call.session.greetings) == (Phase.GREETING, 1)
    assert call.prompt_finished() == [StartTimer(5.0)]
    assert call.session.phase is Phase.WAITING


def test_a_menu_that_does_not_exist_ends_the_call() -> None:
    call = Call(MENUS, "799")
    assert call.first == [EndCall()]
    assert call.session.finished


@pytest.mark.parametrize(
    ("key", "user"), [("1", "ivr-700-1"), ("*", "ivr-700-star"), ("#", "ivr-700-hash")]
)
def test_a_transfer_key_leaves_the_menu_for_routing_to_resolve(key: str, user: str) -> None:
    call = waiting_in("700")
    assert call.digit(key) == [CancelTimer(), Leave(user)]
    assert call.session.finished and call.session.end == Leave(user)


def test_a_key_during_the_greeting_interrupts_it() -> None:
    call = Call(MENUS, "700")
    assert call.digit("1") == [StopPlaying(), Leave("ivr-700-1")]
    call = Call(MENUS, "700")
    assert call.digit("0") == [StopPlaying(), EndCall()]
    call = Call(MENUS, "700")
    # Another greeting replaces the one that plays: no stop in between.
    assert call.digit("2") == [Play("sales")]
    call = Call(MENUS, "700")
    assert call.digit("9") == [StopPlaying(), StartTimer(5.0)]


def test_a_submenu_plays_its_greeting_and_its_keys_apply_and_back() -> None:
    call = waiting_in("700")
    assert call.digit("2") == [CancelTimer(), Play("sales")]
    assert call.session.current == "701"
    assert call.prompt_finished() == [StartTimer(7.0)]
    assert call.digit("9") == [CancelTimer(), Play("welcome")]
    assert call.session.current == "700"
    assert call.digit("2") == [Play("sales")]
    assert call.digit("1") == [StopPlaying(), Leave("ivr-701-1")]


def test_repeat_plays_the_greeting_again() -> None:
    call = waiting_in("700")
    assert call.digit("3") == [CancelTimer(), Play("welcome")]
    assert call.session.phase is Phase.GREETING and call.session.greetings == 2
    assert call.digit("3") == [Play("welcome")]


def test_hang_up_ends_the_call() -> None:
    call = waiting_in("700")
    assert call.digit("0") == [CancelTimer(), EndCall()]
    assert call.session.end == EndCall()


# ---- failed attempts ---------------------------------------------------------------------


def test_an_invalid_key_plays_the_invalid_sound_then_the_greeting_and_a_valid_key_works() -> None:
    call = waiting_in("700")
    assert call.digit("5") == [CancelTimer(), Play("invalid")]
    assert call.session.phase is Phase.NOTICE and call.session.failures == 1
    assert call.prompt_finished() == [Play("welcome")]
    assert call.digit("3") == [Play("welcome")]
    assert call.session.failures == 1
    assert call.digit("1") == [StopPlaying(), Leave("ivr-700-1")]


def test_a_key_during_the_invalid_sound_interrupts_it() -> None:
    call = waiting_in("700")
    call.digit("5")
    assert call.digit("2") == [Play("sales")]
    call = waiting_in("700")
    call.digit("5")
    assert call.digit("1") == [StopPlaying(), Leave("ivr-700-1")]


def test_without_an_invalid_sound_an_invalid_key_replays_the_greeting() -> None:
    call = waiting_in("701")
    assert call.digit("7") == [CancelTimer(), Play("sales")]


@pytest.mark.parametrize("digit", ["A", "D", "", "12", "x", "\u0661"])
def test_what_is_not_a_key_has_no_action(digit: str) -> None:
    call = waiting_in("700")
    assert call.digit(digit) == [CancelTimer(), Play("invalid")]


def test_a_submenu_that_no_longer_exists_is_a_key_with_no_action() -> None:
    menus = {"700": replace(MAIN, keys={"2": Submenu("799")})}
    call = waiting_in("700", menus)
    assert call.digit("2") == [CancelTimer(), Play("invalid")]


def test_timeouts_replay_the_greeting_then_leave_to_the_default() -> None:
    call = Call(MENUS, "700")
    for _ in range(MAIN.max_attempts - 1):
        assert call.prompt_finished() == [StartTimer(5.0)]
        assert call.timer() == [Play("welcome")]
    assert call.prompt_finished() == [StartTimer(5.0)]
    assert call.timer() == [Leave("ivr-700-default")]
    assert call.session.greetings == MAIN.max_attempts


def test_timeouts_in_a_menu_without_default_end_the_call() -> None:
    call = Call(MENUS, "701")
    call.prompt_finished()
    assert call.timer() == [Play("sales")]
    call.prompt_finished()
    assert call.timer() == [EndCall()]


def test_invalid_keys_and_timeouts_count_together() -> None:
    call = waiting_in("700")
    call.digit("5")
    call.prompt_finished()
    call.prompt_finished()
    assert call.timer() == [Play("welcome")]
    assert call.digit("5") == [StopPlaying(), Leave("ivr-700-default")]


def test_one_attempt_leaves_at_the_first_failure() -> None:
    menus = {"700": replace(MAIN, max_attempts=1)}
    assert waiting_in("700", menus).digit("5") == [CancelTimer(), Leave("ivr-700-default")]
    assert waiting_in("700", menus).timer() == [Leave("ivr-700-default")]


def test_a_submenu_starts_its_attempts_afresh_and_repeat_does_not() -> None:
    call = waiting_in("700")
    call.timer()
    call.digit("3")
    assert call.session.failures == 1
    call.digit("2")
    assert call.session.failures == 0
    call.digit("9")
    assert call.session.failures == 0


def test_repeating_between_timeouts_still_leaves_after_the_last_attempt() -> None:
    call = waiting_in("700")
    call.timer()
    call.digit("3")
    call.prompt_finished()
    call.timer()
    call.prompt_finished()
    assert call.digit("3") == [CancelTimer(), Play("welcome")]
    call.prompt_finished()
    assert call.timer() == [Leave("ivr-700-default")]


# ---- dial by extension -------------------------------------------------------------------


def test_dial_by_extension_ends_with_hash() -> None:
    call = waiting_in("700")
    assert call.digit("9") == [StartTimer(5.0)]
    assert call.session.phase is Phase.COLLECTING
    assert call.digit("2") == [StartTimer(DIGIT_TIMEOUT_S)]
    assert call.digit("1") == [StartTimer(DIGIT_TIMEOUT_S)]
    assert call.digit("#") == [CancelTimer(), Leave("21")]


def test_dial_by_extension_ends_at_the_menus_length() -> None:
    call = waiting_in("700")
    assert call.press("9201") == [CancelTimer(), Leave("201")]
    call = waiting_in("701")  # dial_length 5
    assert call.press("512345") == [CancelTimer(), Leave("12345")]


def test_dial_by_extension_ends_when_no_digit_comes() -> None:
    call = waiting_in("700")
    call.press("921")
    assert call.timer() == [Leave("21")]


def test_dial_by_extension_with_nothing_collected_is_invalid() -> None:
    call = waiting_in("700")
    call.digit("9")
    assert call.timer() == [Play("invalid")]
    assert call.session.failures == 1
    call.prompt_finished()
    assert call.press("9#") == [CancelTimer(), Play("invalid")]
    assert call.session.failures == 2


def test_star_during_dial_by_extension_is_invalid_and_forgets_the_digits() -> None:
    call = waiting_in("700")
    assert call.press("92*") == [CancelTimer(), Play("invalid")]
    assert call.session.digits == ""
    call.prompt_finished()
    assert call.press("9201") == [CancelTimer(), Leave("201")]


def test_an_invalid_collection_after_the_last_attempt_leaves_to_the_default() -> None:
    call = waiting_in("700")
    call.timer()
    call.prompt_finished()
    call.timer()
    call.prompt_finished()
    assert call.press("9A") == [CancelTimer(), Leave("ivr-700-default")]


# ---- the end and the cap -----------------------------------------------------------------


@pytest.mark.parametrize("ending", ["1", "0", "9201"])
def test_a_finished_session_ignores_every_event(ending: str) -> None:
    call = waiting_in("700")
    call.press(ending)
    assert call.session.finished
    for event in [*KEYS, "A", PROMPT, TIMER]:
        assert call.event(event) == []


def test_stale_reports_are_ignored() -> None:
    call = Call(MENUS, "700")
    assert call.timer() == []  # the greeting plays: no timer pending
    call.prompt_finished()
    assert call.prompt_finished() == []  # nothing plays
    assert call.session.phase is Phase.WAITING


def test_a_caller_going_round_in_submenus_leaves_at_the_cap() -> None:
    call = Call(MENUS, "700")
    effects = call.first
    for _ in range(3 * MAX_GREETINGS):
        effects = call.digit("2" if call.session.current == "700" else "9")
        if call.session.finished:
            break
    assert call.session.greetings == MAX_GREETINGS
    # Greeting 21 would have been the main menu's (odd), which has a default.
    assert effects == [StopPlaying(), Leave("ivr-700-default")]


def test_repeating_leaves_at_the_cap_and_hangs_up_without_default() -> None:
    call = Call(MENUS, "701", max_greetings=4)
    plays = 1
    for _ in range(10):
        effects = call.digit("3")
        plays += effects == [Play("sales")]
        if call.session.finished:
            break
    assert plays == 4
    assert effects == [StopPlaying(), EndCall()]


def test_a_cap_of_none_leaves_at_once() -> None:
    assert start(MENUS, "700", max_greetings=0)[1] == [Leave("ivr-700-default")]


# ---- request users -----------------------------------------------------------------------

extensions = st.from_regex(r"[0-9]{2,5}", fullmatch=True)


@PROPERTY
@given(extensions, st.sampled_from([*KEYS, DEFAULT]))
def test_request_users_round_trip(menu: str, key: KeyOrDefault) -> None:
    user = request_user(menu, key)
    assert parse_request_user(user) == (menu, key)
    assert user == user.lower() and user.isascii()
    assert all(c.isalnum() or c == "-" for c in user)  # nothing to escape in a SIP URI


@PROPERTY
@given(st.text(alphabet=st.sampled_from("ivr-0123456789starhdefult*#I ")) | st.text())
def test_parsing_any_text_gives_none_or_what_builds_it_back(text: str) -> None:
    parsed = parse_request_user(text)
    if parsed is not None:
        assert request_user(*parsed) == text


@pytest.mark.parametrize(
    "text",
    [
        "201",
        "ivr-700",
        "ivr-700-",
        "ivr-700-10",
        "ivr-700-*",
        "ivr-700-#",
        "ivr-7-1",
        "ivr-700000-1",
        "IVR-700-1",
        "ivr-700-Default",
        "ivr-700-1 ",
        "ivr-\u0667\u0660\u0660-1",
        "xivr-700-1",
    ],
)
def test_other_users_are_not_menu_keys(text: str) -> None:
    assert parse_request_user(text) is None


def test_examples_of_the_documented_forms() -> None:
    assert parse_request_user("ivr-700-1") == ("700", "1")
    assert parse_request_user("ivr-700-star") == ("700", "*")
    assert parse_request_user("ivr-700-hash") == ("700", "#")
    assert parse_request_user("ivr-700-default") == ("700", DEFAULT)


# ---- checking menus ----------------------------------------------------------------------


def fields(menus: Mapping[str, Menu]) -> list[str]:
    return [e.field for e in menu_errors(menus)]


def test_good_menus_have_no_errors() -> None:
    assert menu_errors(MENUS) == []
    check_menus(MENUS)
    assert menu_errors({}) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"extension": "7"}, "700.extension"),
        ({"extension": "700000"}, "700.extension"),
        ({"extension": "70a"}, "700.extension"),
        ({"extension": " 700"}, "700.extension"),
        ({"extension": "701"}, "700.extension"),
        ({"greeting": ""}, "700.greeting"),
        ({"greeting": "../secret"}, "700.greeting"),
        ({"greeting": "/etc/passwd"}, "700.greeting"),
        ({"greeting": "a/.hidden"}, "700.greeting"),
        ({"greeting": "x" * 101}, "700.greeting"),
        ({"invalid_sound": "bad sound"}, "700.invalid_sound"),
        ({"timeout_s": 0}, "700.timeout_s"),
        ({"timeout_s": 61}, "700.timeout_s"),
        ({"timeout_s": True}, "700.timeout_s"),
        ({"max_attempts": 0}, "700.max_attempts"),
        ({"max_attempts": 10}, "700.max_attempts"),
        ({"dial_length": 1}, "700.dial_length"),
        ({"dial_length": 6}, "700.dial_length"),
        ({"keys": {"A": Transfer()}}, "700.keys"),
        ({"keys": {"10": Transfer()}}, "700.keys"),
        ({"keys": {"4": Submenu("799")}}, "700.keys.4"),
        ({"keys": {"4": "transfer"}}, "700.keys.4"),
    ],
)
def test_each_error_names_its_menu_and_field(change: dict[str, object], field: str) -> None:
    menus = {**MENUS, "700": replace(MAIN, **change)}  # type: ignore[arg-type]
    assert fields(menus) == [field]
    with pytest.raises(InvalidInput) as raised:
        check_menus(menus)
    assert raised.value.field == field and raised.value.message


def test_the_bounds_are_allowed() -> None:
    for change in [
        {"extension": "70", "keys": {}},
        {"extension": "70000", "keys": {}},
        {"timeout_s": 1, "max_attempts": 1, "dial_length": 2},
        {"timeout_s": 60, "max_attempts": 9, "dial_length": 5},
        {"greeting": "acme/welcome-2.nl", "invalid_sound": None},
    ]:
        menu = replace(MAIN, **change)  # type: ignore[arg-type]
        assert menu_errors({menu.extension: menu, "701": replace(SALES, keys={})}) == []


def test_every_error_is_reported() -> None:
    bad = replace(MAIN, timeout_s=0, max_attempts=0, keys={"x": Repeat(), "5": Submenu("1")})
    assert fields({"700": bad}) == ["700.timeout_s", "700.max_attempts", "700.keys", "700.keys.5"]


# ---- every transition from every reachable state -----------------------------------------

EVENTS = [*KEYS, "A", PROMPT, TIMER]


def _state(call: Call) -> tuple[object, ...]:
    s = call.session
    # Which digits were collected never changes what happens next, only how many.
    return (s.current, s.phase, s.failures, s.greetings, len(s.digits), call.app.timer, s.end)


def _copy(call: Call) -> Call:
    twin = object.__new__(Call)
    twin.menus = call.menus
    twin.app = replace(call.app)
    twin.session = call.session
    return twin


def _kind(event: str) -> str:
    return event if event in (PROMPT, TIMER) else "key"


def test_every_transition_from_every_reachable_state_keeps_the_rules() -> None:
    """Breadth-first through both menus (with a small cap, so that it is reached): each
    event from each state, checked by Call; then a silent caller from each state
    finishes."""
    cap = 5
    seen: set[tuple[object, ...]] = set()
    moves: set[tuple[Phase, str, Phase]] = set()
    ends: set[object] = set()
    queue = deque([Call(MENUS, "700", max_greetings=cap), Call(MENUS, "701", max_greetings=cap)])
    while queue:
        call = queue.popleft()
        if _state(call) in seen:
            continue
        seen.add(_state(call))
        for event in EVENTS:
            after = _copy(call)
            after.event(event)
            moves.add((call.session.phase, _kind(event), after.session.phase))
            ends.add(after.session.end)
            queue.append(after)
        silent = _copy(call)
        for _ in range(2 * cap + 3):
            silent.event(PROMPT if silent.app.playing else TIMER)
        assert silent.session.finished

    g, n, w, c, f = Phase.GREETING, Phase.NOTICE, Phase.WAITING, Phase.COLLECTING, Phase.FINISHED
    assert moves >= {
        (g, "key", g), (g, "key", n), (g, "key", c), (g, "key", f),
        (g, PROMPT, w), (g, TIMER, g),
        (n, "key", g), (n, "key", n), (n, "key", c), (n, "key", f),
        (n, PROMPT, g), (n, PROMPT, f), (n, TIMER, n),
        (w, "key", g), (w, "key", n), (w, "key", c), (w, "key", f),
        (w, PROMPT, w), (w, TIMER, g), (w, TIMER, f),
        (c, "key", c), (c, "key", g), (c, "key", n), (c, "key", f),
        (c, PROMPT, c), (c, TIMER, g), (c, TIMER, n), (c, TIMER, f),
        (f, "key", f), (f, PROMPT, f), (f, TIMER, f),
    }  # fmt: skip
    leaves = {e.request_user for e in ends if isinstance(e, Leave)}
    assert EndCall() in ends
    assert {"ivr-700-1", "ivr-700-star", "ivr-700-hash", "ivr-700-default", "ivr-701-1"} <= leaves
    # Collections end by "#" or the timer (1, 2 and 4 digits) or at the length (3 and 5).
    assert {len(user) for user in leaves if user.isdigit()} == {1, 2, 3, 4, 5}


# ---- random menus, random callers ------------------------------------------------------

MENU_EXTENSIONS = ["700", "701", "702"]


def _actions(targets: list[str]) -> st.SearchStrategy[KeyAction]:
    return st.one_of(
        st.builds(Transfer),
        st.builds(Repeat),
        st.builds(HangUp),
        st.builds(DialByExtension),
        st.sampled_from(targets).map(Submenu),
    )


@st.composite
def tenants(draw: st.DrawFn) -> dict[str, Menu]:
    count = draw(st.integers(1, 3))
    exts = MENU_EXTENSIONS[:count]
    menus: dict[str, Menu] = {}
    for ext in exts:
        keys: dict[str, KeyAction] = dict(
            draw(st.dictionaries(st.sampled_from(KEYS), _actions(exts), max_size=12))
        )
        menus[ext] = Menu(
            ext,
            f"greeting-{ext}",
            keys,
            timeout_s=draw(st.integers(1, 60)),
            max_attempts=draw(st.integers(1, 9)),
            invalid_sound=draw(st.sampled_from([None, f"invalid-{ext}"])),
            has_default=draw(st.booleans()),
            dial_length=draw(st.integers(2, 5)),
        )
    return menus


@PROPERTY
@given(
    tenants(),
    st.integers(0, 25),
    st.lists(st.sampled_from([*KEYS, "B", PROMPT, TIMER, PROMPT, TIMER]), max_size=80),
)
def test_random_callers_in_random_menus_keep_the_rules(
    menus: dict[str, Menu], cap: int, events: list[str]
) -> None:
    assert menu_errors(menus) == []
    call = Call(menus, "700", max_greetings=cap)
    for event in events:
        call.event(event)  # Call checks every step
    for _ in range(2 * cap + 3):  # then the caller goes quiet, and the call ends
        call.event(PROMPT if call.app.playing else TIMER)
    assert call.session.finished
