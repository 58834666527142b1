"""Spend and call-count limits: the brake on what a tenant or a trunk may call out.

A hacked phone or trunk dialling premium or far-away numbers costs money by the
minute, so every outside call is weighed against limits per **hour**, **day** and
**week**, for the tenant and, for a trunk's calls, for the trunk too:

* **spend** in EUR (default 10 / 25 / 50), and optionally
* **calls**, the number of outside calls set up (answered or not).

Windows follow the tenant's time zone: the clock hour, the calendar day and the ISO
week (Monday to Sunday). Usage is what was spent and called in the current windows;
a window's usage counts nothing once its boundary has passed, which is how limits
reset.

* A new outside call is refused (:func:`verdict`) once any limit of any level is
  reached: ``403 Forbidden: spend limit reached (day)`` or ``call limit reached
  (hour)``. Emergency calls are never asked about.
* A call that is let through may spend at most :func:`remaining` (the smallest
  budget left over windows and levels); Kamailio's cnxcc cuts it there.
* At 80 % and 95 % of a limit an alert goes out, once per limit and window
  (:func:`alerts_due`).

Only calls that leave the platform count: internal and inbound calls cost nothing.
A call's spend counts in the windows of when it started, both when provd adds it as
its record is collected and when usage is read back from the records at start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from provd.domain.errors import InvalidInput


class Window(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


WINDOWS = (Window.HOUR, Window.DAY, Window.WEEK)
DEFAULT_SPEND: Mapping[Window, Decimal] = {
    Window.HOUR: Decimal("10"),
    Window.DAY: Decimal("25"),
    Window.WEEK: Decimal("50"),
}
ALERT_PERCENTS = (80, 95)
MAX_SPEND = Decimal("100000")
"""A limit above this is a slipped decimal point, not a budget."""
MAX_CALLS = 1_000_000
ZERO = Decimal("0")

Kind = Literal["spend", "calls"]


@dataclass(frozen=True)
class Limits:
    """One level's limits; a window missing from a mapping has no limit of that kind."""

    spend: Mapping[Window, Decimal] = field(default_factory=lambda: dict(DEFAULT_SPEND))
    calls: Mapping[Window, int] = field(default_factory=dict)

    def limit(self, kind: Kind, window: Window) -> Decimal | None:
        value = (self.spend if kind == "spend" else self.calls).get(window)
        return None if value is None else Decimal(value)


DEFAULT = Limits()


# ---- windows ---------------------------------------------------------------------


def window_start(window: Window, at: datetime, zone: tzinfo) -> datetime:
    """The start of the window holding ``at``, in ``zone`` (aware)."""
    if at.tzinfo is None:
        raise ValueError("a window is looked up for an aware time")
    local = at.astimezone(zone)
    if window is Window.HOUR:
        # The clock hour, but as an instant: a DST fold has two hours of one label.
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.date()
    if window is Window.WEEK:
        day -= timedelta(days=day.weekday())
    return _midnight(day, zone)


def window_end(window: Window, at: datetime, zone: tzinfo) -> datetime:
    """Where the window holding ``at`` ends (the next one's start)."""
    start = window_start(window, at, zone)
    if window is Window.HOUR:
        return (start.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)
    days = 7 if window is Window.WEEK else 1
    return _midnight(start.date() + timedelta(days=days), zone)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def zone_of(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return UTC


# ---- usage -------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowUsage:
    """What was spent and called in the window starting at ``start``."""

    start: datetime
    spend: Decimal = ZERO
    calls: int = 0

    def used(self, kind: Kind) -> Decimal:
        return self.spend if kind == "spend" else Decimal(self.calls)


Usage = Mapping[Window, WindowUsage]
NO_USAGE: Usage = {}


def current(usage: Usage, window: Window, at: datetime, zone: tzinfo) -> WindowUsage:
    """The usage of the window holding ``at``: nothing once that window is over."""
    start = window_start(window, at, zone)
    found = usage.get(window)
    if found is None or found.start != start:
        return WindowUsage(start)
    return found


@dataclass
class Meter:
    """One level's usage as it grows: every outside call planned counts at once (a
    burst is stopped before any record exists), its spend when its record is priced.
    Kept in memory and seeded from the records at start (:meth:`seed`)."""

    windows: dict[Window, WindowUsage] = field(default_factory=dict)

    def count_call(self, at: datetime, zone: tzinfo) -> None:
        for window in WINDOWS:
            now = current(self.windows, window, at, zone)
            self.windows[window] = WindowUsage(now.start, now.spend, now.calls + 1)

    def add_spend(self, amount: Decimal, started: datetime, at: datetime, zone: tzinfo) -> None:
        """Spend of a call that started at ``started``, counted when it falls in the
        windows current at ``at`` (an old call's cost changes no current window)."""
        for window in WINDOWS:
            now = current(self.windows, window, at, zone)
            if window_start(window, started, zone) == now.start:
                self.windows[window] = WindowUsage(now.start, now.spend + amount, now.calls)
            else:
                self.windows[window] = now

    def seed(
        self, calls: Iterable[tuple[datetime, Decimal | None]], at: datetime, zone: tzinfo
    ) -> None:
        """Usage from the records (each call's start and cost) of the current windows."""
        self.windows = {w: WindowUsage(window_start(w, at, zone)) for w in WINDOWS}
        for started, cost in calls:
            for window in WINDOWS:
                now = self.windows[window]
                if window_start(window, started, zone) == now.start:
                    self.windows[window] = WindowUsage(
                        now.start, now.spend + (cost or ZERO), now.calls + 1
                    )

    def usage(self, at: datetime, zone: tzinfo) -> Usage:
        return {w: current(self.windows, w, at, zone) for w in WINDOWS}


# ---- the verdict and the budget -------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """A level (the tenant, or one of its trunks) as the brake reads it."""

    level: str
    """``tenant`` or ``trunk:<name>``."""
    limits: Limits
    usage: Usage = field(default_factory=dict)


@dataclass(frozen=True)
class Refusal:
    level: str
    kind: Kind
    window: Window

    @property
    def reason(self) -> str:
        what = "spend" if self.kind == "spend" else "call"
        return f"Forbidden: {what} limit reached ({self.window.value})"


REFUSAL_PREFIXES = ("Forbidden: spend limit reached", "Forbidden: call limit reached")
"""How refusals start: stable text the call records and tests read."""


def verdict(levels: Iterable[Standing], at: datetime, zone: tzinfo) -> Refusal | None:
    """Refused when any limit of any level is reached (spend first, shortest window
    first, the tenant before a trunk); None lets the call through."""
    standings = tuple(levels)
    for kind in ("spend", "calls"):
        for window in WINDOWS:
            for standing in standings:
                limit = standing.limits.limit(kind, window)
                if limit is None:
                    continue
                if current(standing.usage, window, at, zone).used(kind) >= limit:
                    return Refusal(standing.level, kind, window)
    return None


def remaining(levels: Iterable[Standing], at: datetime, zone: tzinfo) -> Decimal | None:
    """The least spend budget left over every window and level (never below 0), or
    None when no level limits spend."""
    left: Decimal | None = None
    for standing in levels:
        for window in WINDOWS:
            limit = standing.limits.limit("spend", window)
            if limit is None:
                continue
            budget = max(ZERO, limit - current(standing.usage, window, at, zone).spend)
            left = budget if left is None else min(left, budget)
    return left


# ---- alerts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """A limit's usage crossed ``percent`` in the window starting at ``window_start``."""

    level: str
    kind: Kind
    window: Window
    window_start: datetime
    percent: int
    used: Decimal
    limit: Decimal

    @property
    def key(self) -> str:
        """Names the alert once per limit, threshold and window: sent once."""
        start = self.window_start.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
        return f"{self.level}|{self.kind}|{self.window.value}|{start}|{self.percent}"


def alerts_due(
    standing: Standing, at: datetime, zone: tzinfo, sent: Iterable[str] = ()
) -> list[Alert]:
    """Thresholds crossed in the current windows and not yet in ``sent`` (keys)."""
    done = set(sent)
    out = []
    for kind in ("spend", "calls"):
        for window in WINDOWS:
            limit = standing.limits.limit(kind, window)
            if limit is None or limit <= 0:
                continue
            now = current(standing.usage, window, at, zone)
            used = now.used(kind)
            for percent in ALERT_PERCENTS:
                if used * 100 >= limit * percent:
                    alert = Alert(standing.level, kind, window, now.start, percent, used, limit)
                    if alert.key not in done:
                        out.append(alert)
    return out


# ---- reading what a person wrote --------------------------------------------------


def parse_spend(value: object, *, field: str) -> Decimal | None:
    """A spend limit in EUR (``25``, ``12.50``); empty or ``none``: no limit."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise InvalidInput(field, "give an amount in EUR such as 25 or 12.50, or none")
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise InvalidInput(field, f"{value!r} is not an amount in EUR") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidInput(field, "a spend limit is 0 or more EUR")
    if amount > MAX_SPEND:
        raise InvalidInput(field, f"a spend limit is at most {MAX_SPEND} EUR")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(field, "a spend limit has at most 2 decimals")
    return amount.quantize(Decimal("0.01"))


def parse_calls(value: object, *, field: str) -> int | None:
    """A call-count limit (whole calls); empty or ``none``: no limit."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    if isinstance(value, bool):
        raise InvalidInput(field, "give a number of calls, or none")
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.isdigit():
            raise InvalidInput(field, f"{value!r} is not a number of calls")
        value = int(text)
    if not isinstance(value, int):
        raise InvalidInput(field, "give a number of calls, or none")
    if value < 0 or value > MAX_CALLS:
        raise InvalidInput(field, f"a call limit is 0 to {MAX_CALLS}")
    return value


def to_json(limits: Limits) -> dict[str, object]:
    return {
        "spend": {w.value: str(v) for w, v in limits.spend.items()},
        "calls": {w.value: v for w, v in limits.calls.items()},
    }


def from_json(stored: object) -> Limits:
    """Stored limits (:func:`to_json`); None: the defaults. ValueError if unreadable."""
    if stored is None:
        return DEFAULT
    if not isinstance(stored, dict):
        raise ValueError("limits are an object")
    spend_in = stored.get("spend", {})
    calls_in = stored.get("calls", {})
    if not isinstance(spend_in, dict) or not isinstance(calls_in, dict):
        raise ValueError("limits.spend and limits.calls are objects")
    try:
        spend = {Window(k): Decimal(str(v)) for k, v in spend_in.items() if v is not None}
        calls = {Window(k): int(v) for k, v in calls_in.items() if v is not None}
    except (ValueError, InvalidOperation) as e:
        raise ValueError(f"unreadable limits: {e}") from None
    return Limits(spend=spend, calls=calls)
