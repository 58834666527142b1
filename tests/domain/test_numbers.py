from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provd.domain.errors import InvalidInput
from provd.domain.numbers import (
    NumberBlock,
    NumberType,
    check_country,
    classify,
    is_emergency,
    national_form,
    parse_number,
)
from tests.hypothesis_profiles import examples

_PROPERTY = settings(max_examples=examples(300), deadline=None, derandomize=True, database=None)


@pytest.mark.parametrize(
    "text",
    [
        "+31201234567",
        "+31 20 123 45 67",
        "+31 (0)20 1234567",
        "0031201234567",
        "00 31 20 1234567",
        "020 123 45 67",
        "020-1234567",
        "(020) 1234567",
        "020/1234567",
        "020.123.45.67",
        " 0201234567 ",
    ],
)
def test_dutch_notations_read_as_e164(text: str) -> None:
    assert parse_number(text) == "+31201234567"


def test_notations_are_read_relative_to_the_country() -> None:
    assert parse_number("02 512 34 56", "BE") == "+3225123456"
    assert parse_number("0032 2 512 34 56") == "+3225123456"
    assert parse_number("+44 20 7123 4567", "be") == "+442071234567"
    assert parse_number("06 12345678") == "+31612345678"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("0800-FLOWERS", "only digits"),
        ("020 1234567 ext 5", "only digits"),
        ("tel:+31201234567", "only digits"),
        ("+31+201234567", "+ only at the start"),
        ("---", "only digits"),
        ("020\n1234567", "control characters"),
        ("0" * 41, "too long"),
        ("0201234", "not a valid telephone number"),
        ("112", "not a valid telephone number"),
        ("+999123456789", "not a telephone number"),
        (None, "must be text"),
        (201234567, "must be text"),
    ],
)
def test_what_is_not_a_number_is_refused_naming_the_field(value: object, words: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_number(value, field="--number")
    assert e.value.field == "--number"
    assert words in e.value.message


def test_a_dialled_number_needs_only_a_possible_length() -> None:
    # A number in a range not (yet) assigned is still one to hand to a carrier.
    with pytest.raises(InvalidInput):
        parse_number("+44 1632 960000")
    assert parse_number("+44 1632 960000", require_valid=False) == "+441632960000"
    with pytest.raises(InvalidInput):
        parse_number("+31 12", require_valid=False)


@pytest.mark.parametrize("country", ["XX", "", "nld", None, 31])
def test_an_unknown_country_is_refused(country: object) -> None:
    with pytest.raises(InvalidInput) as e:
        check_country(country)
    assert e.value.field == "country"
    with pytest.raises(InvalidInput):
        parse_number("0201234567", country)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("e164", "kind"),
    [
        ("+31201234567", NumberType.FIXED),
        ("+31612345678", NumberType.MOBILE),
        ("+318001234", NumberType.TOLL_FREE),
        ("+319001234567", NumberType.PREMIUM),
        ("+31881234567", NumberType.UAN),
        ("+31851234567", NumberType.VOIP),
        ("+3225123456", NumberType.INTERNATIONAL),
        ("+80012345678", NumberType.INTERNATIONAL),
    ],
)
def test_classify_from_the_dutch_side(e164: str, kind: NumberType) -> None:
    assert classify(e164) is kind


def test_classify_depends_on_the_country() -> None:
    assert classify("+3225123456", "BE") is NumberType.FIXED
    assert classify("+31201234567", "BE") is NumberType.INTERNATIONAL
    with pytest.raises(InvalidInput, match=r"E\.164"):
        classify("0201234567")


def test_national_form_is_what_people_in_the_country_dial() -> None:
    assert national_form("+31201234567") == "0201234567"
    assert national_form("+31612345678") == "0612345678"
    assert national_form("+3225123456") == "003225123456"
    assert national_form("+3225123456", "BE") == "025123456"


def test_emergency_numbers_per_country() -> None:
    assert is_emergency("112")
    assert is_emergency("911", "US")
    assert not is_emergency("1121")
    assert not is_emergency("+31112")
    assert not is_emergency("")


def test_blocks_of_one_ten_and_a_hundred() -> None:
    block = NumberBlock.parse("020 123 4500", 100)
    assert block == NumberBlock("+31201234500", 100)
    assert block.last == "+31201234599"
    numbers = block.numbers()
    assert len(numbers) == 100 and len(set(numbers)) == 100
    assert numbers[0] == "+31201234500" and numbers[-1] == "+31201234599"
    assert NumberBlock.parse("+31201234510", 10).numbers()[-1] == "+31201234519"
    assert NumberBlock.parse("+31201234517", 1).numbers() == ["+31201234517"]
    assert block.contains("+31201234542") and not block.contains("+31201234600")


@pytest.mark.parametrize(
    ("first", "count", "field", "words"),
    [
        ("+31201234505", 10, "first", "ending in 0 (+31201234500)"),
        ("+31201234510", 100, "first", "ending in 00 (+31201234500)"),
        ("+31201234500", 50, "count", "1, 10 or 100"),
        ("+31201234500", 0, "count", "1, 10 or 100"),
        ("+31201234500", True, "count", "1, 10 or 100"),
        ("+31201234500", "10", "count", "1, 10 or 100"),
        ("020 12", 1, "first", "not a valid"),
    ],
)
def test_malformed_blocks_are_refused_naming_the_field(
    first: str, count: object, field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as e:
        NumberBlock.parse(first, count)
    assert e.value.field == field
    assert words in e.value.message


def test_overlaps() -> None:
    hundred = NumberBlock("+31201234500", 100)
    assert hundred.overlaps(NumberBlock("+31201234550", 10))
    assert NumberBlock("+31201234550", 10).overlaps(hundred)
    assert hundred.overlaps(NumberBlock("+31201234599", 1))
    assert not hundred.overlaps(NumberBlock("+31201234600", 100))
    assert not hundred.overlaps(NumberBlock("+31201234490", 10))
    # The same digits with another length are another number.
    assert not NumberBlock("+3120123450", 10).overlaps(NumberBlock("+31201234500", 1))


# --- properties -------------------------------------------------------------

_number_text = st.text(alphabet="0123456789+ -()./", max_size=24) | st.text(max_size=24)


@_PROPERTY
@given(_number_text)
def test_any_text_is_an_e164_number_or_refused_naming_the_field(text: str) -> None:
    try:
        e164 = parse_number(text, field="f")
    except InvalidInput as e:
        assert e.field == "f"
        return
    assert e164.startswith("+") and e164[1:].isascii() and e164[1:].isdigit()
    assert len(e164) <= 16
    assert parse_number(e164) == e164


_dutch_subscriber = st.sampled_from(["20", "10", "30", "70", "6", "85", "88"]).flatmap(
    lambda prefix: st.integers(0, 10 ** (9 - len(prefix)) - 1).map(
        lambda n: f"+31{prefix}{n:0{9 - len(prefix)}d}"
    )
)


@_PROPERTY
@given(_dutch_subscriber, st.sampled_from(["NL", "BE", "DE", "US"]))
def test_e164_round_trips_through_every_form(candidate: str, country: str) -> None:
    try:
        e164 = parse_number(candidate)
    except InvalidInput:
        return
    assert e164 == candidate
    assert parse_number(national_form(e164, country), country) == e164
    assert parse_number(e164[:3] + " " + e164[3:], country) == e164
    assert classify(e164, "NL") is not NumberType.INTERNATIONAL
    assert (classify(e164, country) is NumberType.INTERNATIONAL) == (country != "NL")


def _block(first_index: int, count: int) -> NumberBlock | None:
    try:
        return NumberBlock.parse(f"+312012{first_index:05d}", count)
    except InvalidInput:
        return None


@_PROPERTY
@given(
    st.integers(0, 2999),
    st.sampled_from([1, 10, 100]),
    st.integers(0, 2999),
    st.sampled_from([1, 10, 100]),
)
def test_validated_blocks_are_nested_or_disjoint(a: int, an: int, b: int, bn: int) -> None:
    x, y = _block(a, an), _block(b, bn)
    if x is None or y is None:
        return
    shared = set(x.numbers()) & set(y.numbers())
    assert x.overlaps(y) == y.overlaps(x) == bool(shared)
    if shared:
        smaller, larger = sorted((x, y), key=lambda blk: blk.count)
        assert set(smaller.numbers()) <= set(larger.numbers())
    for number in x.numbers():
        assert x.contains(number)
