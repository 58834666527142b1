"""Time schedules: every rule of provd/domain/schedules.py, as tables and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provd.domain.errors import InvalidInput
from provd.domain.schedules import (
    HORIZON,
    MAX_RULES,
    Holiday,
    Override,
    OverrideState,
    Schedule,
    ScheduleState,
    WeeklyRule,
    check_holiday,
    check_override,
    check_schedule,
    format_holiday,
    format_rule,
    parse_holiday,
    parse_rule,
    state_at,
)
from provd.domain.timezones import ZONES
from tests.hypothesis_profiles import examples

AMS = ZoneInfo("Europe/Amsterdam")
WEEKDAYS = frozenset(range(5))


def ams(day: str, clock: str = "00:00", *, fold: int = 0) -> datetime:
    """A wall-clock time in Amsterdam; ``fold=1`` is the second pass of a repeated time."""
    return datetime.fromisoformat(f"{day} {clock}").replace(tzinfo=AMS, fold=fold)


def utc(day: str, clock: str = "00:00") -> datetime:
    return datetime.fromisoformat(f"{day} {clock}").replace(tzinfo=UTC)


def schedule(
    *rules: str, holidays: tuple[str, ...] = (), zone: str = "Europe/Amsterdam"
) -> Schedule:
    return Schedule(
        "office",
        zone,
        tuple(parse_rule(r) for r in rules),
        tuple(parse_holiday(h) for h in holidays),
    )


OFFICE = schedule("mon-fri 08:00-17:00", holidays=("Christmas=2026-12-25",))
CLOSED = Override("closed")
OPEN = Override("open")


# ---- precedence ------------------------------------------------------------------

# 2026-03-02 is a Monday; 2026-12-25 a Friday, a holiday in OFFICE.
PRECEDENCE = [
    ("rule open", None, ams("2026-03-02", "10:00"), "open", "rule"),
    ("outside every rule", None, ams("2026-03-02", "18:00"), "closed", "no rule"),
    ("weekend", None, ams("2026-03-07", "10:00"), "closed", "no rule"),
    ("holiday over an open rule", None, ams("2026-12-25", "10:00"), "holiday", "holiday"),
    ("holiday over closed hours", None, ams("2026-12-25", "20:00"), "holiday", "holiday"),
    ("night switch on in open hours", CLOSED, ams("2026-03-02", "10:00"), "closed", "override"),
    ("night switch off in closed hours", OPEN, ams("2026-03-02", "20:00"), "open", "override"),
    ("night switch on over a holiday", CLOSED, ams("2026-12-25", "10:00"), "closed", "override"),
    ("night switch off over a holiday", OPEN, ams("2026-12-25", "10:00"), "open", "override"),
    (
        "expired override: the rules again",
        Override("closed", until=ams("2026-03-02", "09:00")),
        ams("2026-03-02", "10:00"),
        "open",
        "rule",
    ),
    (
        "expired override: the holiday again",
        Override("open", until=ams("2026-12-24", "09:00")),
        ams("2026-12-25", "10:00"),
        "holiday",
        "holiday",
    ),
]


@pytest.mark.parametrize(
    ("override", "at", "state", "cause"),
    [case[1:] for case in PRECEDENCE],
    ids=[case[0] for case in PRECEDENCE],
)
def test_precedence(override: Override | None, at: datetime, state: str, cause: str) -> None:
    got = state_at(OFFICE, override, at)
    assert (got.state, got.cause) == (state, cause)


# ---- state and next change -------------------------------------------------------

NIGHT = schedule("mon 22:00-24:00", "tue 00:00-06:00")
WEEKEND = schedule("sat,sun all day")
XMAS = schedule("mon-fri 08:00-17:00", holidays=("2026-12-24..2026-12-27",))
NEW_YEAR = schedule("mon-fri 08:00-17:00", holidays=("2026-12-31 18:00..2027-01-01 08:00",))
TOUCHING = schedule("mon 08:00-12:00", "mon 12:00-17:00")
SPRING = schedule("sun 08:00-17:00")
# 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC).
SKIPPED_START = schedule("sun 02:30-05:00")
SKIPPED_END = schedule("sun 00:00-02:30")
WHOLLY_SKIPPED = schedule("sun 02:00-02:30")
# 25 October 2026: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:00-03:00 happens twice.
REPEATED_START = schedule("sun 02:30-04:00")
REPEATED_END = schedule("sun 00:00-02:30")

STATES = [
    # Boundaries are half-open: open at the start, closed at the end.
    ("at the start", OFFICE, ams("2026-03-02", "08:00"), "open", ams("2026-03-02", "17:00")),
    (
        "just before the end",
        OFFICE,
        ams("2026-03-02", "16:59:59.999999"),
        "open",
        ams("2026-03-02", "17:00"),
    ),
    ("at the end", OFFICE, ams("2026-03-02", "17:00"), "closed", ams("2026-03-03", "08:00")),
    ("before dawn", OFFICE, ams("2026-03-03", "00:00"), "closed", ams("2026-03-03", "08:00")),
    # Across the weekend: Friday's close to Monday's open.
    ("friday evening", OFFICE, ams("2026-03-06", "17:00"), "closed", ams("2026-03-09", "08:00")),
    ("sunday", OFFICE, ams("2026-03-08", "23:59"), "closed", ams("2026-03-09", "08:00")),
    # A rule ending at 24:00 and one starting at 00:00 the next day are one period.
    ("until 24:00", NIGHT, ams("2026-03-02", "23:00"), "open", ams("2026-03-03", "06:00")),
    ("after midnight", NIGHT, ams("2026-03-03", "00:00"), "open", ams("2026-03-03", "06:00")),
    ("night over", NIGHT, ams("2026-03-03", "06:00"), "closed", ams("2026-03-09", "22:00")),
    ("touching rules", TOUCHING, ams("2026-03-02", "09:00"), "open", ams("2026-03-02", "17:00")),
    ("all day", WEEKEND, ams("2026-03-07", "10:00"), "open", ams("2026-03-09", "00:00")),
    ("not all day", WEEKEND, ams("2026-03-06", "23:00"), "closed", ams("2026-03-07", "00:00")),
    # Across a holiday: closed, then the holiday, then closed or open again.
    ("eve of holidays", XMAS, ams("2026-12-23", "17:00"), "closed", ams("2026-12-24", "00:00")),
    ("holidays begin", XMAS, ams("2026-12-24", "00:00"), "holiday", ams("2026-12-28", "00:00")),
    ("holidays last", XMAS, ams("2026-12-27", "23:59"), "holiday", ams("2026-12-28", "00:00")),
    ("holidays over", XMAS, ams("2026-12-28", "00:00"), "closed", ams("2026-12-28", "08:00")),
    (
        "holiday cuts a rule short",
        XMAS,
        ams("2026-12-23", "16:00"),
        "open",
        ams("2026-12-23", "17:00"),
    ),
    # A date-time holiday crossing midnight.
    ("new year's eve", NEW_YEAR, ams("2026-12-31", "17:30"), "closed", ams("2026-12-31", "18:00")),
    ("night begins", NEW_YEAR, ams("2026-12-31", "18:00"), "holiday", ams("2027-01-01", "08:00")),
    ("midnight", NEW_YEAR, ams("2027-01-01", "00:00"), "holiday", ams("2027-01-01", "08:00")),
    ("morning after", NEW_YEAR, ams("2027-01-01", "08:00"), "open", ams("2027-01-01", "17:00")),
    # The clocks go forward: wall-clock hours hold.
    ("spring morning", SPRING, ams("2026-03-29", "07:59"), "closed", utc("2026-03-29", "06:00")),
    ("spring day", SPRING, ams("2026-03-29", "08:00"), "open", utc("2026-03-29", "15:00")),
    (
        "skipped start",
        SKIPPED_START,
        utc("2026-03-29", "00:59"),
        "closed",
        utc("2026-03-29", "01:00"),
    ),
    (
        "opens at the jump",
        SKIPPED_START,
        utc("2026-03-29", "01:00"),
        "open",
        utc("2026-03-29", "03:00"),
    ),
    ("skipped end", SKIPPED_END, utc("2026-03-29", "00:59"), "open", utc("2026-03-29", "01:00")),
    ("closes at the jump", SKIPPED_END, utc("2026-03-29", "01:00"), "closed", ams("2026-04-05")),
    (
        "wholly skipped: not open that day",
        WHOLLY_SKIPPED,
        utc("2026-03-28", "12:00"),
        "closed",
        ams("2026-04-05", "02:00"),
    ),
    # The clocks go back: each wall time is its first pass.
    ("autumn day", SPRING, ams("2026-10-25", "08:00"), "open", utc("2026-10-25", "16:00")),
    (
        "repeated start: first pass",
        REPEATED_START,
        ams("2026-10-25", "02:30"),
        "open",
        ams("2026-10-25", "04:00"),
    ),
    (
        "repeated start: open through the repeat",
        REPEATED_START,
        ams("2026-10-25", "02:15", fold=1),
        "open",
        ams("2026-10-25", "04:00"),
    ),
    (
        "repeated end: first pass",
        REPEATED_END,
        ams("2026-10-25", "02:29"),
        "open",
        utc("2026-10-25", "00:30"),
    ),
    (
        "repeated end: closed through the repeat",
        REPEATED_END,
        ams("2026-10-25", "02:15", fold=1),
        "closed",
        ams("2026-11-01"),
    ),
]


@pytest.mark.parametrize(
    ("sched", "at", "state", "next_change"),
    [case[1:] for case in STATES],
    ids=[case[0] for case in STATES],
)
def test_state_and_next_change(
    sched: Schedule, at: datetime, state: str, next_change: datetime
) -> None:
    got = state_at(sched, None, at)
    assert got.state == state
    assert got.next_change == next_change
    assert got.next_change is not None and got.next_change.tzinfo is UTC


def test_a_rule_means_local_time_on_the_days_clocks_change() -> None:
    # 08:00-17:00 is nine hours of wall-clock time whatever the UTC offset that day.
    sched = schedule("sat,sun 08:00-17:00")
    for day, offset in (("2026-03-28", 1), ("2026-03-29", 2), ("2026-10-24", 2), ("2026-10-25", 1)):
        opens = state_at(sched, None, ams(day, "07:00")).next_change
        closes = state_at(sched, None, ams(day, "08:00")).next_change
        assert (opens, closes) == (utc(day, f"{8 - offset:02d}:00"), utc(day, f"{17 - offset}:00"))


def test_no_rules_is_always_closed() -> None:
    got = state_at(schedule(), None, ams("2026-03-02", "10:00"))
    assert got == ScheduleState("closed", "no rule", None)


def test_no_rules_but_a_holiday_ahead() -> None:
    got = state_at(schedule(holidays=("2026-12-25",)), None, ams("2026-03-02", "10:00"))
    assert got == ScheduleState("closed", "no rule", ams("2026-12-25"))


def test_always_open_changes_never() -> None:
    got = state_at(schedule("mon-sun all day"), None, ams("2026-03-29", "02:30"))
    assert got == ScheduleState("open", "rule", None)


@pytest.mark.parametrize(
    ("sched", "at", "expected"),
    [
        # Every minute of the week, in pieces.
        (
            schedule("mon-sun 00:00-12:00", "mon-sun 12:00-24:00"),
            ams("2026-03-02"),
            ScheduleState("open", "rule", None),
        ),
        # One minute short on Sundays.
        (
            schedule("mon-sat all day", "sun 00:00-23:59"),
            ams("2026-03-02"),
            ScheduleState("open", "rule", ams("2026-03-08", "23:59")),
        ),
        # Short of the skipped hour only: open through the spring night, not the next Sunday's.
        (
            schedule("mon-sat all day", "sun 00:00-02:00", "sun 03:00-24:00"),
            ams("2026-03-28", "12:00"),
            ScheduleState("open", "rule", ams("2026-04-05", "02:00")),
        ),
    ],
)
def test_open_around_the_clock(sched: Schedule, at: datetime, expected: ScheduleState) -> None:
    assert state_at(sched, None, at) == expected


def test_a_change_beyond_the_horizon_is_not_given() -> None:
    at = ams("2026-03-02", "10:00")
    far = (at + HORIZON + timedelta(days=2)).date().isoformat()
    near = (at + HORIZON - timedelta(days=2)).date().isoformat()
    assert state_at(schedule(holidays=(far,)), None, at).next_change is None
    assert state_at(schedule(holidays=(near,)), None, at).next_change == ams(near)


def test_a_long_holiday_ends_beyond_the_horizon() -> None:
    got = state_at(schedule(holidays=("2026-01-01..2027-12-31",)), None, ams("2026-03-02"))
    assert got == ScheduleState("holiday", "holiday", None)


def test_touching_holidays_are_one() -> None:
    sched = schedule(holidays=("2026-12-24 12:00..2026-12-25 00:00", "2026-12-25..2026-12-26"))
    got = state_at(sched, None, ams("2026-12-24", "13:00"))
    assert got == ScheduleState("holiday", "holiday", ams("2026-12-27"))


# ---- the night switch ------------------------------------------------------------

UNTIL = ams("2026-03-02", "12:00")


@pytest.mark.parametrize(
    ("override", "at", "expected"),
    [
        (
            Override("closed", UNTIL),
            ams("2026-03-02", "10:00"),
            ScheduleState("closed", "override", UNTIL),
        ),
        (
            Override("closed", UNTIL),
            ams("2026-03-02", "11:59:59"),
            ScheduleState("closed", "override", UNTIL),
        ),
        # The schedule again from `until` on.
        (
            Override("closed", UNTIL),
            UNTIL,
            ScheduleState("open", "rule", ams("2026-03-02", "17:00")),
        ),
        # The end of an override counts as a change even when the state stays.
        (
            Override("open", UNTIL),
            ams("2026-03-02", "10:00"),
            ScheduleState("open", "override", UNTIL),
        ),
        (
            Override("open", UNTIL),
            ams("2026-03-02", "12:30"),
            ScheduleState("open", "rule", ams("2026-03-02", "17:00")),
        ),
        # Without an end it lasts, and its state never changes on its own.
        (Override("closed"), ams("2026-03-02", "10:00"), ScheduleState("closed", "override", None)),
        (Override("open"), ams("2026-12-25", "10:00"), ScheduleState("open", "override", None)),
        # An end beyond the horizon is still given: it is known, not searched for.
        (
            Override("closed", ams("2028-01-01")),
            ams("2026-03-02"),
            ScheduleState("closed", "override", ams("2028-01-01")),
        ),
    ],
)
def test_night_switch(override: Override, at: datetime, expected: ScheduleState) -> None:
    got = state_at(OFFICE, override, at)
    assert got == expected
    assert got.next_change is None or got.next_change.tzinfo is UTC


def test_the_instant_may_be_in_any_zone() -> None:
    at = ams("2026-03-02", "10:00")
    assert state_at(OFFICE, None, at) == state_at(OFFICE, None, at.astimezone(UTC))


def test_the_schedule_zone_decides_the_wall_clock() -> None:
    # 08:00 in London is 09:00 in Amsterdam.
    london = schedule("mon-fri 08:00-17:00", zone="Europe/London")
    assert state_at(london, None, ams("2026-03-02", "08:30")).state == "closed"
    assert state_at(london, None, ams("2026-03-02", "09:00")).state == "open"


@pytest.mark.parametrize("naive", [datetime(2026, 3, 2, 10)])
def test_a_naive_instant_is_refused(naive: datetime) -> None:
    with pytest.raises(ValueError, match="time zone"):
        state_at(OFFICE, None, naive)
    with pytest.raises(ValueError, match="time zone"):
        Override("closed", naive)


def test_an_override_is_open_or_closed() -> None:
    with pytest.raises(ValueError, match="open or closed"):
        Override("holiday")  # type: ignore[arg-type]


def test_state_at_trusts_its_schedule() -> None:
    # Overlapping rules act as one; an inverted rule or holiday covers nothing.
    overlapping = Schedule(
        "x",
        "Europe/Amsterdam",
        (WeeklyRule(WEEKDAYS, time(8), time(12)), WeeklyRule(WEEKDAYS, time(10), time(17))),
    )
    got = state_at(overlapping, None, ams("2026-03-02", "09:00"))
    assert got == ScheduleState("open", "rule", ams("2026-03-02", "17:00"))
    inverted = Schedule(
        "x",
        "Europe/Amsterdam",
        (WeeklyRule(WEEKDAYS, time(17), time(8)),),
        (Holiday("", date(2026, 3, 3), date(2026, 3, 1)),),
    )
    assert state_at(inverted, None, ams("2026-03-02", "10:00")) == ScheduleState(
        "closed", "no rule", None
    )


# ---- what admins type ------------------------------------------------------------

ALL_WEEK = frozenset(range(7))


@pytest.mark.parametrize(
    ("text", "rule", "canonical"),
    [
        ("mon-fri 08:00-17:00", WeeklyRule(WEEKDAYS, time(8), time(17)), None),
        ("sat 10:00-14:00", WeeklyRule(frozenset({5}), time(10), time(14)), None),
        ("sun all day", WeeklyRule(frozenset({6})), None),
        ("mon,wed,fri 09:00-12:30", WeeklyRule(frozenset({0, 2, 4}), time(9), time(12, 30)), None),
        (
            " Mon - Fri  8:00 - 17:00 ",
            WeeklyRule(WEEKDAYS, time(8), time(17)),
            "mon-fri 08:00-17:00",
        ),
        ("Monday, Tuesday ALL  DAY", WeeklyRule(frozenset({0, 1})), "mon,tue all day"),
        # A range wraps round the weekend.
        (
            "fri-mon 22:00-24:00",
            WeeklyRule(frozenset({4, 5, 6, 0}), time(22)),
            "mon,fri-sun 22:00-24:00",
        ),
        ("sun-sat all day", WeeklyRule(ALL_WEEK), "mon-sun all day"),
        # 00:00 is the start of the day, 24:00 its end: together, all day.
        ("mon 00:00-08:00", WeeklyRule(frozenset({0}), None, time(8)), None),
        ("mon 00:00-24:00", WeeklyRule(frozenset({0})), "mon all day"),
        (
            "mon,mon,tue 10:00-11:00",
            WeeklyRule(frozenset({0, 1}), time(10), time(11)),
            "mon,tue 10:00-11:00",
        ),
    ],
)
def test_parse_rule(text: str, rule: WeeklyRule, canonical: str | None) -> None:
    assert parse_rule(text) == rule
    assert format_rule(rule) == (canonical or text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is not a rule"),
        ("mon", "is not a rule"),
        ("mon 08:00", "is not a rule"),
        ("mon all days", "is not a rule"),
        ("08:00-17:00", "is not a rule"),
        ("mon 8-17", "is not a rule"),
        ("mon \u0660\u0668:00-17:00", "is not a rule"),
        ("xyz 08:00-17:00", "'xyz' is not a day"),
        ("mon,,tue 08:00-17:00", "'' is not a day"),
        ("mon-fri-sun 08:00-17:00", "'fri-sun' is not a day"),
        ("mon 17:00-08:00", "ends at 08:00, not after its start at 17:00"),
        ("mon 08:00-08:00", "not after its start"),
        ("mon 22:00-00:00", "write 24:00 for midnight"),
        ("mon 24:00-24:00", "not a time from 00:00 to 23:59"),
        ("mon 08:60-09:00", "not a time"),
        ("mon 08:00-24:30", "not a time from 00:00 to 24:00"),
        ("mon 08:00-17:00\n", "control characters"),
        ("mon " + "," * 300 + " all day", "at most 200 characters"),
    ],
)
def test_parse_rule_refuses(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rule(text, field="rules[3]")
    assert caught.value.field == "rules[3]"
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("text", "holiday", "canonical"),
    [
        ("2026-12-25", Holiday("", date(2026, 12, 25), date(2026, 12, 25)), None),
        (
            "Christmas=2026-12-25..2026-12-26",
            Holiday("Christmas", date(2026, 12, 25), date(2026, 12, 26)),
            None,
        ),
        (
            "2026-12-24 12:00..2026-12-27",
            Holiday("", datetime(2026, 12, 24, 12), date(2026, 12, 27)),
            None,
        ),
        (
            "2026-12-31 18:00..2027-01-01 08:00",
            Holiday("", datetime(2026, 12, 31, 18), datetime(2027, 1, 1, 8)),
            None,
        ),
        (
            "2026-12-24..2026-12-25 12:00",
            Holiday("", date(2026, 12, 24), datetime(2026, 12, 25, 12)),
            None,
        ),
        # From a time to the end of that day.
        (
            "2026-12-24T12:00",
            Holiday("", datetime(2026, 12, 24, 12), date(2026, 12, 24)),
            "2026-12-24 12:00..2026-12-24",
        ),
        (
            " Boxing Day = 2026-12-26 .. 2026-12-26 ",
            Holiday("Boxing Day", date(2026, 12, 26), date(2026, 12, 26)),
            "Boxing Day=2026-12-26",
        ),
        # The period has no "=": the name is everything before the last one.
        ("a=b=2026-12-25", Holiday("a=b", date(2026, 12, 25), date(2026, 12, 25)), None),
        (
            "Kerstmis \u2603=2026-12-25",
            Holiday("Kerstmis \u2603", date(2026, 12, 25), date(2026, 12, 25)),
            None,
        ),
    ],
)
def test_parse_holiday(text: str, holiday: Holiday, canonical: str | None) -> None:
    assert parse_holiday(text) == holiday
    assert format_holiday(holiday) == (canonical or text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is not a holiday"),
        ("Christmas", "is not a holiday"),
        ("2026-12-25..", "is not a holiday"),
        ("25-12-2026", "is not a holiday"),
        ("=2026-12-25", "the name before = is empty"),
        ("2026-02-30", "'2026-02-30' is not a date"),
        ("2026-12-25 25:00", "not a time"),
        ("2026-12-25..2026-12-26 24:00", "not a time"),
        ("2026-12-27..2026-12-24", "ends (2026-12-24) before it starts (2026-12-27)"),
        ("2026-12-24 12:00..2026-12-24 12:00", "before it starts"),
        ("2026-12-24 12:00..2026-12-24 11:00", "before it starts"),
        ("2026-12-25 12:00..2026-12-24", "before it starts"),
        ("2026-12-25..2026-12-25 00:00", "before it starts"),
        ("1999-12-25", "years run from 2000 to 2999"),
        ("x" * 65 + "=2026-12-25", "at most 64 characters"),
        ("Xmas\t=2026-12-25", "control characters"),
    ],
)
def test_parse_holiday_refuses(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_holiday(text, field="holidays[0]")
    assert caught.value.field == "holidays[0]"
    assert message in caught.value.message


def test_a_start_at_midnight_is_the_start_of_the_day() -> None:
    assert WeeklyRule(WEEKDAYS, time(0), time(8)) == WeeklyRule(WEEKDAYS, None, time(8))


def rules(*texts: str) -> tuple[WeeklyRule, ...]:
    return tuple(parse_rule(t) for t in texts)


AUGUST = Holiday("", date(2026, 8, 1), date(2026, 8, 14))


@pytest.mark.parametrize(
    ("sched", "field", "message"),
    [
        (Schedule("", "Europe/Amsterdam"), "name", "1 to 64 characters"),
        (Schedule(" office", "Europe/Amsterdam"), "name", "surrounding spaces"),
        (Schedule("o\nffice", "Europe/Amsterdam"), "name", "control characters"),
        (Schedule("office", "Mars/Olympus_Mons"), "timezone", "unknown time zone"),
        (Schedule("office", ""), "timezone", "unknown time zone"),
        (Schedule("office", "../etc/passwd"), "timezone", "unknown time zone"),
        (Schedule("office", "europe/amsterdam"), "timezone", "unknown time zone"),
        # A zone that follows the host's setting, or counts leap seconds, names no place.
        (Schedule("office", "localtime"), "timezone", "not a place's time zone"),
        (Schedule("office", "right/UTC"), "timezone", "not a place's time zone"),
        (
            Schedule("office", "UTC", rules("mon-fri 08:00-12:00", "mon 11:00-13:00")),
            "rules[1]",
            "overlaps rules[0] on Monday (mon 11:00-13:00; mon-fri 08:00-12:00)",
        ),
        (
            Schedule(
                "office", "UTC", rules("sun 08:00-09:00", "sat all day", "fri,sat 23:00-24:00")
            ),
            "rules[2]",
            "overlaps rules[1] on Saturday",
        ),
        (
            Schedule("office", "UTC", rules("tue 08:00-12:00", "tue 08:00-12:00")),
            "rules[1]",
            "overlaps rules[0] on Tuesday",
        ),
        (
            Schedule("office", "UTC", (WeeklyRule(frozenset()),)),
            "rules[0]",
            "at least one day",
        ),
        (
            Schedule("office", "UTC", (WeeklyRule(frozenset({7})),)),
            "rules[0]",
            "0 (Monday) to 6 (Sunday)",
        ),
        (
            Schedule(
                "office", "UTC", (*rules("mon all day"), WeeklyRule(WEEKDAYS, time(17), time(8)))
            ),
            "rules[1]",
            "not after its start",
        ),
        (
            Schedule("office", "UTC", (WeeklyRule(WEEKDAYS, time(8), time(17, 0, 30)),)),
            "rules[0]",
            "whole minutes",
        ),
        (
            Schedule("office", "UTC", (WeeklyRule(WEEKDAYS, time(8, tzinfo=UTC)),)),
            "rules[0]",
            "no zone",
        ),
        (
            Schedule("office", "UTC", rules(*["mon 08:00-09:00"] * (MAX_RULES + 1))),
            "rules",
            f"at most {MAX_RULES} rules",
        ),
        (
            Schedule(
                "office", "UTC", (), (AUGUST, Holiday("", date(2026, 12, 27), date(2026, 12, 24)))
            ),
            "holidays[1]",
            "ends (2026-12-24) before it starts (2026-12-27)",
        ),
        (
            Schedule(
                "office",
                "UTC",
                (),
                (Holiday("", datetime(2026, 12, 24, 12, tzinfo=UTC), date(2026, 12, 24)),),
            ),
            "holidays[0]",
            "no zone",
        ),
    ],
)
def test_check_schedule_refuses(sched: Schedule, field: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_schedule(sched)
    assert caught.value.field == field
    assert message in caught.value.message


@pytest.mark.parametrize(
    "sched",
    [
        OFFICE,
        Schedule("office", "UTC"),
        # Touching is not overlapping: the same hours on other days neither.
        Schedule("night", "Europe/Amsterdam", rules("mon 08:00-12:00", "mon 12:00-17:00")),
        Schedule(
            "shifts",
            "Europe/Amsterdam",
            rules("mon 22:00-24:00", "tue 00:00-06:00", "tue 22:00-24:00"),
        ),
        Schedule(
            "split", "America/Santiago", rules("sat all day", "sun all day"), (AUGUST, AUGUST)
        ),
    ],
)
def test_check_schedule_accepts(sched: Schedule) -> None:
    assert check_schedule(sched) is sched


def test_state_at_names_an_unknown_zone() -> None:
    with pytest.raises(InvalidInput) as caught:
        state_at(Schedule("office", "Mars/Olympus_Mons"), None, ams("2026-03-02"))
    assert caught.value.field == "timezone"


def test_check_override() -> None:
    now = ams("2026-03-02", "10:00")
    for override in (Override("closed"), Override("open", now + timedelta(minutes=1))):
        assert check_override(override, now) is override
    for until in (now, now - timedelta(hours=1)):
        with pytest.raises(InvalidInput) as caught:
            check_override(Override("closed", until), now)
        assert caught.value.field == "until"


# ---- properties ------------------------------------------------------------------

PROPERTY = settings(
    max_examples=examples(200),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# The tenants' zones, and some whose clocks change differently: at midnight (Santiago),
# by half an hour (Lord Howe).
ZONE_NAMES = sorted(
    {z.iana for z in ZONES} | {"America/New_York", "America/Santiago", "Australia/Lord_Howe"}
)
DAY_MINUTES = 24 * 60
# Quarter hours meet the clock changes and each other more often than any minute.
minutes = st.one_of(st.integers(0, 96).map(lambda q: q * 15), st.integers(0, DAY_MINUTES))
days = st.frozensets(st.integers(0, 6), min_size=1)


def wall(minute: int) -> time | None:
    return None if minute == DAY_MINUTES else time(minute // 60, minute % 60)


@st.composite
def single_rules(draw: st.DrawFn) -> WeeklyRule:
    start, end = sorted(draw(st.sets(minutes, min_size=2, max_size=2)))
    return WeeklyRule(draw(days), wall(start), wall(end))


@st.composite
def rule_sets(draw: st.DrawFn) -> tuple[WeeklyRule, ...]:
    """Rules that do not overlap: each takes one of the periods between sorted cut points,
    so neighbours may touch, within a day and across midnight."""
    cuts = sorted(draw(st.sets(minutes, max_size=6)))
    out = []
    for start, end in pairwise(cuts):
        chosen = draw(st.frozensets(st.integers(0, 6)))
        if chosen:
            out.append(WeeklyRule(chosen, wall(start), wall(end)))
    return tuple(out)


names = st.text(max_size=20).map(str.strip).filter(str.isprintable)


@st.composite
def holidays(draw: st.DrawFn) -> Holiday:
    first = draw(st.dates(date(2026, 1, 1), date(2027, 12, 31)))
    last = first + timedelta(days=draw(st.integers(0, 4)))
    start: date | datetime = first
    end: date | datetime = last
    if draw(st.booleans()):
        start = datetime.combine(first, wall(draw(minutes)) or time(0))
    if draw(st.booleans()):
        end = datetime.combine(last, wall(draw(minutes)) or time(0))
    holiday = Holiday(draw(names), start, end)
    try:
        return check_holiday(holiday)
    except InvalidInput:
        # Too short to be valid: make it the whole day.
        return Holiday(holiday.name, first, last)


# Near the clock changes of 2026 (a day either side), or anywhere in two years.
CHANGES = [
    utc("2026-03-29", "01:00"),  # Europe
    utc("2026-10-25", "01:00"),
    utc("2026-03-08", "07:00"),  # New York
    utc("2026-04-05", "03:00"),  # Santiago, Sunday 00:00 back to Saturday 23:00
    utc("2026-09-06", "04:00"),  # Santiago, Sunday 00:00 forward to 01:00
    utc("2026-04-04", "15:00"),  # Lord Howe, half an hour
]
instants = st.one_of(
    st.builds(
        lambda base, minute: base + timedelta(minutes=minute),
        st.sampled_from(CHANGES),
        st.integers(-24 * 60, 24 * 60),
    ),
    st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC)),
)


@st.composite
def overrides(draw: st.DrawFn, at: datetime) -> Override | None:
    kind = draw(st.sampled_from(["none", "lasting", "until"]))
    if kind == "none":
        return None
    state: OverrideState = draw(st.sampled_from(["open", "closed"]))
    if kind == "lasting":
        return Override(state)
    return Override(state, at + timedelta(minutes=draw(st.integers(-600, 6000))))


@st.composite
def situations(draw: st.DrawFn) -> tuple[Schedule, Override | None, datetime]:
    sched = Schedule(
        "prop",
        draw(st.sampled_from(ZONE_NAMES)),
        draw(rule_sets()),
        tuple(draw(st.lists(holidays(), max_size=3))),
    )
    at = draw(instants)
    return check_schedule(sched), draw(overrides(at)), at


@PROPERTY
@given(situations(), st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=4))
def test_the_state_holds_until_the_next_change(
    situation: tuple[Schedule, Override | None, datetime], fractions: list[float]
) -> None:
    sched, override, at = situation
    got = state_at(sched, override, at)
    end = got.next_change or at + HORIZON
    assert end > at
    last = end - timedelta(microseconds=1)
    # min(): a timedelta times a float rounds, up to ``end`` itself.
    for point in [min(at + (end - at) * f, last) for f in fractions] + [last]:
        there = state_at(sched, override, point)
        assert (there.state, there.cause) == (got.state, got.cause), point
        if got.next_change is not None:
            assert there.next_change == got.next_change, point
    if got.next_change is not None:
        after = state_at(sched, override, got.next_change)
        assert (after.state, after.cause) != (got.state, got.cause)


@PROPERTY
@given(st.sampled_from(ZONE_NAMES), rule_sets(), instants)
def test_away_from_clock_changes_a_rule_is_the_wall_clock(
    zone_name: str, rules_: tuple[WeeklyRule, ...], at: datetime
) -> None:
    zone = ZoneInfo(zone_name)
    offsets = {(at + timedelta(hours=h)).astimezone(zone).utcoffset() for h in (-30, 0, 30)}
    local = at.astimezone(zone)
    # Only where the clock kept its offset from the day before to the day after.
    if len(offsets) == 1:
        minute = local.hour * 60 + local.minute
        inside = any(
            local.weekday() in r.days
            and (r.start or time(0)) <= local.time().replace(tzinfo=None)
            and minute < (DAY_MINUTES if r.end is None else r.end.hour * 60 + r.end.minute)
            for r in rules_
        )
        got = state_at(Schedule("prop", zone_name, rules_), None, at)
        assert got.state == ("open" if inside else "closed")


@PROPERTY
@given(single_rules())
def test_rules_round_trip(rule: WeeklyRule) -> None:
    assert parse_rule(format_rule(rule)) == rule


@PROPERTY
@given(holidays())
def test_holidays_round_trip(holiday: Holiday) -> None:
    assert parse_holiday(format_holiday(holiday)) == holiday


def test_an_override_ends_by_the_clock_not_the_wall_clock() -> None:
    # 02:45 summer time comes before the second 02:30, in winter time, that night.
    until = ams("2026-10-25", "02:30", fold=1)
    at = ams("2026-10-25", "02:45")
    assert at.astimezone(UTC) < until.astimezone(UTC)
    assert Override("closed", until).active_at(at)
    assert check_override(Override("closed", until), at).until == until
    assert state_at(OFFICE, Override("closed", until), at).cause == "override"
