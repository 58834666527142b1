"""Spend and call-count limits: windows in the tenant's zone, usage, the verdict, the
budget left and the alerts at 80 % and 95 %."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from provd.domain import limits
from provd.domain.errors import InvalidInput
from provd.domain.limits import Limits, Meter, Standing, Window, WindowUsage

AMS = ZoneInfo("Europe/Amsterdam")
# Wednesday 2 December 2026, 10:30 in Amsterdam (09:30 UTC).
AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def usage(at: datetime, *, spend: str = "0", calls: int = 0) -> limits.Usage:
    return {
        w: WindowUsage(limits.window_start(w, at, AMS), Decimal(spend), calls)
        for w in limits.WINDOWS
    }


# ---- windows ---------------------------------------------------------------------


def test_windows_follow_the_tenants_zone() -> None:
    assert limits.window_start(Window.HOUR, AT, AMS) == datetime(2026, 12, 2, 10, tzinfo=AMS)
    assert limits.window_start(Window.DAY, AT, AMS) == datetime(2026, 12, 2, tzinfo=AMS)
    # ISO week: Monday 30 November.
    assert limits.window_start(Window.WEEK, AT, AMS) == datetime(2026, 11, 30, tzinfo=AMS)
    assert limits.window_end(Window.WEEK, AT, AMS) == datetime(2026, 12, 7, tzinfo=AMS)
    assert limits.window_end(Window.HOUR, AT, AMS) == datetime(2026, 12, 2, 11, tzinfo=AMS)


def test_the_local_day_not_utcs() -> None:
    # 23:30 UTC on the 1st is already the 2nd in Amsterdam.
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert limits.window_start(Window.DAY, late, AMS).date().isoformat() == "2026-12-02"
    assert limits.window_start(Window.DAY, late, UTC).date().isoformat() == "2026-12-01"


def test_a_sunday_belongs_to_the_week_that_began_on_monday() -> None:
    sunday = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)  # 23:00 Sunday local
    assert limits.window_start(Window.WEEK, sunday, AMS) == datetime(2026, 11, 30, tzinfo=AMS)
    monday = sunday + timedelta(hours=1)  # 00:00 Monday local
    assert limits.window_start(Window.WEEK, monday, AMS) == datetime(2026, 12, 7, tzinfo=AMS)


def test_a_dst_day_is_23_hours_long() -> None:
    day = datetime(2026, 3, 29, 12, tzinfo=UTC)
    start = limits.window_start(Window.DAY, day, AMS)
    end = limits.window_end(Window.DAY, day, AMS)
    # Same zone object: compare instants, not wall clocks.
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        limits.window_start(Window.DAY, datetime(2026, 1, 1), AMS)


def test_an_unknown_zone_is_utc() -> None:
    assert limits.zone_of("Nowhere/Else") is UTC
    assert limits.zone_of("Europe/Amsterdam") == AMS


# ---- usage ----------------------------------------------------------------------


def test_usage_of_a_window_that_is_over_counts_nothing() -> None:
    old = usage(AT - timedelta(hours=1), spend="9", calls=3)
    now = limits.current(old, Window.HOUR, AT, AMS)
    assert now.spend == 0 and now.calls == 0
    # Same day and week: still counted there.
    assert limits.current(old, Window.DAY, AT, AMS).spend == Decimal("9")
    assert limits.current(old, Window.WEEK, AT, AMS).calls == 3


def test_meter_counts_calls_in_every_window_and_resets_on_the_boundary() -> None:
    meter = Meter()
    meter.count_call(AT, AMS)
    meter.count_call(AT, AMS)
    assert {w: u.calls for w, u in meter.usage(AT, AMS).items()} == dict.fromkeys(limits.WINDOWS, 2)
    later = AT + timedelta(hours=1)
    meter.count_call(later, AMS)
    now = meter.usage(later, AMS)
    assert now[Window.HOUR].calls == 1
    assert now[Window.DAY].calls == 3
    next_day = AT + timedelta(days=1)
    assert meter.usage(next_day, AMS)[Window.DAY].calls == 0
    assert meter.usage(next_day, AMS)[Window.WEEK].calls == 3


def test_spend_counts_in_the_windows_of_the_calls_start() -> None:
    meter = Meter()
    meter.add_spend(Decimal("1.5"), AT, AT, AMS)
    # A call that started the hour before is priced now: the day and week only.
    meter.add_spend(Decimal("2"), AT - timedelta(hours=1), AT, AMS)
    now = meter.usage(AT, AMS)
    assert now[Window.HOUR].spend == Decimal("1.5")
    assert now[Window.DAY].spend == Decimal("3.5")
    assert now[Window.WEEK].spend == Decimal("3.5")
    assert now[Window.DAY].calls == 0


def test_seed_reads_the_current_windows_only() -> None:
    meter = Meter()
    meter.seed(
        [
            (AT - timedelta(minutes=10), Decimal("1")),
            (AT - timedelta(hours=2), Decimal("2")),
            (AT - timedelta(days=1), None),
            (AT - timedelta(days=20), Decimal("100")),
        ],
        AT,
        AMS,
    )
    now = meter.usage(AT, AMS)
    assert (now[Window.HOUR].spend, now[Window.HOUR].calls) == (Decimal("1"), 1)
    assert (now[Window.DAY].spend, now[Window.DAY].calls) == (Decimal("3"), 2)
    assert (now[Window.WEEK].spend, now[Window.WEEK].calls) == (Decimal("3"), 3)


# ---- the verdict --------------------------------------------------------------------


def test_defaults_are_10_25_50_eur_and_no_call_limits() -> None:
    assert limits.DEFAULT.spend == {
        Window.HOUR: Decimal("10"),
        Window.DAY: Decimal("25"),
        Window.WEEK: Decimal("50"),
    }
    assert limits.DEFAULT.calls == {}


def test_a_call_passes_below_every_limit() -> None:
    standing = Standing("tenant", limits.DEFAULT, usage(AT, spend="9.99"))
    assert limits.verdict([standing], AT, AMS) is None


@pytest.mark.parametrize(
    ("spend", "window"),
    [("10", Window.HOUR), ("10.01", Window.HOUR)],
)
def test_spend_reaching_the_hours_limit_refuses(spend: str, window: Window) -> None:
    refusal = limits.verdict([Standing("tenant", limits.DEFAULT, usage(AT, spend=spend))], AT, AMS)
    assert refusal is not None
    assert refusal.reason == f"Forbidden: spend limit reached ({window.value})"


def test_the_day_limit_when_the_hour_has_room() -> None:
    used = {
        Window.HOUR: WindowUsage(limits.window_start(Window.HOUR, AT, AMS), Decimal("0")),
        Window.DAY: WindowUsage(limits.window_start(Window.DAY, AT, AMS), Decimal("25")),
    }
    refusal = limits.verdict([Standing("tenant", limits.DEFAULT, used)], AT, AMS)
    assert refusal is not None and refusal.reason == "Forbidden: spend limit reached (day)"


def test_three_calls_an_hour_refuse_the_fourth() -> None:
    three = Limits(calls={Window.HOUR: 3})
    for made in range(3):
        assert limits.verdict([Standing("t", three, usage(AT, calls=made))], AT, AMS) is None
    refusal = limits.verdict([Standing("t", three, usage(AT, calls=3))], AT, AMS)
    assert refusal is not None
    assert refusal.reason == "Forbidden: call limit reached (hour)"
    assert (refusal.kind, refusal.window) == ("calls", Window.HOUR)
    # The next hour starts again.
    assert (
        limits.verdict([Standing("t", three, usage(AT, calls=3))], AT + timedelta(hours=1), AMS)
        is None
    )


def test_a_trunks_limit_refuses_though_the_tenant_has_room() -> None:
    tenant = Standing("tenant", limits.DEFAULT, usage(AT, spend="1"))
    trunk = Standing("trunk:hq", Limits(spend={Window.HOUR: Decimal("1")}), usage(AT, spend="1"))
    refusal = limits.verdict([tenant, trunk], AT, AMS)
    assert refusal is not None and refusal.level == "trunk:hq"


def test_a_limit_of_zero_refuses_every_call() -> None:
    zero = Limits(spend={Window.WEEK: Decimal("0")})
    assert limits.verdict([Standing("t", zero, {})], AT, AMS) is not None


def test_no_limits_at_all_never_refuse() -> None:
    free = Limits(spend={}, calls={})
    assert (
        limits.verdict([Standing("t", free, usage(AT, spend="1e6", calls=10**6))], AT, AMS) is None
    )
    assert limits.remaining([Standing("t", free, {})], AT, AMS) is None


# ---- the budget ----------------------------------------------------------------------


def test_remaining_is_the_least_left_over_windows_and_levels() -> None:
    tenant = Standing("tenant", limits.DEFAULT, usage(AT, spend="4"))
    assert limits.remaining([tenant], AT, AMS) == Decimal("6")
    day_heavy = {
        Window.HOUR: WindowUsage(limits.window_start(Window.HOUR, AT, AMS), Decimal("1")),
        Window.DAY: WindowUsage(limits.window_start(Window.DAY, AT, AMS), Decimal("22")),
    }
    assert limits.remaining([Standing("tenant", limits.DEFAULT, day_heavy)], AT, AMS) == Decimal(
        "3"
    )
    trunk = Standing("trunk:hq", Limits(spend={Window.WEEK: Decimal("2.5")}), {})
    assert limits.remaining([tenant, trunk], AT, AMS) == Decimal("2.5")


def test_remaining_is_never_negative() -> None:
    over = Standing("tenant", limits.DEFAULT, usage(AT, spend="70"))
    assert limits.remaining([over], AT, AMS) == 0


# ---- alerts -------------------------------------------------------------------------


def test_no_alert_below_80_percent() -> None:
    assert (
        limits.alerts_due(Standing("tenant", limits.DEFAULT, usage(AT, spend="7.99")), AT, AMS)
        == []
    )


def test_80_percent_of_the_hour_alerts_once() -> None:
    standing = Standing("tenant", Limits(spend={Window.HOUR: Decimal("10")}), usage(AT, spend="8"))
    [alert] = limits.alerts_due(standing, AT, AMS)
    assert (alert.kind, alert.window, alert.percent) == ("spend", Window.HOUR, 80)
    assert (alert.used, alert.limit) == (Decimal("8"), Decimal("10"))
    assert limits.alerts_due(standing, AT, AMS, sent=[alert.key]) == []


def test_95_percent_after_80() -> None:
    only_hour = Limits(spend={Window.HOUR: Decimal("10")})
    first = limits.alerts_due(Standing("tenant", only_hour, usage(AT, spend="8")), AT, AMS)
    later = limits.alerts_due(
        Standing("tenant", only_hour, usage(AT, spend="9.5")), AT, AMS, sent=[a.key for a in first]
    )
    assert [a.percent for a in later] == [95]


def test_jumping_past_both_sends_both_once() -> None:
    only_hour = Limits(spend={Window.HOUR: Decimal("10")})
    due = limits.alerts_due(Standing("tenant", only_hour, usage(AT, spend="12")), AT, AMS)
    assert [a.percent for a in due] == [80, 95]


def test_a_new_window_alerts_again() -> None:
    only_hour = Limits(spend={Window.HOUR: Decimal("10")})
    first = limits.alerts_due(Standing("t", only_hour, usage(AT, spend="8")), AT, AMS)
    nxt = AT + timedelta(hours=1)
    again = limits.alerts_due(
        Standing("t", only_hour, usage(nxt, spend="8")), nxt, AMS, sent=[a.key for a in first]
    )
    assert [a.percent for a in again] == [80]
    assert again[0].key != first[0].key


def test_call_limits_alert_too() -> None:
    five = Limits(spend={}, calls={Window.DAY: 5})
    due = limits.alerts_due(Standing("trunk:hq", five, usage(AT, calls=4)), AT, AMS)
    assert [(a.kind, a.window, a.percent) for a in due] == [("calls", Window.DAY, 80)]
    assert due[0].key.startswith("trunk:hq|calls|day|")


# ---- input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25", Decimal("25.00")),
        ("12.5", Decimal("12.50")),
        ("0,75", Decimal("0.75")),
        (7, Decimal("7.00")),
        ("none", None),
        ("", None),
        (None, None),
    ],
)
def test_spend_parses(text: object, expected: Decimal | None) -> None:
    assert limits.parse_spend(text, field="hour") == expected


@pytest.mark.parametrize("text", ["-1", "abc", "1.234", "1e9", "NaN", True, [1]])
def test_bad_spend_names_the_field(text: object) -> None:
    with pytest.raises(InvalidInput) as e:
        limits.parse_spend(text, field="day")
    assert e.value.field == "day"


@pytest.mark.parametrize(("text", "expected"), [("3", 3), (0, 0), ("none", None)])
def test_calls_parse(text: object, expected: int | None) -> None:
    assert limits.parse_calls(text, field="calls_hour") == expected


@pytest.mark.parametrize("text", ["-1", "2.5", "three", True, 2.0, "١٢"])
def test_bad_calls_name_the_field(text: object) -> None:
    with pytest.raises(InvalidInput) as e:
        limits.parse_calls(text, field="calls_week")
    assert e.value.field == "calls_week"


def test_json_round_trip() -> None:
    value = Limits(spend={Window.DAY: Decimal("12.50")}, calls={Window.HOUR: 3})
    assert limits.from_json(limits.to_json(value)) == value
    assert limits.from_json(None) == limits.DEFAULT


@pytest.mark.parametrize(
    "stored", [[], {"spend": []}, {"spend": {"year": "1"}}, {"calls": {"hour": "x"}}]
)
def test_unreadable_json_raises(stored: object) -> None:
    with pytest.raises(ValueError):
        limits.from_json(stored)
