"""The rules of a user's call to their own mailbox (``*1233``): PIN, summary, listening,
deleting, recording a greeting, and that every call moves on and ends."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from provd.domain import voicemail_access as va
from provd.domain.voicemail_access import (
    CancelTimer,
    CheckPin,
    DeleteMessage,
    EndCall,
    MarkHeard,
    Message,
    MessageAudio,
    Phase,
    Play,
    Prompt,
    SaveRecording,
    Session,
    StartRecording,
    StartTimer,
    StopPlaying,
    Tone,
    on_digit,
    on_greeting_saved,
    on_pin_checked,
    on_prompt_finished,
    on_timer,
    start,
)

# Newest first, as mailboxes.json lists them: 3 and 1 new, 2 heard.
MAILBOX = (Message(3, False), Message(2, True), Message(1, False))


def prompts(*names: str) -> Play:
    return Play(tuple(Prompt(n) for n in names))


def summary(new: int, saved: int) -> tuple[Prompt, ...]:
    return (
        Prompt("you-have"),
        *(Prompt(d) for d in str(new)),
        Prompt("new-messages"),
        Prompt("and"),
        *(Prompt(d) for d in str(saved)),
        Prompt("saved-messages"),
    )


def keys(session: Session, text: str) -> tuple[Session, list[va.Effect]]:
    effects: list[va.Effect] = []
    for key in text:
        session, more = on_digit(session, key)
        effects += more
    return session, effects


def opened(messages: tuple[Message, ...] = MAILBOX) -> Session:
    """Past the PIN, the main menu playing."""
    session, _ = start(messages, pin_set=True)
    session, _ = keys(session, "4711#")
    session, _ = on_pin_checked(session, True)
    assert session.phase is Phase.MENU
    return session


def test_without_a_pin_the_caller_is_told_and_the_call_ends() -> None:
    session, effects = start(MAILBOX, pin_set=False)
    assert effects == [prompts("no-pin", "goodbye")]
    assert on_digit(session, "1") == (session, [])  # keys change nothing now
    session, effects = on_prompt_finished(session)
    assert effects == [EndCall()]
    assert session.finished


def test_the_pin_is_asked_for_then_checked_after_hash() -> None:
    session, effects = start(MAILBOX, pin_set=True)
    assert effects == [prompts("enter-pin")]
    session, effects = on_digit(session, "4")
    assert effects == [StopPlaying(), StartTimer(va.DIGIT_TIMEOUT_S)]
    session, effects = keys(session, "711#")
    assert effects[-2:] == [CancelTimer(), CheckPin("4711")]
    assert session.phase is Phase.CHECKING
    assert on_digit(session, "1") == (session, [])  # nothing while checking
    session, effects = on_pin_checked(session, True)
    assert effects == [Play((*summary(2, 1), Prompt("main-menu")))]


def test_a_pin_without_hash_is_checked_when_the_keys_stop() -> None:
    session, _ = start(MAILBOX, pin_set=True)
    session, _ = keys(session, "4711")
    session, effects = on_timer(session)
    assert effects == [CheckPin("4711")]


def test_star_starts_the_entry_again_without_costing_an_attempt() -> None:
    session, _ = start(MAILBOX, pin_set=True)
    session, effects = keys(session, "12*")
    assert effects[-2:] == [CancelTimer(), prompts("enter-pin")]
    session, effects = keys(session, "4711#")
    assert effects[-1] == CheckPin("4711")
    assert session.attempts == 0


def test_three_wrong_pins_end_the_call_with_nothing_changed() -> None:
    session, _ = start(MAILBOX, pin_set=True)
    everything: list[va.Effect] = []
    for attempt in range(1, va.PIN_ATTEMPTS + 1):
        session, effects = keys(session, "1111#")
        everything += effects
        session, effects = on_pin_checked(session, False)
        everything += effects
        if attempt < va.PIN_ATTEMPTS:
            assert effects == [prompts("wrong-pin", "enter-pin")]
    assert effects == [prompts("wrong-pin", "goodbye")]
    session, effects = on_prompt_finished(session)
    assert effects == [EndCall()]
    assert not [e for e in everything if isinstance(e, MarkHeard | DeleteMessage)]


def test_hash_alone_or_silence_is_a_failed_attempt() -> None:
    session, _ = start(MAILBOX, pin_set=True)
    session, effects = on_digit(session, "#")
    assert effects == [prompts("wrong-pin", "enter-pin")]
    session, _ = on_prompt_finished(session)
    session, effects = on_timer(session)
    assert effects == [prompts("wrong-pin", "enter-pin")]
    assert session.attempts == 2


def test_listening_goes_new_newest_first_then_saved() -> None:
    session, effects = on_digit(opened(), "1")
    assert effects == [Play((MessageAudio(3),))]
    session, effects = on_prompt_finished(session)
    assert effects == [MarkHeard(3), prompts("message-menu")]
    session, effects = on_digit(session, "9")
    assert effects == [Play((MessageAudio(1),))]
    session, effects = on_digit(session, "9")  # during the message: heard, and on
    assert effects == [MarkHeard(1), Play((MessageAudio(2),))]
    session, effects = on_digit(session, "9")  # 2 was heard before: no report
    assert effects == [
        Play((Prompt("no-more-messages"), *summary(0, 3), Prompt("main-menu"))),
    ]
    assert session.phase is Phase.MENU


def test_seven_deletes_the_message_and_goes_on() -> None:
    session, _ = on_digit(opened(), "1")
    session, _ = on_prompt_finished(session)
    session, effects = on_digit(session, "7")
    assert effects == [DeleteMessage(3), Play((Prompt("deleted"), MessageAudio(1)))]
    assert [m.id for m in session.messages] == [2, 1]
    session, _ = on_prompt_finished(session)
    session, _ = on_prompt_finished(session)  # the message menu ended: waiting
    session, effects = on_digit(session, "7")
    assert effects == [CancelTimer(), DeleteMessage(1), Play((Prompt("deleted"), MessageAudio(2)))]
    session, effects = on_digit(session, "7")  # during the last one
    assert effects == [
        DeleteMessage(2),
        Play((Prompt("deleted"), Prompt("no-more-messages"), *summary(0, 0), Prompt("main-menu"))),
    ]
    assert session.messages == ()


def test_four_replays_and_hash_goes_back_to_the_menu() -> None:
    session, _ = on_digit(opened(), "1")
    session, effects = on_digit(session, "4")
    assert effects == [MarkHeard(3), Play((MessageAudio(3),))]
    session, effects = on_digit(session, "#")
    assert effects == [Play((*summary(1, 2), Prompt("main-menu")))]
    assert session.queue == ()


def test_an_empty_mailbox_says_so() -> None:
    _, effects = on_digit(opened(()), "1")
    assert effects == [prompts("no-messages", "main-menu")]


def test_keys_a_menu_does_not_know() -> None:
    session, effects = on_digit(opened(), "5")
    assert effects == [prompts("invalid", "main-menu")]
    session, _ = on_digit(session, "1")
    session, effects = on_digit(session, "*")
    assert effects == [MarkHeard(3), prompts("invalid", "message-menu")]


def test_recording_a_greeting() -> None:
    session, effects = on_digit(opened(), "2")
    assert effects == [Play((Prompt("record-greeting"), Tone()))]
    assert on_digit(session, "#") == (session, [])  # not before the tone
    session, effects = on_prompt_finished(session)
    assert effects == [StartRecording(va.MAX_GREETING_S), StartTimer(va.MAX_GREETING_S)]
    assert on_digit(session, "5") == (session, [])  # other keys are part of it
    session, effects = on_digit(session, "#")
    assert effects == [CancelTimer(), SaveRecording()]
    assert on_digit(session, "1") == (session, [])  # nothing while it is saved
    session, effects = on_greeting_saved(session, True)
    assert effects == [prompts("greeting-saved", "main-menu")]


def test_a_greeting_stops_at_its_limit_and_may_come_to_nothing() -> None:
    session, _ = on_digit(opened(), "2")
    session, _ = on_prompt_finished(session)
    session, effects = on_timer(session)
    assert effects == [SaveRecording()]
    session, effects = on_greeting_saved(session, False)
    assert effects == [prompts("greeting-not-saved", "main-menu")]


def test_hash_in_the_menu_leaves() -> None:
    session, effects = on_digit(opened(), "#")
    assert effects == [prompts("goodbye")]
    assert on_digit(session, "1") == (session, [])
    session, effects = on_prompt_finished(session)
    assert effects == [EndCall()]
    assert on_timer(session) == (session, [])
    assert on_prompt_finished(session) == (session, [])


def test_nobody_pressing_anything_is_let_go() -> None:
    session = opened()
    for _ in range(va.MENU_REPEATS - 1):
        session, _ = on_prompt_finished(session)
        session, effects = on_timer(session)
        assert effects == [prompts("main-menu")]
    session, _ = on_prompt_finished(session)
    session, effects = on_timer(session)
    assert effects == [prompts("goodbye")]


def test_a_key_resets_the_silence_count() -> None:
    session = opened()
    session, _ = on_prompt_finished(session)
    session, _ = on_timer(session)
    session, _ = on_digit(session, "5")
    assert session.idle == 0


def test_a_call_plays_at_most_so_many_prompts() -> None:
    session = opened()
    for _ in range(va.MAX_PLAYS):
        session, effects = on_digit(session, "5")
        if effects[-1] == prompts("goodbye"):
            break
    assert effects[-1] == prompts("goodbye")
    assert session.plays <= va.MAX_PLAYS + 1


def test_every_prompt_played_has_words() -> None:
    assert {str(d) for d in range(10)} <= va.PROMPTS.keys()
    for name, text in va.PROMPTS.items():
        assert text.strip(), name


# ---- whatever happens, the call moves on and ends -----------------------------------------


@dataclass
class Runner:
    """What the media application does with the effects: enough to know whether a
    session could stall."""

    session: Session
    playing: bool = False
    timer: bool = False
    checking: bool = False
    saving: bool = False
    ended: int = 0
    deleted: list[int] = field(default_factory=list)
    heard: list[int] = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def apply(self, step: tuple[Session, list[va.Effect]]) -> None:
        self.session, effects = step
        assert self.ended == 0 or not effects, "effects after the end"
        for effect in effects:
            if isinstance(effect, Play):
                self.playing = True
                self.names |= {i.name for i in effect.items if isinstance(i, Prompt)}
            elif isinstance(effect, StopPlaying):
                self.playing = False
            elif isinstance(effect, StartTimer):
                self.timer = True
            elif isinstance(effect, CancelTimer):
                self.timer = False
            elif isinstance(effect, CheckPin):
                self.checking = True
            elif isinstance(effect, SaveRecording):
                self.saving = True
            elif isinstance(effect, DeleteMessage):
                self.deleted.append(effect.id)
            elif isinstance(effect, MarkHeard):
                self.heard.append(effect.id)
            elif isinstance(effect, EndCall):
                self.ended += 1

    def alive(self) -> bool:
        return self.playing or self.timer or self.checking or self.saving


events = st.lists(
    st.one_of(
        st.sampled_from("0123456789*#"),
        st.sampled_from(["prompt", "timer", "pin-ok", "pin-wrong", "saved", "not-saved"]),
    ),
    max_size=300,
)


@settings(max_examples=300)
@given(events, st.booleans())
def test_a_session_always_moves_on_and_ends_once(script: list[str], pin_set: bool) -> None:
    runner = Runner(Session(Phase.PIN_PROMPT, MAILBOX))
    runner.apply(start(MAILBOX, pin_set=pin_set))
    for event in script:
        if runner.ended:
            break
        assert runner.alive(), runner.session
        s = runner.session
        if event == "prompt" and runner.playing:
            runner.playing = False
            runner.apply(on_prompt_finished(s))
        elif event == "timer" and runner.timer:
            runner.timer = False
            runner.apply(on_timer(s))
        elif event.startswith("pin-") and runner.checking:
            runner.checking = False
            runner.apply(on_pin_checked(s, event == "pin-ok"))
        elif event.endswith("saved") and runner.saving:
            runner.saving = False
            runner.apply(on_greeting_saved(s, event == "saved"))
        elif len(event) == 1:
            runner.apply(on_digit(s, event))
    # Nothing is deleted twice or unknown; only new messages are reported heard.
    assert len(runner.deleted) == len(set(runner.deleted))
    assert set(runner.deleted) <= {m.id for m in MAILBOX}
    assert len(runner.heard) == len(set(runner.heard))
    assert set(runner.heard) <= {m.id for m in MAILBOX if not m.heard}
    assert runner.names <= va.PROMPTS.keys()
    assert runner.ended <= 1
    if not pin_set:
        assert not runner.deleted and not runner.heard
