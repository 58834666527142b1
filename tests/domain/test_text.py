"""Printable text only, wherever a stored value reaches a phone's configuration: any control
character is refused with the domain's error naming the field, and anything accepted renders
for every vendor."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from provd.domain.catalogue import PhoneModel
from provd.domain.errors import InvalidInput
from provd.domain.keys import KeyFunction, KeyLocation, KeySpec, check_spec
from provd.domain.tenancy import check_display_name
from provd.domain.text import check_printable, first_unprintable
from provd.drivers.context import Key
from provd.drivers.registry import driver_for, get_model
from tests.hypothesis_profiles import examples
from tests.samples import sample_context

# C0 controls but the whitespace str.strip() takes off the ends, DEL, and the C1 controls.
CONTROLS = [chr(c) for c in (*range(0x01, 0x20), 0x7F, *range(0x80, 0xA0))]
MODELS = [get_model("yealink-t46g"), get_model("snom-d785")]
URL = "https://intranet.example.net/"
LOCATION = KeyLocation(0, 5)

controls = st.characters(categories=["Cc"])
printable = st.text(st.characters().filter(str.isprintable))


@st.composite
def with_control(draw: st.DrawFn) -> str:
    """Any text with at least one control character somewhere in it."""
    return draw(st.text()) + draw(controls) + draw(st.text())


def _url_key(target: str, label: str = "") -> KeySpec:
    return KeySpec(LOCATION, KeyFunction.URL, target, label)


def _check(spec: KeySpec) -> KeySpec:
    return check_spec(spec, get_model("yealink-t46g"), 0, extensions=())


def _render(model: PhoneModel, spec: KeySpec) -> None:
    key = Key(spec.location, spec.function, spec.target, spec.label, 1)
    ctx = dataclasses.replace(sample_context(model), keys=(key,))
    driver = driver_for(model.vendor.value)
    for name in driver.filenames(ctx.mac, ctx.model):
        driver.render(ctx, name)


@given(with_control())
@example("\x01")
@example("name\x1b[31m")
@example("\x85")
@example("a\u2028b")
def test_any_text_with_a_control_character_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_printable(text, field="name")
    assert caught.value.field == "name"
    assert "control characters" in caught.value.message


@given(printable)
@example("Jan & Piet <Sales> \"q\" 'x' \\ % = # ;")
@example("Ünïcödé 漢字 😀")
def test_any_printable_text_is_accepted_unchanged(text: str) -> None:
    assert first_unprintable(text) is None
    assert check_printable(text, field="name") is text


def test_the_message_points_at_the_character_not_the_text() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_printable("ab\x7fc", field="label", what="the label")
    assert caught.value.message == (
        "the label must not contain control characters or line breaks (U+007F at position 3)"
    )


@pytest.mark.parametrize("control", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_a_url_key_target_with_any_control_character_is_refused(control: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _check(_url_key(f"{URL}a{control}b"))
    assert caught.value.field == "key line:5"
    assert caught.value.message.startswith("the target must not contain control characters")


@given(with_control())
def test_any_key_target_or_label_with_a_control_character_is_refused(text: str) -> None:
    for function in KeyFunction:
        with pytest.raises(InvalidInput) as caught:
            _check(KeySpec(LOCATION, function, f"1{text}1"))
        assert caught.value.field == "key line:5"
    with pytest.raises(InvalidInput, match="the label must not contain control"):
        _check(_url_key(URL, label=f"a{text}a"))


@settings(max_examples=examples(150))
@given(st.text(max_size=60), st.text(max_size=40))
@example("a\x01b", "")
@example("?q=\x80", "L")
@example("x", "Jan & Piet \x85")
def test_every_url_key_the_rules_accept_renders_for_both_vendors(tail: str, label: str) -> None:
    try:
        spec = _check(_url_key(URL + tail, label))
    except InvalidInput:
        return
    for model in MODELS:
        _render(model, spec)


@given(with_control())
def test_names_with_a_control_character_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_display_name(f"x{text}x", field="display_name")
    assert caught.value.field == "display_name"


@given(printable.filter(lambda t: 0 < len(t.strip()) <= 64))
def test_printable_names_are_accepted(text: str) -> None:
    assert check_display_name(text) == text.strip()
