from __future__ import annotations

import itertools

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from provd.domain.errors import InvalidInput
from provd.domain.outbound_policy import (
    DEFAULT,
    FRAUD_PRONE,
    NOT_IN_WHITELIST,
    PRESET_REGIONS,
    Allowed,
    Blocked,
    Category,
    Policy,
    Preset,
    describe,
    from_json,
    is_fraud_prone,
    parse_policy,
    to_json,
    verdict,
)

NL_FIXED = "+31201234567"
NL_MOBILE = "+31612345678"
NL_PREMIUM = "+319001234567"
NL_FREEPHONE = "+31800123456"
BE_FIXED = "+3225000000"
LU_FIXED = "+35227123456"
DE_FIXED = "+4930123456"
GB_FIXED = "+442071234567"
GB_PREMIUM = "+449012345678"
GB_SHARED = "+448431234567"
FR_PREMIUM = "+33891234567"
PL_FIXED = "+48221234567"
US_FIXED = "+12025550123"
JM_MOBILE = "+18762345678"
INMARSAT = "+870772112345"
IRIDIUM = "+881612345678"
INTL_NETWORK = "+882161234567"
INTL_FREEPHONE = "+80012345678"
INTL_SHARED = "+80812345678"

ALL_CATEGORIES = frozenset(Category)


def policy(
    block: tuple[str, ...] = (), presets: tuple[str, ...] = (), prefixes: tuple[str, ...] = ()
) -> Policy:
    return parse_policy(block, presets, prefixes)


# ---- categories -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "category"),
    [
        (NL_PREMIUM, "premium"),
        ("+319061234567", "premium"),
        ("+319091234567", "premium"),
        (NL_FREEPHONE, "service"),
        (NL_MOBILE, "mobile"),
        (GB_FIXED, "international"),
        (US_FIXED, "international"),
        (GB_PREMIUM, "international"),
    ],
)
def test_a_blocked_category_refuses_its_numbers_and_names_itself(
    number: str, category: str
) -> None:
    assert verdict(number, "NL", policy((category,))) == Blocked(category)
    others = tuple(c.value for c in Category if c.value != category)
    # The other categories leave it alone (the fraud check aside, which this avoids).
    if not is_fraud_prone(number, "NL"):
        assert verdict(number, "NL", policy(others)) == Allowed()


def test_a_fixed_number_of_the_own_country_has_no_category() -> None:
    assert verdict(NL_FIXED, "NL", Policy(blocked=ALL_CATEGORIES)) == Allowed()


def test_categories_are_seen_from_the_callers_country() -> None:
    assert verdict(GB_FIXED, "GB", policy(("international",))) == Allowed()
    assert verdict(NL_FIXED, "BE", policy(("international",))) == Blocked("international")


def test_the_default_policy_allows_ordinary_numbers_anywhere() -> None:
    for number in (NL_FIXED, NL_MOBILE, NL_PREMIUM, NL_FREEPHONE, GB_FIXED, US_FIXED, JM_MOBILE):
        assert verdict(number, "NL", DEFAULT) == Allowed(), number
    assert verdict(NL_FIXED, "NL") == Allowed()


# ---- emergency --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "country"), [("+31112", "NL"), ("+31911", "NL"), ("+1911", "US")]
)
def test_emergency_numbers_are_never_blocked(number: str, country: str) -> None:
    strict = Policy(blocked=ALL_CATEGORIES, presets=frozenset(), prefixes=frozenset({"+999"}))
    assert verdict(number, country, strict, strict) == Allowed()


def test_another_countrys_emergency_number_is_not_exempt() -> None:
    assert verdict("+32112", "NL", policy(("international",))) == Blocked("international")


# ---- fraud-prone destinations -----------------------------------------------------


@pytest.mark.parametrize(
    ("number", "fraud_prone"),
    [
        (GB_PREMIUM, True),
        (GB_SHARED, True),
        (FR_PREMIUM, True),
        (INMARSAT, True),
        (IRIDIUM, True),
        (INTL_NETWORK, True),
        (INTL_SHARED, True),
        (INTL_FREEPHONE, False),
        (GB_FIXED, False),
        (US_FIXED, False),
        (NL_PREMIUM, False),  # the own country's: the premium category
        (NL_FIXED, False),
    ],
)
def test_fraud_prone_destinations_from_libphonenumber(number: str, fraud_prone: bool) -> None:
    assert is_fraud_prone(number, "NL") is fraud_prone
    expected = Blocked(FRAUD_PRONE) if fraud_prone else Allowed()
    assert verdict(number, "NL", DEFAULT) == expected


def test_a_countrys_own_premium_numbers_are_not_fraud_prone_there() -> None:
    assert not is_fraud_prone(GB_PREMIUM, "GB")
    assert verdict(GB_PREMIUM, "GB") == Allowed()
    assert verdict(NL_PREMIUM, "BE") == Blocked(FRAUD_PRONE)


@pytest.mark.parametrize(
    ("number", "prefix", "allowed"),
    [
        (GB_PREMIUM, "+449", True),
        (GB_PREMIUM, "+44", False),  # the whole country: not a word about its premium range
        (INMARSAT, "+870", True),  # a non-geographic code is the network itself
        (IRIDIUM, "+8816", True),
        (IRIDIUM, "+8817", False),
        (FR_PREMIUM, "+3389", True),
    ],
)
def test_only_an_explicit_prefix_naming_the_range_allows_a_fraud_prone_destination(
    number: str, prefix: str, allowed: bool
) -> None:
    expected = Allowed() if allowed else Blocked(FRAUD_PRONE)
    assert verdict(number, "NL", policy(prefixes=(prefix,))) == expected
    # Either level may name it; the other's default policy has no say.
    assert verdict(number, "NL", DEFAULT, policy(prefixes=(prefix,))) == expected


def test_no_preset_lifts_the_fraud_block() -> None:
    for preset in Preset:
        assert verdict(INMARSAT, "NL", policy(presets=(preset.value,))) == Blocked(FRAUD_PRONE)
    assert verdict(GB_PREMIUM, "NL", policy(presets=("worldwide",))) == Blocked(FRAUD_PRONE)


def test_a_blocked_category_still_wins_over_an_explicitly_allowed_range() -> None:
    both = policy(("international",), prefixes=("+449",))
    assert verdict(GB_PREMIUM, "NL", both) == Blocked("international")


# ---- whitelists -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "inside", "outside"),
    [
        ("nl", [NL_FIXED, NL_MOBILE, "+31881234567"], [NL_PREMIUM, NL_FREEPHONE, BE_FIXED]),
        ("benelux", [NL_FIXED, NL_PREMIUM, BE_FIXED, LU_FIXED], [DE_FIXED, GB_FIXED]),
        ("western_europe", [NL_FIXED, DE_FIXED, GB_FIXED, "+33123456789"], [PL_FIXED, US_FIXED]),
        ("europe", [DE_FIXED, PL_FIXED, "+390612345678"], [US_FIXED, JM_MOBILE, "+81312345678"]),
        ("worldwide", [NL_FIXED, US_FIXED, JM_MOBILE, "+81312345678", INTL_FREEPHONE], []),
    ],
)
def test_presets(preset: str, inside: list[str], outside: list[str]) -> None:
    whitelist = policy(presets=(preset,))
    for number in inside:
        assert verdict(number, "NL", whitelist) == Allowed(), number
    for number in outside:
        assert verdict(number, "NL", whitelist) == Blocked(NOT_IN_WHITELIST), number


def test_presets_grow_one_inside_the_next() -> None:
    order = [Preset.BENELUX, Preset.WESTERN_EUROPE, Preset.EUROPE]
    for small, big in itertools.pairwise(order):
        small_regions, big_regions = PRESET_REGIONS[small], PRESET_REGIONS[big]
        assert small_regions is not None and big_regions is not None
        assert small_regions < big_regions
    assert PRESET_REGIONS[Preset.WORLDWIDE] is None


def test_every_preset_region_is_one_libphonenumber_knows() -> None:
    for regions in PRESET_REGIONS.values():
        assert regions is None or regions <= phonenumbers.SUPPORTED_REGIONS


def test_a_shared_calling_code_is_read_by_the_numbers_own_region() -> None:
    # +1 876 is Jamaica, not the United States; +44 1481 is Guernsey, in the British Isles.
    assert verdict(JM_MOBILE, "NL", policy(presets=("europe",))) == Blocked(NOT_IN_WHITELIST)
    assert verdict("+441481712345", "NL", policy(presets=("western_europe",))) == Allowed()


def test_prefixes_and_presets_add_up_within_one_whitelist() -> None:
    whitelist = policy(presets=("benelux",), prefixes=("+44", "+1202"))
    assert verdict(BE_FIXED, "NL", whitelist) == Allowed()
    assert verdict(GB_FIXED, "NL", whitelist) == Allowed()
    assert verdict(US_FIXED, "NL", whitelist) == Allowed()
    assert verdict("+13125550123", "NL", whitelist) == Blocked(NOT_IN_WHITELIST)
    assert verdict(DE_FIXED, "NL", whitelist) == Blocked(NOT_IN_WHITELIST)


def test_a_whitelist_at_either_level_must_match() -> None:
    tenant = policy(presets=("europe",))
    user = policy(presets=("benelux",))
    assert verdict(BE_FIXED, "NL", tenant, user) == Allowed()
    assert verdict(DE_FIXED, "NL", tenant, user) == Blocked(NOT_IN_WHITELIST)
    assert verdict(US_FIXED, "NL", tenant, policy(prefixes=("+1",))) == Blocked(NOT_IN_WHITELIST)


def test_a_category_blocked_at_either_level_is_blocked() -> None:
    assert verdict(NL_MOBILE, "NL", policy(("mobile",)), DEFAULT) == Blocked("mobile")
    assert verdict(NL_MOBILE, "NL", DEFAULT, policy(("mobile",))) == Blocked("mobile")
    # A whitelist naming the number does not unblock its category.
    assert verdict(NL_MOBILE, "NL", policy(("mobile",)), policy(presets=("nl",))) == Blocked(
        "mobile"
    )


# ---- properties -------------------------------------------------------------------

_REGIONS = sorted(
    {"NL", "BE", "LU", "DE", "GB", "FR", "PL", "US", "JM", "JP", "GG", "IT", "RU", "AU", "BR"}
)
_TYPES = [
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.TOLL_FREE,
]


def _example(region: str, kind: int) -> str | None:
    number = phonenumbers.example_number_for_type(region, kind)
    return None if number is None else phonenumbers.format_number(number, PhoneNumberFormat.E164)


_NUMBERS = sorted(
    {n for r in _REGIONS for t in _TYPES if (n := _example(r, t)) is not None}
    | {INMARSAT, IRIDIUM, INTL_NETWORK, INTL_FREEPHONE, INTL_SHARED}
)
numbers_st = st.sampled_from(_NUMBERS)
countries = st.sampled_from(["NL", "BE", "GB", "US"])
prefixes_st = st.sampled_from(["+31", "+316", "+32", "+44", "+449", "+1", "+870", "+8816"])
policies = st.builds(
    Policy,
    blocked=st.frozensets(st.sampled_from(list(Category))),
    presets=st.frozensets(st.sampled_from(list(Preset)), max_size=2),
    prefixes=st.frozensets(prefixes_st, max_size=2),
)
no_prefix_policies = st.builds(
    Policy,
    blocked=st.frozensets(st.sampled_from(list(Category))),
    presets=st.frozensets(st.sampled_from(list(Preset)), max_size=2),
)


@given(numbers_st, countries, st.lists(policies, max_size=3))
def test_the_order_of_the_levels_does_not_matter(
    number: str, country: str, levels: list[Policy]
) -> None:
    assert verdict(number, country, *levels) == verdict(number, country, *reversed(levels))


@given(numbers_st, countries, policies, no_prefix_policies)
def test_another_level_never_loosens_a_verdict(
    number: str, country: str, level: Policy, other: Policy
) -> None:
    # (Only an explicit prefix can: it lifts the fraud block, which no_prefix_policies lack.)
    alone = verdict(number, country, level)
    if isinstance(alone, Blocked):
        assert isinstance(verdict(number, country, level, other), Blocked)


@given(numbers_st, countries, policies)
def test_a_blocked_verdict_names_a_known_reason_and_blocking_is_monotonic(
    number: str, country: str, level: Policy
) -> None:
    result = verdict(number, country, level)
    if isinstance(result, Blocked):
        assert result.reason in {c.value for c in Category} | {NOT_IN_WHITELIST, FRAUD_PRONE}
        stricter = Policy(ALL_CATEGORIES, level.presets, level.prefixes)
        assert isinstance(verdict(number, country, stricter), Blocked)


@given(st.sampled_from(["112", "911"]), policies, policies)
def test_emergency_passes_every_policy(short: str, a: Policy, b: Policy) -> None:
    assert verdict(f"+31{short}", "NL", a, b) == Allowed()


@given(policies)
def test_json_round_trip(level: Policy) -> None:
    assert from_json(to_json(level)) == level


# ---- reading ----------------------------------------------------------------------


def test_parse_policy_reads_names_and_prefixes_in_the_countrys_notation() -> None:
    read = parse_policy(
        [" Premium", "INTERNATIONAL"], ["western-europe"], ["0900", "0044 20", "+32"], "NL"
    )
    assert read == Policy(
        blocked=frozenset({Category.PREMIUM, Category.INTERNATIONAL}),
        presets=frozenset({Preset.WESTERN_EUROPE}),
        prefixes=frozenset({"+31900", "+4420", "+32"}),
    )
    assert to_json(read) == {
        "block": ["international", "premium"],
        "allow_presets": ["western_europe"],
        "allow_prefixes": ["+31900", "+32", "+4420"],
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"blocked": ["premum"]}, "block"),
        ({"blocked": [3]}, "block"),
        ({"presets": ["asia"]}, "allow_preset"),
        ({"prefixes": ["abc"]}, "allow_prefix"),
        ({"prefixes": ["+"]}, "allow_prefix"),
        ({"prefixes": ["+999"]}, "allow_prefix"),
        ({"prefixes": [f"+31{i}" for i in range(101, 203)]}, "allow_prefix"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, list[object]], field: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_policy(**kwargs)  # type: ignore[arg-type]
    assert e.value.field == field


@pytest.mark.parametrize("number", ["", "31201234567", "+0123", "+31 20", "+1234567890123456"])
def test_verdict_wants_e164(number: str) -> None:
    with pytest.raises(InvalidInput):
        verdict(number, "NL")


@pytest.mark.parametrize(
    "stored", ["x", 3, {"block": ["nope"]}, {"allow_prefixes": ["0900"]}, {"allow_prefixes": "+31"}]
)
def test_an_unreadable_stored_policy_is_a_value_error(stored: object) -> None:
    with pytest.raises(ValueError, match="outbound policy"):
        from_json(stored)


def test_none_stored_is_the_default_policy() -> None:
    assert from_json(None) == DEFAULT


def test_describe() -> None:
    assert describe(DEFAULT) == "no restrictions (fraud-prone destinations blocked)"
    text = describe(policy(("premium", "international"), ("benelux",), ("+44",)))
    assert text == "blocks international, premium; only benelux, +44"
