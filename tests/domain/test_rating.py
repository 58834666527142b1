"""Rates, the look-up order of a rate table, and the price of a call."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provd.domain.call_types import CallType
from provd.domain.errors import InvalidInput
from provd.domain.rating import (
    PER_SECOND,
    ZERO,
    Increment,
    NoRate,
    Rate,
    RateTable,
    make_rate,
    parse_amount,
    parse_increment,
    parse_match,
    price,
)
from tests.hypothesis_profiles import examples

_PROPERTY = settings(max_examples=examples(300), deadline=None, derandomize=True, database=None)
D = Decimal


def _rate(match: str, per_minute: str, setup: str = "0", increment: str = "") -> Rate:
    return make_rate(match, per_minute, setup, increment)


TABLE = RateTable(
    [
        _rate("national_fixed", "0.02"),
        _rate("mobile", "0.10", "0.05", "60/1"),
        _rate("premium", "1.00", "0.50"),
        _rate("international", "0.50"),
        _rate("+44", "0.08"),
        _rate("+3197", "0.30"),
        _rate("+31970", "0.40"),
        _rate("+881", "9.00", "1.00", "60/60"),
    ],
    {
        "acme": [_rate("mobile", "0.05"), _rate("+3197", "0.20"), _rate("+31", "0.01")],
        "beta": [_rate("emergency", "0.01"), _rate("internal", "0.001")],
    },
)


# ---- which rate prices a call ----------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant", "number", "call_type", "expected"),
    [
        # The platform's: longest prefix first, then the type.
        (None, "+31201234567", CallType.FIXED, "national_fixed"),
        (None, "+31612345678", CallType.MOBILE, "mobile"),
        (None, "+31971234567", CallType.MOBILE, "+3197"),
        (None, "+319701234567", CallType.MOBILE, "+31970"),
        (None, "+442071234567", CallType.INTERNATIONAL, "+44"),
        (None, "+4930123456", CallType.INTERNATIONAL, "international"),
        (None, "+881612345678", CallType.INTERNATIONAL, "+881"),
        # A tenant's prefix replaces the platform's same prefix ...
        ("acme", "+31971234567", CallType.MOBILE, "+3197"),
        # ... but a longer platform prefix still wins over a shorter tenant prefix.
        ("acme", "+319701234567", CallType.MOBILE, "+31970"),
        # A tenant's prefix beats any type rate, its own and the platform's.
        ("acme", "+31612345678", CallType.MOBILE, "+31"),
        ("acme", "+31201234567", CallType.FIXED, "+31"),
        # Type rates: the tenant's before the platform's.
        ("beta", "+31612345678", CallType.MOBILE, "mobile"),
        # A tenant without overrides, or an unknown one, gets the platform's.
        ("nobody", "+31612345678", CallType.MOBILE, "mobile"),
    ],
)
def test_which_rate(tenant: str | None, number: str, call_type: CallType, expected: str) -> None:
    rate = TABLE.rate_for(tenant, number, call_type)
    assert rate is not None
    assert rate.match == expected


def test_the_tenant_override_is_the_tenants_own_rate() -> None:
    own = TABLE.rate_for("acme", "+31971234567", CallType.MOBILE)
    platform = TABLE.rate_for(None, "+31971234567", CallType.MOBILE)
    assert own is not None and platform is not None
    assert (own.price_per_minute, platform.price_per_minute) == (D("0.2000"), D("0.3000"))
    mobile = TABLE.rate_for("beta", "+31612345678", CallType.MOBILE)
    assert mobile is not None and mobile.price_per_minute == D("0.1000")


@pytest.mark.parametrize("call_type", [CallType.INTERNAL, CallType.INBOUND, CallType.EMERGENCY])
def test_prefixes_never_price_internal_inbound_or_emergency_calls(call_type: CallType) -> None:
    # acme's "+31" would match every Dutch number; these calls are priced by type only.
    assert TABLE.rate_for("acme", "+31612345678", call_type) is None
    assert price(TABLE, "acme", "+31612345678", call_type, 600) == ZERO


def test_internal_inbound_and_emergency_cost_what_a_rate_for_their_type_says() -> None:
    assert price(TABLE, "beta", "112", CallType.EMERGENCY, 60) == D("0.0100")
    assert price(TABLE, "beta", "201", CallType.INTERNAL, 60) == D("0.0010")
    assert price(TABLE, "beta", "+31612345678", CallType.INBOUND, 60) == ZERO


def test_an_outbound_call_no_rate_matches_has_no_price() -> None:
    table = RateTable([_rate("mobile", "0.10")])
    with pytest.raises(NoRate, match="premium"):
        price(table, None, "+319001234567", CallType.PREMIUM, 60)
    # Unanswered, it costs nothing all the same.
    assert price(table, None, "+319001234567", CallType.PREMIUM, 0) == ZERO


def test_an_empty_table_prices_only_the_free_kinds() -> None:
    empty = RateTable()
    assert price(empty, "acme", "201", CallType.INTERNAL, 60) == ZERO
    assert empty.rate_for("acme", "+31201234567", CallType.FIXED) is None


# ---- the price of a call --------------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant", "number", "call_type", "seconds", "expected"),
    [
        # Unanswered: nothing, not even the setup fee.
        (None, "+31612345678", CallType.MOBILE, 0, "0.0000"),
        # 60/1: a minute at least, then by the second; plus the setup fee.
        (None, "+31612345678", CallType.MOBILE, 1, "0.1500"),
        (None, "+31612345678", CallType.MOBILE, 60, "0.1500"),
        (None, "+31612345678", CallType.MOBILE, 61, "0.1517"),
        (None, "+31612345678", CallType.MOBILE, 90, "0.2000"),
        # By the second (no increment given): 0.02/min for 30 s.
        (None, "+31201234567", CallType.FIXED, 30, "0.0100"),
        (None, "+31201234567", CallType.FIXED, 1, "0.0003"),  # 0.000333… rounds to 0.0003
        (None, "+31201234567", CallType.FIXED, 3, "0.0010"),
        # 60/60: every started minute, plus 1.00 a call.
        (None, "+881612345678", CallType.INTERNATIONAL, 61, "19.0000"),
        (None, "+881612345678", CallType.INTERNATIONAL, 120, "19.0000"),
        (None, "+881612345678", CallType.INTERNATIONAL, 121, "28.0000"),
        # Premium with setup.
        (None, "+319001234567", CallType.PREMIUM, 120, "2.5000"),
        ("acme", "+31612345678", CallType.MOBILE, 60, "0.0100"),
    ],
)
def test_price(
    tenant: str | None, number: str, call_type: CallType, seconds: int, expected: str
) -> None:
    got = price(TABLE, tenant, number, call_type, seconds)
    assert got == D(expected)
    assert got.as_tuple().exponent == -4  # always 4 places


def test_rounding_is_half_up() -> None:
    # 0.0003 per minute for 10 s = 0.00005 exactly: half up gives 0.0001 (banker's gives 0).
    table = RateTable([_rate("national_fixed", "0.0003")])
    assert price(table, None, "+31201234567", CallType.FIXED, 10) == D("0.0001")


def test_negative_seconds_are_a_bug_not_a_free_call() -> None:
    with pytest.raises(ValueError, match="negative"):
        price(TABLE, None, "+31201234567", CallType.FIXED, -1)


@pytest.mark.parametrize(
    ("increment", "seconds", "billed"),
    [
        (PER_SECOND, 0, 0),
        (PER_SECOND, 1, 1),
        (PER_SECOND, 59, 59),
        (Increment(60, 1), 1, 60),
        (Increment(60, 1), 61, 61),
        (Increment(30, 6), 31, 36),
        (Increment(30, 6), 36, 36),
        (Increment(30, 6), 37, 42),
        (Increment(60, 60), 60, 60),
        (Increment(60, 60), 61, 120),
    ],
)
def test_increment(increment: Increment, seconds: int, billed: int) -> None:
    assert increment.billed(seconds) == billed


@_PROPERTY
@given(
    first=st.integers(1, 3600),
    then=st.integers(1, 3600),
    seconds=st.integers(1, 100_000),
)
def test_billed_time_covers_the_call_by_less_than_one_step(
    first: int, then: int, seconds: int
) -> None:
    billed = Increment(first, then).billed(seconds)
    assert billed >= seconds
    assert billed >= first
    assert (billed - first) % then == 0
    assert billed == first or billed - seconds < then


@_PROPERTY
@given(
    per_minute=st.decimals(min_value=0, max_value=1000, places=4),
    setup=st.decimals(min_value=0, max_value=1000, places=4),
    seconds=st.integers(0, 86_400),
    more=st.integers(0, 3600),
)
def test_price_never_falls_as_the_call_gets_longer(
    per_minute: Decimal, setup: Decimal, seconds: int, more: int
) -> None:
    table = RateTable([Rate("mobile", per_minute, setup, Increment(30, 6))])
    short = price(table, None, "+31612345678", CallType.MOBILE, seconds)
    long = price(table, None, "+31612345678", CallType.MOBILE, seconds + more)
    assert ZERO <= short <= long
    if seconds:
        assert short >= setup


@_PROPERTY
@given(
    digits=st.text("0123456789", min_size=8, max_size=11),
    cut=st.integers(1, 8),
)
def test_the_longest_matching_prefix_wins(digits: str, cut: int) -> None:
    number = "+31" + digits
    shorter, longer = number[: 3 + cut - 1], number[: 3 + cut]
    table = RateTable([Rate(shorter, D(1)), Rate(longer, D(2)), Rate("mobile", D(3))])
    found = table.rate_for(None, number, CallType.MOBILE)
    assert found is not None and found.match == longer


# ---- what a person writes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("+3197", "+3197"),
        (" +31 97 ", "+3197"),
        ("097", "+3197"),  # national notation, read as Dutch
        ("0031900", "+31900"),
        ("mobile", "mobile"),
        ("Premium", "premium"),
        ("national_fixed", "national_fixed"),
        ("emergency", "emergency"),
    ],
)
def test_parse_match(text: str, match: str) -> None:
    assert parse_match(text) == match


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "prefix"),
        ("   ", "prefix"),
        ("landline", "neither a number prefix"),
        ("+0", "E.164"),
        ("+31x", "not a number prefix"),
        ("+1234567890123456", "E.164"),
        ("9", "start it with"),
    ],
)
def test_parse_match_refuses(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as e:
        parse_match(text)
    assert e.value.field == "match"


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("0", "0.0000"),
        ("0.05", "0.0500"),
        ("0,05", "0.0500"),
        (" 1.2345 ", "1.2345"),
        ("1000", "1000.0000"),
        (Decimal("0.1"), "0.1000"),
    ],
)
def test_parse_amount(text: str | Decimal, amount: str) -> None:
    got = parse_amount(text, field="price_per_minute")
    assert got == D(amount) and str(got) == amount


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-0.01", "negative"),
        ("0.00001", "up to 4 decimals"),
        ("1e3", "not a price"),
        ("NaN", "not a price"),
        ("Infinity", "not a price"),
        ("€0.05", "not a price"),
        ("", "not a price"),
        ("1000.0001", "more than"),
        ("1.000,50", "not a price"),
        (0.05, "must be a price"),
    ],
)
def test_parse_amount_refuses(text: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as e:
        parse_amount(text, field="setup_fee")
    assert e.value.field == "setup_fee"


@pytest.mark.parametrize(
    ("text", "increment"),
    [
        ("", None),
        (None, None),
        ("1/1", Increment(1, 1)),
        ("60/1", Increment(60, 1)),
        (" 30/6 ", Increment(30, 6)),
        ("60", Increment(60, 60)),
    ],
)
def test_parse_increment(text: str | None, increment: Increment | None) -> None:
    assert parse_increment(text) == increment


@pytest.mark.parametrize("text", ["0/1", "60/0", "3601/1", "60/", "/1", "1.5", "60/1/1", "a"])
def test_parse_increment_refuses(text: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_increment(text)
    assert e.value.field == "increment"


def test_make_rate_names_the_field_at_fault() -> None:
    with pytest.raises(InvalidInput) as e:
        make_rate("mobile", "-1")
    assert e.value.field == "price_per_minute"
    assert make_rate("mobile", "0.1", "", "") == Rate("mobile", D("0.1000"), ZERO, None)
