"""Programmable keys without a database: locations, functions, per-key rules, layout
stacking with locks. Parsers give a value or the domain's error, and round-trip."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from provd.domain.catalogue import PhoneModel
from provd.domain.errors import InvalidInput
from provd.domain.keys import (
    MAX_LABEL,
    TARGETS,
    KeyFunction,
    KeyLocation,
    KeySpec,
    LayoutLevel,
    Level,
    check_location,
    check_spec,
    default_line_keys,
    locked_by_earlier,
    merge,
    parse_function,
)
from provd.drivers.registry import MODELS, get_model
from tests.hypothesis_profiles import examples

PROPERTY = settings(
    max_examples=examples(200),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

T46G = get_model("yealink-t46g")
D785 = get_model("snom-d785")
NO_MODULE = next(m for m in MODELS if m.expansion is None)

locations = st.builds(KeyLocation, st.just(0), st.integers(1, 10**6)) | st.builds(
    KeyLocation, st.integers(1, 10**3), st.integers(1, 10**6)
)


# ---- locations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("line:1", KeyLocation(0, 1)),
        (" LINE:27 ", KeyLocation(0, 27)),
        ("exp:1:20", KeyLocation(1, 20)),
        ("Exp:3:60", KeyLocation(3, 60)),
    ],
)
def test_locations(text: str, expected: KeyLocation) -> None:
    assert KeyLocation.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("line:0", "start at 1"),
        ("exp:0:1", "start at 1"),
        ("exp:1:0", "start at 1"),
        ("line:-1", "start at 1"),
        ("line", "is not a key location"),
        ("line:1:2", "is not a key location"),
        ("exp:1", "is not a key location"),
        ("key:1", "is not a key location"),
        ("line:x", "is not a key location"),
        ("", "is not a key location"),
        ("line:" + "9" * 5000, "is not a key location"),
    ],
)
def test_bad_locations_name_the_field(text: str, words: str) -> None:
    with pytest.raises(InvalidInput) as e:
        KeyLocation.parse(text, field="location")
    assert e.value.field == "location"
    assert words in e.value.message


@PROPERTY
@given(locations)
def test_a_location_reads_back_from_its_text(location: KeyLocation) -> None:
    assert KeyLocation.parse(str(location)) == location


@PROPERTY
@given(st.text(alphabet=st.sampled_from("linexp:0123456789- ²٣"), max_size=14) | st.text())
@example("exp:" + "9" * 5000 + ":1")
@example("line:²")
def test_any_location_text_gives_a_location_or_the_domain_error(text: str) -> None:
    try:
        location = KeyLocation.parse(text)
    except InvalidInput as e:
        assert e.field == "key"
        return
    assert location.index >= 1 and location.module >= 0
    assert KeyLocation.parse(str(location)) == location


def test_locations_sort_own_keys_first_then_by_module() -> None:
    shuffled = [KeyLocation(2, 1), KeyLocation(0, 10), KeyLocation(1, 5), KeyLocation(0, 2)]
    assert [str(k) for k in sorted(shuffled)] == ["line:2", "line:10", "exp:1:5", "exp:2:1"]


# ---- functions -----------------------------------------------------------------------


@pytest.mark.parametrize("function", list(KeyFunction))
def test_every_function_reads_back_and_has_a_target_rule(function: KeyFunction) -> None:
    assert parse_function(function.value) is function
    assert parse_function(f" {function.value.upper().replace('_', '-')} ") is function
    assert function in TARGETS


@PROPERTY
@given(st.text())
def test_any_function_text_gives_a_function_or_the_domain_error(text: str) -> None:
    try:
        parse_function(text)
    except InvalidInput as e:
        assert e.field == "function" and "known: line, blf" in e.message


# ---- where a key may be --------------------------------------------------------------


def test_a_location_the_model_lacks_is_refused_with_the_reason() -> None:
    check_location(KeyLocation(0, T46G.line_keys), T46G, 0, field="k")
    assert T46G.expansion is not None
    check_location(KeyLocation(2, T46G.expansion.keys), T46G, 2, field="k")
    cases = [
        (KeyLocation(0, T46G.line_keys + 1), T46G, 0, f"has {T46G.line_keys} line keys"),
        (KeyLocation(1, 1), T46G, 0, "only 0 expansion modules"),
        (KeyLocation(2, 1), T46G, 1, "only 1 expansion module can"),
        (KeyLocation(1, T46G.expansion.keys + 1), T46G, 1, f"has {T46G.expansion.keys} keys"),
        (KeyLocation(1, 1), NO_MODULE, 1, "takes no expansion module"),
    ]
    for location, model, modules, words in cases:
        with pytest.raises(InvalidInput, match=words) as e:
            check_location(location, model, modules, field="k")
        assert e.value.field == "k"


# ---- one key's rules -----------------------------------------------------------------


def spec(function: KeyFunction, target: str = "", label: str = "", n: int = 1) -> KeySpec:
    return KeySpec(KeyLocation(0, n), function, target, label)


@pytest.mark.parametrize(
    ("key", "cleaned_target"),
    [
        (spec(KeyFunction.BLF, " 202 "), "202"),
        # The night switch's lamp: its first schedule, or the N-th.
        (spec(KeyFunction.BLF, "*915"), "*915"),
        (spec(KeyFunction.BLF, "*915*2"), "*915*2"),
        # A queue agent's login lamp: *903 and a user's extension.
        (spec(KeyFunction.BLF, "*903*201"), "*903*201"),
        (spec(KeyFunction.SPEED_DIAL, "+31201234567"), "+31201234567"),
        (spec(KeyFunction.PARK), ""),
        (spec(KeyFunction.PARK, "*85"), "*85"),
        (spec(KeyFunction.DND), ""),
        (spec(KeyFunction.URL, "https://intranet.example/phone"), "https://intranet.example/phone"),
        (spec(KeyFunction.DTMF, "12*#AD"), "12*#AD"),
        (spec(KeyFunction.LINE), "1"),
        (spec(KeyFunction.LINE, "16"), "16"),
    ],
)
def test_keys_the_rules_accept(key: KeySpec, cleaned_target: str) -> None:
    checked = check_spec(key, T46G, 0, extensions=["201", "202"])
    assert checked.target == cleaned_target
    # Checking is idempotent: what was accepted is already clean.
    assert check_spec(checked, T46G, 0, extensions=["201", "202"]) == checked


@pytest.mark.parametrize(
    ("key", "words"),
    [
        (spec(KeyFunction.DND, "201"), "takes no target"),
        (spec(KeyFunction.SPEED_DIAL), "needs a number to dial"),
        (spec(KeyFunction.SPEED_DIAL, "0800-CALL"), "needs a number to dial"),
        (spec(KeyFunction.PICKUP, "abc"), "is not a number"),
        (spec(KeyFunction.DTMF, "E"), "the tones to send"),
        (spec(KeyFunction.URL, "ftp://x"), "http:// or https://"),
        (spec(KeyFunction.URL, "https://x/\x00"), "control characters"),
        (spec(KeyFunction.BLF, "2"), "the extension it watches"),
        (spec(KeyFunction.BLF, "*916"), "the extension it watches"),
        (spec(KeyFunction.BLF, "*915*0"), "the extension it watches"),
        (spec(KeyFunction.INTERCOM, "*915"), "the extension it watches"),
        (spec(KeyFunction.BLF, "*903*299"), "extension 299 is not a user"),
        (spec(KeyFunction.BLF, "*903"), "the extension it watches"),
        (spec(KeyFunction.INTERCOM, "*903*201"), "the extension it watches"),
        (spec(KeyFunction.INTERCOM, "299"), "extension 299 is not a user"),
        (spec(KeyFunction.LINE, "17"), "from 1 to 16"),
        (spec(KeyFunction.LINE, "\u00b2"), "from 1 to 16"),
        (spec(KeyFunction.LINE, "9" * 5000), "from 1 to 16"),
        (spec(KeyFunction.LINE, "0" * 5000 + "1"), "from 1 to 16"),
        (spec(KeyFunction.DND, label="x" * (MAX_LABEL + 1)), f"at most {MAX_LABEL}"),
        (spec(KeyFunction.DND, label="a\nb"), "control characters"),
    ],
)
def test_keys_the_rules_refuse_name_the_key(key: KeySpec, words: str) -> None:
    with pytest.raises(InvalidInput, match=words) as e:
        check_spec(key, T46G, 0, extensions=["201", "202"])
    assert e.value.field == "key line:1"


_targets = st.sampled_from(["", "1", "201", "+31*#", "https://x.example/", "AD", "17"]) | st.text(
    max_size=40
)


@PROPERTY
@given(
    st.sampled_from(list(KeyFunction)),
    _targets,
    st.text(max_size=40),
    st.sampled_from([T46G, D785, NO_MODULE]),
    locations,
    st.integers(0, 3),
)
def test_any_key_gives_a_clean_spec_or_the_domain_error(
    function: KeyFunction,
    target: str,
    label: str,
    model: PhoneModel,
    location: KeyLocation,
    modules: int,
) -> None:
    key = KeySpec(location, function, target, label)
    try:
        checked = check_spec(key, model, modules, extensions=["201"])
    except InvalidInput as e:
        assert e.field == f"key {location}"
        return
    assert checked.target.isprintable() and checked.label.isprintable()
    assert len(checked.label) <= MAX_LABEL
    assert check_spec(checked, model, modules, extensions=["201"]) == checked


# ---- layouts -------------------------------------------------------------------------


def level(lv: Level, *keys: KeySpec) -> LayoutLevel:
    return LayoutLevel(lv, {k.location: k for k in keys})


def test_later_levels_win_except_over_a_locked_key() -> None:
    one, two, three = KeyLocation(0, 1), KeyLocation(0, 2), KeyLocation(0, 3)
    platform = level(
        Level.PLATFORM,
        KeySpec(one, KeyFunction.VOICEMAIL, locked=True),
        KeySpec(two, KeyFunction.DND),
    )
    tenant = level(Level.TENANT, KeySpec(two, KeyFunction.PARK, locked=True))
    user = level(
        Level.USER,
        KeySpec(one, KeyFunction.DND),
        KeySpec(two, KeyFunction.PICKUP),
        KeySpec(three, KeyFunction.FORWARD),
    )
    device = level(Level.DEVICE, KeySpec(three, KeyFunction.BLF, "201"))
    # Given in any order: stacking follows the levels, not the argument order.
    merged = merge([device, user, platform, tenant])
    assert {str(k): (s.function, lv) for k, (s, lv) in merged.items()} == {
        "line:1": (KeyFunction.VOICEMAIL, Level.PLATFORM),
        "line:2": (KeyFunction.PARK, Level.TENANT),
        "line:3": (KeyFunction.BLF, Level.DEVICE),
    }
    levels = [platform, tenant, user, device]
    assert locked_by_earlier(levels, Level.PLATFORM) == {}
    assert locked_by_earlier(levels, Level.TENANT) == {one: Level.PLATFORM}
    assert locked_by_earlier(levels, Level.USER) == {one: Level.PLATFORM, two: Level.TENANT}


_layout_keys = st.dictionaries(
    st.builds(KeyLocation, st.just(0), st.integers(1, 4)),
    st.tuples(st.sampled_from([KeyFunction.DND, KeyFunction.PARK]), st.booleans()),
    max_size=4,
)


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(list(Level)), _layout_keys), max_size=4))
def test_a_locked_key_keeps_the_value_of_the_first_level_that_locked_it(
    layers: list[tuple[Level, dict[KeyLocation, tuple[KeyFunction, bool]]]],
) -> None:
    levels = [
        LayoutLevel(
            lv, {loc: KeySpec(loc, f, str(lv.value), "", lock) for loc, (f, lock) in ks.items()}
        )
        for lv, ks in layers
    ]
    merged = merge(levels)
    stacked = sorted(levels, key=lambda layer: layer.level)
    for location, (spec_, from_level) in merged.items():
        setters = [layer for layer in stacked if location in layer.keys]
        lockers = [layer for layer in setters if layer.keys[location].locked]
        expected = lockers[0] if lockers else setters[-1]
        assert from_level == expected.level
        assert spec_ == expected.keys[location]
    assert set(merged) == {loc for layer in levels for loc in layer.keys}


def test_without_a_layout_each_line_in_use_gets_its_key() -> None:
    keys = default_line_keys(T46G, 3)
    assert [(str(k), s.function, s.target) for k, s in keys.items()] == [
        ("line:1", KeyFunction.LINE, "1"),
        ("line:2", KeyFunction.LINE, "2"),
        ("line:3", KeyFunction.LINE, "3"),
    ]
    assert len(default_line_keys(T46G, 100)) == T46G.line_keys
    assert default_line_keys(T46G, 0) == {}
