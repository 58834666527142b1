from datetime import UTC, datetime, timedelta

from provd.domain.night_switch import Lamp, dialog_info, lamps
from provd.domain.schedules import Override

AT = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)


def test_each_schedule_is_a_lamp_by_its_position_and_the_first_is_plain_915() -> None:
    got = lamps([("shop", None), ("office", Override("closed"))], AT)
    assert got == [
        Lamp("*915", "office", True),
        Lamp("*915*1", "office", True),
        Lamp("*915*2", "shop", False),
    ]


def test_a_switch_set_off_or_past_its_end_is_dark() -> None:
    ended = Override("closed", AT - timedelta(minutes=1))
    running = Override("closed", AT + timedelta(minutes=1))
    assert [lamp.lit for lamp in lamps([("a", ended)], AT)] == [False, False]
    assert [lamp.lit for lamp in lamps([("a", Override("open"))], AT)] == [False, False]
    assert [lamp.lit for lamp in lamps([("a", running)], AT)] == [True, True]


def test_no_schedule_no_lamp() -> None:
    assert lamps([], AT) == []


def test_the_document_is_one_line_with_a_confirmed_dialog_only_when_lit() -> None:
    lit = dialog_info("sip:*915@acme.test", True, 7)
    dark = dialog_info("sip:*915@acme.test", False, 8)
    assert "\n" not in lit and "\n" not in dark
    assert 'entity="sip:*915@acme.test"' in lit and 'version="7"' in lit
    assert "<state>confirmed</state>" in lit
    assert "<dialog " not in dark and dark.endswith("/>")


def test_the_entity_is_escaped() -> None:
    assert 'entity="sip:&lt;x&gt;@a&amp;b"' in dialog_info("sip:<x>@a&b", False, 1)
