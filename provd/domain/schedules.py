"""Time schedules: the one place where provd decides whether a tenant is open.

A :class:`Schedule` holds weekly rules (when the tenant is open) and a holiday table,
both in one time zone; an :class:`Override` is the night switch set by hand.
:func:`state_at` says, for an instant, which state applies, why, and when that next
changes. Routing picks a destination per state; the console shows state and next change.

Rules
-----
* **Precedence**: a manual override beats a holiday, which beats the weekly rules; at a
  time no rule covers the state is closed (``cause == "no rule"``). The night switch maps
  onto it: *on* is ``Override("closed")``, *off* is ``Override("open")``, *automatic* is no
  override. An override whose ``until`` has come is ignored, so a manual setting with an
  end time ends without anyone clearing it.
* **Weekly rules** are wall-clock times in the schedule's zone: 08:00-17:00 means 08:00 to
  17:00 local time every day, also on the days the clocks change. ``start=None`` is 00:00
  and ``end=None`` is 24:00 (the end of the day), so both None is all day. Periods are
  half-open: open at 08:00, closed at 17:00. A rule does not cross midnight: 22:00-06:00 is
  written ``mon 22:00-24:00`` and ``tue 00:00-06:00``, which touch and act as one period.
* **Clock changes**: a wall time stands for the first instant the clock shows it. A time in
  the hour skipped in spring (02:30 on 29 March 2026 in Amsterdam) is the instant the clock
  jumps past it (03:00 summer time); a time in the hour repeated in autumn is its first
  pass (summer time). So a rule from 02:30 opens at 03:00 that day, a rule until 02:30
  closes at the first 02:30 and stays closed through the repeat, a rule from 02:30 stays
  open through it, and a rule lying wholly in the skipped hour is not open that day.
  Nothing opens or closes twice in one day.
* **Holidays**: a date is a whole day, start and end dates included; a date-time is a
  wall-clock time in the schedule's zone (naive), the end excluded; the two mix:
  ``2026-12-24 12:00..2026-12-27`` runs from noon on the 24th to the end of the 27th.
* ``next_change`` is the first instant after ``at`` at which the state or its cause is
  different (the end of an override is one even when the schedule then gives the same
  state), in UTC; None when nothing changes within :data:`HORIZON`. An override's
  ``until`` is always given, however far.
* :func:`state_at` trusts its schedule (checked when stored, :func:`check_schedule`):
  overlapping rules act as one, an inverted rule or holiday covers nothing.

Text forms (``parse_*`` and ``format_*`` round-trip)
----------------------------------------------------
Rule: ``DAYS all day`` or ``DAYS HH:MM-HH:MM``; DAYS is a comma list of days (``mon`` …
``sun`` or the full name, any case) and ranges (``mon-fri``; ``fri-mon`` wraps round the
weekend); the end may be ``24:00``. ``mon-fri 08:00-17:00``, ``sun all day``,
``mon,wed,fri 09:00-12:30``.

Holiday: ``[NAME=]START[..END]``; START and END are ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM``.
Without END: that day, or from that time to the end of that day. ``2026-12-25``,
``Christmas=2026-12-24 12:00..2026-12-27``, ``2026-12-31 18:00..2027-01-01 08:00``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from provd.domain.errors import InvalidInput
from provd.domain.text import check_printable

State = Literal["open", "closed", "holiday"]
Cause = Literal["override", "holiday", "rule", "no rule"]
OverrideState = Literal["open", "closed"]

HORIZON = timedelta(days=400)
"""How far :func:`state_at` looks for the next change."""
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Index 0 is Monday, as :meth:`date.weekday`."""
MAX_NAME = 64
MAX_RULES = 100
MAX_HOLIDAYS = 500
MAX_TEXT = 200
MIN_YEAR, MAX_YEAR = 2000, 2999

_DAY = timedelta(days=1)
_MIDNIGHT = time(0)
_DAY_MINUTES = 24 * 60
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_INDEX = {n: i for names in (DAY_NAMES, _FULL_DAY_NAMES) for i, n in enumerate(names)}
# Zone keys that name no place: they follow the host's setting or count leap seconds.
_NOT_A_PLACE = frozenset({"localtime", "posixrules", "Factory"})


# ---- types -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    """Open on ``days`` (0 = Monday) from ``start`` (None: 00:00) to ``end`` (None: 24:00)."""

    days: frozenset[int]
    start: time | None = None
    end: time | None = None

    def __post_init__(self) -> None:
        # One value per rule: a start at 00:00 is the start of the day.
        if self.start == _MIDNIGHT:
            object.__setattr__(self, "start", None)


@dataclass(frozen=True, slots=True)
class Holiday:
    """Dates are whole days, both included; date-times are naive wall-clock times in the
    schedule's zone, ``end`` excluded."""

    name: str
    start: date | datetime
    end: date | datetime


@dataclass(frozen=True, slots=True)
class Override:
    """The night switch set by hand: ``closed`` is on, ``open`` is off, until ``until``."""

    state: OverrideState
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.state not in ("open", "closed"):
            raise ValueError(f"an override is open or closed, not {self.state!r}")
        if self.until is not None:
            _require_aware(self.until, "Override.until")

    def active_at(self, at: datetime) -> bool:
        # In UTC: datetimes sharing a zone compare by wall clock, wrong in a repeated hour.
        return self.until is None or at.astimezone(UTC) < self.until.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    timezone: str
    """An IANA zone; the rules' and holidays' wall-clock times are read in it."""
    rules: tuple[WeeklyRule, ...] = ()
    holidays: tuple[Holiday, ...] = ()


@dataclass(frozen=True, slots=True)
class ScheduleState:
    state: State
    cause: Cause
    next_change: datetime | None
    """UTC; None when nothing changes within :data:`HORIZON`."""


# ---- the decision ----------------------------------------------------------------


def state_at(schedule: Schedule, override: Override | None, at: datetime) -> ScheduleState:
    """The schedule's state at ``at`` (timezone-aware), why, and when it next changes."""
    _require_aware(at, "at")
    now = at.astimezone(UTC)
    if override is not None and override.active_at(now):
        until = None if override.until is None else override.until.astimezone(UTC)
        return ScheduleState(override.state, "override", until)
    zone = schedule_zone(schedule.timezone)
    limit = now + HORIZON
    holidays = sorted(
        span for h in schedule.holidays if (span := _holiday_span(h, zone))[0] < span[1]
    )
    holiday_end = _end_of_cover(holidays, now)
    if holiday_end is not None:
        return ScheduleState("holiday", "holiday", holiday_end if holiday_end <= limit else None)
    is_open, rule_change = _rule_scan(schedule.rules, zone, now, limit)
    # Sorted by start: the first one after now is the next to begin.
    holiday_start = next((start for start, _ in holidays if start > now), None)
    changes = [t for t in (rule_change, holiday_start) if t is not None and t <= limit]
    next_change = min(changes, default=None)
    if is_open:
        return ScheduleState("open", "rule", next_change)
    return ScheduleState("closed", "no rule", next_change)


def schedule_zone(name: str, *, field: str = "timezone") -> ZoneInfo:
    """The IANA zone ``name``, or :class:`InvalidInput` naming ``field``."""
    if name in _NOT_A_PLACE or name.startswith(("posix/", "right/")):
        raise InvalidInput(field, f"{name!r} is not a place's time zone (Europe/Amsterdam)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(field, f"unknown time zone {name!r} (Europe/Amsterdam)") from None


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must carry its time zone")


Span = tuple[datetime, datetime]


def _first_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the clock in ``zone`` shows ``wall`` on ``day``, or
    the instant it jumps past it."""
    local = datetime.combine(day, wall)
    # fold=0 is the first pass of a repeated time.
    instant = local.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local:
        return instant
    # In a gap, fold=0 reads the time with the offset from before the jump (an instant
    # after it) and fold=1 with the offset from after (an instant before it): the jump
    # lies between, found to the second (zones change on whole seconds).
    before = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = 0, int((instant - before).total_seconds())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if (before + timedelta(seconds=mid)).astimezone(zone).replace(tzinfo=None) >= local:
            hi = mid
        else:
            lo = mid
    return before + timedelta(seconds=hi)


def _wall_bound(value: date | datetime, *, end: bool) -> tuple[date, time]:
    """A holiday bound as a wall-clock day and time; an end date includes its day."""
    if isinstance(value, datetime):
        return value.date(), value.time()
    return (value + _DAY if end else value), _MIDNIGHT


def _holiday_span(holiday: Holiday, zone: ZoneInfo) -> Span:
    start = _first_instant(*_wall_bound(holiday.start, end=False), zone)
    return start, _first_instant(*_wall_bound(holiday.end, end=True), zone)


def _end_of_cover(spans: Sequence[Span], at: datetime) -> datetime | None:
    """Where the spans (sorted by start) that cover ``at``, and those touching them, end;
    None when none covers it."""
    reach, covered = at, False
    for start, end in spans:
        if start > reach:
            break
        if end > reach:
            reach, covered = end, True
    return reach if covered else None


def _rule_spans(
    rules: Sequence[WeeklyRule], zone: ZoneInfo, first: date, last: date
) -> Iterator[Span]:
    """The rules' open periods from day ``first`` to ``last``, sorted by start (a day's
    periods lie between its midnight and the next)."""
    day = first
    while day <= last:
        spans = []
        for rule in rules:
            if day.weekday() in rule.days:
                start = _first_instant(day, rule.start or _MIDNIGHT, zone)
                if rule.end is None:
                    end = _first_instant(day + _DAY, _MIDNIGHT, zone)
                else:
                    end = _first_instant(day, rule.end, zone)
                if start < end:
                    spans.append((start, end))
        yield from sorted(spans)
        day += _DAY


def _rule_scan(
    rules: Sequence[WeeklyRule], zone: ZoneInfo, now: datetime, limit: datetime
) -> tuple[bool, datetime | None]:
    """Whether a rule holds ``now`` open, and the first change after it up to ``limit``."""
    if not rules:
        return False, None
    if _always_open(rules):
        # Spared scanning the horizon day by day to find no change.
        return True, None
    # The day before: a clock set back at midnight can show yesterday after today began.
    first = now.astimezone(zone).date() - _DAY
    last = limit.astimezone(zone).date() + _DAY
    open_until: datetime | None = None
    for start, end in _rule_spans(rules, zone, first, last):
        if open_until is None:
            if end <= now:
                continue
            if start > now:
                return False, start if start <= limit else None
            open_until = end
        elif start > open_until:
            break
        else:
            open_until = max(open_until, end)
        if open_until > limit:
            return True, None
    return open_until is not None, open_until


# ---- validation ------------------------------------------------------------------


def check_rule(rule: WeeklyRule, *, field: str = "rule") -> WeeklyRule:
    if not rule.days:
        raise InvalidInput(field, "a rule needs at least one day")
    if not rule.days <= frozenset(range(7)):
        raise InvalidInput(field, "days are 0 (Monday) to 6 (Sunday)")
    for value in (rule.start, rule.end):
        if value is not None:
            _check_wall_time(value, field)
    if rule.end is not None and rule.end <= (rule.start or _MIDNIGHT):
        raise InvalidInput(
            field,
            f"ends at {_hhmm(rule.end)}, not after its start at {_hhmm(rule.start)}"
            " (a rule ends on its own day: write 24:00 for midnight, and split a night"
            " into two rules)",
        )
    return rule


def check_holiday(holiday: Holiday, *, field: str = "holiday") -> Holiday:
    name = check_printable(holiday.name, field=field, what="the name")
    if name != name.strip():
        raise InvalidInput(field, "the name must not start or end with spaces")
    if len(name) > MAX_NAME:
        raise InvalidInput(field, f"the name must be at most {MAX_NAME} characters")
    for value in (holiday.start, holiday.end):
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                raise InvalidInput(field, "times are the schedule's wall-clock times, no zone")
            _check_wall_time(value.time(), field)
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise InvalidInput(field, f"years run from {MIN_YEAR} to {MAX_YEAR}")
    start = datetime.combine(*_wall_bound(holiday.start, end=False))
    end = datetime.combine(*_wall_bound(holiday.end, end=True))
    if end <= start:
        raise InvalidInput(
            field,
            f"ends ({_format_bound(holiday.end)}) before it starts"
            f" ({_format_bound(holiday.start)})",
        )
    return holiday


def check_schedule(schedule: Schedule) -> Schedule:
    """``schedule`` itself when it can be stored; else :class:`InvalidInput` naming the
    field: ``name``, ``timezone``, ``rules[i]`` or ``holidays[i]`` (from 0)."""
    name = check_printable(schedule.name, field="name")
    if not name or name != name.strip() or len(name) > MAX_NAME:
        raise InvalidInput(
            "name", f"give a name of 1 to {MAX_NAME} characters, without surrounding spaces"
        )
    schedule_zone(schedule.timezone)
    if len(schedule.rules) > MAX_RULES:
        raise InvalidInput("rules", f"at most {MAX_RULES} rules")
    if len(schedule.holidays) > MAX_HOLIDAYS:
        raise InvalidInput("holidays", f"at most {MAX_HOLIDAYS} holidays")
    for j, rule in enumerate(schedule.rules):
        check_rule(rule, field=f"rules[{j}]")
        start, end = _minutes(rule)
        for i, earlier in enumerate(schedule.rules[:j]):
            shared = rule.days & earlier.days
            earlier_start, earlier_end = _minutes(earlier)
            if shared and max(start, earlier_start) < min(end, earlier_end):
                day = _FULL_DAY_NAMES[min(shared)].capitalize()
                raise InvalidInput(
                    f"rules[{j}]",
                    f"overlaps rules[{i}] on {day} ({format_rule(rule)}; {format_rule(earlier)})",
                )
    for i, holiday in enumerate(schedule.holidays):
        check_holiday(holiday, field=f"holidays[{i}]")
    return schedule


def check_override(override: Override, now: datetime, *, field: str = "until") -> Override:
    """A manual setting about to be made: an end time must lie ahead."""
    if not override.active_at(now):
        raise InvalidInput(field, "the end of a manual setting must lie in the future")
    return override


def _check_wall_time(value: time, field: str) -> None:
    if value.tzinfo is not None:
        raise InvalidInput(field, "times are the schedule's wall-clock times, no zone")
    if value.second or value.microsecond:
        raise InvalidInput(field, "times are whole minutes")


def _always_open(rules: Sequence[WeeklyRule]) -> bool:
    """Whether the rules cover every minute of every day of the week."""
    for day in range(7):
        reach = 0
        for start, end in sorted(_minutes(r) for r in rules if day in r.days):
            if start > reach:
                return False
            reach = max(reach, end)
        if reach < _DAY_MINUTES:
            return False
    return True


def _minutes(rule: WeeklyRule) -> tuple[int, int]:
    start = rule.start or _MIDNIGHT
    end = _DAY_MINUTES if rule.end is None else rule.end.hour * 60 + rule.end.minute
    return start.hour * 60 + start.minute, end


# ---- text forms ------------------------------------------------------------------

_RULE = re.compile(
    r"\s*(?P<days>\S.*?)\s+(?:(?P<allday>all\s+day)|"
    r"(?P<start>[0-9]{1,2}:[0-9]{2})\s*-\s*(?P<end>[0-9]{1,2}:[0-9]{2}))\s*",
    re.ASCII | re.IGNORECASE,
)
_BOUND = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T]+[0-9]{1,2}:[0-9]{2})?"
_HOLIDAY = re.compile(rf"\s*(?P<start>{_BOUND})\s*(?:\.\.\s*(?P<end>{_BOUND})\s*)?", re.ASCII)
_RULE_FORM = "DAYS all day or DAYS HH:MM-HH:MM, as mon-fri 08:00-17:00"
_HOLIDAY_FORM = "[NAME=]YYYY-MM-DD[ HH:MM][..YYYY-MM-DD[ HH:MM]], as 2026-12-24 12:00..2026-12-27"


def parse_rule(text: str, *, field: str = "rule") -> WeeklyRule:
    """A rule as admins type it (module docstring), checked."""
    _check_text(text, field)
    match = _RULE.fullmatch(text)
    if match is None:
        raise InvalidInput(field, f"{text!r} is not a rule: write {_RULE_FORM}")
    days = _parse_days(match["days"], field)
    if match["allday"]:
        return check_rule(WeeklyRule(days), field=field)
    start = _parse_time(match["start"], field, end=False)
    end = _parse_time(match["end"], field, end=True)
    return check_rule(WeeklyRule(days, start, end), field=field)


def format_rule(rule: WeeklyRule) -> str:
    if rule.start is None and rule.end is None:
        return f"{_format_days(rule.days)} all day"
    return f"{_format_days(rule.days)} {_hhmm(rule.start)}-{_hhmm(rule.end, end=True)}"


def parse_holiday(text: str, *, field: str = "holiday") -> Holiday:
    """A holiday as admins type it (module docstring), checked."""
    _check_text(text, field)
    name, equals, period = text.rpartition("=")
    name = name.strip()
    if equals and not name:
        raise InvalidInput(field, "the name before = is empty; leave out = for no name")
    match = _HOLIDAY.fullmatch(period)
    if match is None:
        raise InvalidInput(field, f"{period.strip()!r} is not a holiday: write {_HOLIDAY_FORM}")
    start = _parse_bound(match["start"], field)
    end = start.date() if isinstance(start, datetime) else start
    if match["end"]:
        end = _parse_bound(match["end"], field)
    return check_holiday(Holiday(name, start, end), field=field)


def format_holiday(holiday: Holiday) -> str:
    whole_day = not isinstance(holiday.start, datetime) and holiday.start == holiday.end
    period = _format_bound(holiday.start)
    if not whole_day:
        period += f"..{_format_bound(holiday.end)}"
    return f"{holiday.name}={period}" if holiday.name else period


def _check_text(text: str, field: str) -> None:
    check_printable(text, field=field)
    if len(text) > MAX_TEXT:
        raise InvalidInput(field, f"must be at most {MAX_TEXT} characters")


def _parse_days(text: str, field: str) -> frozenset[int]:
    days: set[int] = set()
    for item in text.split(","):
        first, dash, last = item.partition("-")
        day = _parse_day(first, field)
        days.add(day)
        if dash:
            end = _parse_day(last, field)
            while day != end:
                day = (day + 1) % 7
                days.add(day)
    return frozenset(days)


def _parse_day(text: str, field: str) -> int:
    day = _DAY_INDEX.get(text.strip().lower())
    if day is None:
        names = ", ".join(DAY_NAMES)
        raise InvalidInput(field, f"{text.strip()!r} is not a day: use {names} or a range mon-fri")
    return day


def _format_days(days: frozenset[int]) -> str:
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}")
        else:
            parts.extend(DAY_NAMES[d] for d in run)
    return ",".join(parts)


def _parse_time(text: str, field: str, *, end: bool) -> time | None:
    hour, minute = (int(part) for part in text.split(":"))
    if end and (hour, minute) == (24, 0):
        return None
    if hour > 23 or minute > 59:
        last = "24:00" if end else "23:59"
        raise InvalidInput(field, f"{text!r} is not a time from 00:00 to {last}")
    return time(hour, minute)


def _hhmm(value: time | None, *, end: bool = False) -> str:
    if value is None:
        return "24:00" if end else "00:00"
    return f"{value.hour:02d}:{value.minute:02d}"


def _parse_bound(text: str, field: str) -> date | datetime:
    day, _, clock = text.replace("T", " ").partition(" ")
    try:
        parsed = date(*(int(part) for part in day.split("-")))
    except ValueError:
        raise InvalidInput(field, f"{day!r} is not a date (YYYY-MM-DD)") from None
    if not clock.strip():
        return parsed
    wall = _parse_time(clock.strip(), field, end=False)
    return datetime.combine(parsed, wall or _MIDNIGHT)


def _format_bound(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return f"{value.date().isoformat()} {_hhmm(value.time())}"
    return value.isoformat()
