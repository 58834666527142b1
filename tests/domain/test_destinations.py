"""Destinations as admins write them and as they are stored; hunt group and forwarding
limits; number prefixes for incoming blocks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provd.domain.destinations import (
    Destination,
    DestinationKind,
    DestinationText,
    ExternalDestination,
    GroupDestination,
    QueueDestination,
    ScheduledDestination,
    UserDestination,
    as_json,
    check_outside_number,
    from_json,
    parse_text,
)
from provd.domain.errors import InvalidInput
from provd.domain.forwarding import ForwardCase, check_no_answer_seconds
from provd.domain.groups import Policy, check_policy, check_ring_seconds, check_wait
from provd.domain.numbers import parse_prefix
from tests.hypothesis_profiles import examples

_PROPERTY = settings(max_examples=examples(300), deadline=None, derandomize=True, database=None)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("user:201", DestinationText(DestinationKind.USER, "201")),
        (" Group : 600 ", DestinationText(DestinationKind.GROUP, "600")),
        ("external:06 1234 5678", DestinationText(DestinationKind.EXTERNAL, "06 1234 5678")),
        ("scheduled:Main: hours", DestinationText(DestinationKind.SCHEDULED, "Main: hours")),
        ("voicemail:201", DestinationText(DestinationKind.VOICEMAIL, "201")),
        ("Queue:800", DestinationText(DestinationKind.QUEUE, "800")),
        ("none", None),
        (" NONE ", None),
    ],
)
def test_destination_texts(text: str, parsed: DestinationText | None) -> None:
    assert parse_text(text, field="overflow") == parsed


@pytest.mark.parametrize(
    "text", ["", "201", "user", "user:", "user: ", "mailbox:201", "user:201\n", "x" * 81]
)
def test_what_is_not_a_destination_names_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_text(text, field="busy")
    assert refused.value.field == "busy"


@given(st.text(max_size=90))
@_PROPERTY
def test_parsing_any_text_raises_only_invalid_input(text: str) -> None:
    try:
        parse_text(text, field="f")
    except InvalidInput as e:
        assert e.field == "f"


_DESTINATIONS: st.SearchStrategy[Destination | None] = st.one_of(
    st.none(),
    st.builds(UserDestination, st.integers(1, 2**31)),
    st.builds(GroupDestination, st.integers(1, 2**31)),
    st.builds(ScheduledDestination, st.integers(1, 2**31)),
    st.builds(QueueDestination, st.integers(1, 2**31)),
    st.builds(ExternalDestination, st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)),
)


@given(_DESTINATIONS)
@_PROPERTY
def test_the_stored_form_round_trips(destination: Destination | None) -> None:
    assert from_json(as_json(destination)) == destination


def test_the_stored_form_is_as_documented() -> None:
    assert as_json(UserDestination(7)) == {"kind": "user", "user_id": 7}
    assert as_json(GroupDestination(3)) == {"kind": "group", "group_id": 3}
    assert as_json(ScheduledDestination(2)) == {"kind": "scheduled", "route_id": 2}
    assert as_json(QueueDestination(5)) == {"kind": "queue", "queue_id": 5}
    assert as_json(ExternalDestination("+31612345678")) == {
        "kind": "external",
        "number": "+31612345678",
    }
    malformed: list[object] = [
        {"kind": "user"},
        {"kind": "user", "user_id": "7"},
        {"kind": "user", "user_id": True},
        {"kind": "queue", "menu_id": 5},
        {"kind": "pager", "id": 1},
        [],
        "user:201",
    ]
    for bad in malformed:
        with pytest.raises(ValueError):
            from_json(bad)


@pytest.mark.parametrize(
    ("text", "country", "e164"),
    [
        ("0612345678", "NL", "+31612345678"),
        ("0031 20 123 4567", "NL", "+31201234567"),
        ("+32 2 555 12 12", "NL", "+3225551212"),
        ("02 555 12 12", "BE", "+3225551212"),
    ],
)
def test_outside_numbers_are_read_in_the_country(text: str, country: str, e164: str) -> None:
    assert check_outside_number(text, country, field="external") == e164


@pytest.mark.parametrize(("text", "country"), [("112", "NL"), ("911", "US"), ("0201234", "NL")])
def test_emergency_and_undiallable_numbers_are_no_target(text: str, country: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_outside_number(text, country, field="always")
    assert refused.value.field == "always"


def test_group_limits() -> None:
    assert check_policy(" Longest-Idle ") is Policy.LONGEST_IDLE
    assert [check_ring_seconds(n) for n in (5, 120)] == [5, 120]
    assert check_wait(0, 15) == 0 and check_wait(15, 15) == 15 and check_wait(900, 120) == 900
    for bad_ring in (4, 121, True, "15"):
        with pytest.raises(InvalidInput, match="ring_seconds"):
            check_ring_seconds(bad_ring)
    for bad_wait in (-1, 14, 901):
        with pytest.raises(InvalidInput, match="total_wait_seconds"):
            check_wait(bad_wait, 15)
    with pytest.raises(InvalidInput, match="policy"):
        check_policy("round robin")


def test_forward_cases_and_limits() -> None:
    assert [c.column for c in ForwardCase] == [
        "forward_always",
        "forward_busy",
        "forward_no_answer",
        "forward_unreachable",
    ]
    assert ForwardCase.NO_ANSWER.option == "no-answer"
    assert check_no_answer_seconds(20) == 20
    for bad in (4, 121):
        with pytest.raises(InvalidInput, match="no_answer_seconds"):
            check_no_answer_seconds(bad)


@pytest.mark.parametrize(
    ("text", "country", "prefix"),
    [
        ("+31900", "NL", "+31900"),
        ("0900", "NL", "+31900"),
        ("0031 900", "NL", "+31900"),
        ("+44", "NL", "+44"),
        ("011 44 20", "US", "+4420"),
        ("1 900", "US", "+1900"),
    ],
)
def test_prefixes(text: str, country: str, prefix: str) -> None:
    assert parse_prefix(text, country) == prefix


@pytest.mark.parametrize(
    "text", ["+3", "900", "", "+", "00", "0900x", "+0900", "+1234567890123456"]
)
def test_what_is_not_a_prefix(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_prefix(text, "NL")
    assert refused.value.field == "prefix"
