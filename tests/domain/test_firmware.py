"""Firmware rules without a database: which pin wins, version and checksum checks, the
device and rollout state machines, and how devices are split into batches."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provd.domain.errors import InvalidInput
from provd.domain.firmware import (
    FINAL_DEVICE_STATES,
    FINAL_ROLLOUT_STATES,
    DeviceState,
    Pin,
    PinLevel,
    RolloutState,
    can_move,
    check_rollout_move,
    check_sha256,
    check_version,
    counts,
    is_drifted,
    plan_batches,
    resolve,
)
from tests.hypothesis_profiles import examples

PROPERTY = settings(
    max_examples=examples(200),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# ---- which version a device should run ---------------------------------------------


def pin(level: PinLevel, version: str) -> Pin:
    return Pin(level, image_id=level.value + 1, version=version, tested=True)


def test_the_most_specific_pin_wins_and_the_explanation_says_why() -> None:
    pins = {
        PinLevel.PLATFORM: pin(PinLevel.PLATFORM, "1.0"),
        PinLevel.DEVICE: pin(PinLevel.DEVICE, "3.0"),
    }
    resolution = resolve(pins)
    assert resolution.version == "3.0"
    assert resolution.explanation == (
        "device pin: 3.0 (used)",
        "tenant override: none",
        "platform default: 1.0 (overridden)",
    )
    nothing = resolve({})
    assert nothing.pin is None and nothing.version is None
    assert len(nothing.explanation) == len(PinLevel)


@PROPERTY
@given(st.sets(st.sampled_from(list(PinLevel))))
def test_resolution_picks_the_highest_level_present(levels: set[PinLevel]) -> None:
    resolution = resolve({lv: pin(lv, f"v{lv.value}") for lv in levels})
    if not levels:
        assert resolution.pin is None
    else:
        assert resolution.pin is not None and resolution.pin.level == max(levels)
    used = [line for line in resolution.explanation if line.endswith("(used)")]
    assert len(used) == (1 if levels else 0)
    overridden = [line for line in resolution.explanation if line.endswith("(overridden)")]
    assert len(overridden) == max(len(levels) - 1, 0)


@pytest.mark.parametrize(
    ("expected", "reported", "drifted"),
    [("1", "2", True), ("1", "1", False), (None, "1", False), ("1", None, False)],
)
def test_drift_needs_both_versions_and_a_difference(
    expected: str | None, reported: str | None, drifted: bool
) -> None:
    assert is_drifted(expected, reported) is drifted


# ---- versions and checksums ---------------------------------------------------------


@pytest.mark.parametrize("version", ["28.83.0.120", " 10.1.46.16 ", "V86_r1-2", "a"])
def test_versions(version: str) -> None:
    assert check_version(version) == version.strip()


@pytest.mark.parametrize("version", ["", ".1", "-1", "1 2", "1/2", "x" * 65, "1\n2"])
def test_bad_versions_name_the_field(version: str) -> None:
    with pytest.raises(InvalidInput, match="is not a firmware version") as e:
        check_version(version, field="--version")
    assert e.value.field == "--version"


@PROPERTY
@given(st.text())
def test_any_version_text_gives_a_version_or_the_domain_error(text: str) -> None:
    try:
        version = check_version(text)
    except InvalidInput:
        return
    assert check_version(version) == version and version.isascii() and version.isprintable()


def test_checksums_are_64_hex_digits_in_lower_case() -> None:
    digest = "AB" * 32
    assert check_sha256(f" {digest} ") == digest.lower()
    for bad in ("ab" * 31, "ab" * 33, "zz" * 32, ""):
        with pytest.raises(InvalidInput, match="64 hexadecimal"):
            check_sha256(bad)


# ---- device states ------------------------------------------------------------------


def test_a_device_moves_forward_only_and_final_states_are_final() -> None:
    path = [DeviceState.PENDING, DeviceState.NOTIFIED, DeviceState.FETCHED, DeviceState.DONE]
    for current, new in itertools.pairwise(path):
        assert can_move(current, new)
        assert not can_move(new, current)
    for final in FINAL_DEVICE_STATES:
        assert not any(can_move(final, new) for new in DeviceState)
    # A device that never got the reboot cannot have timed out waiting for it.
    assert not can_move(DeviceState.PENDING, DeviceState.TIMED_OUT)
    assert not can_move(DeviceState.PENDING, DeviceState.FETCHED)
    assert not any(can_move(state, state) for state in DeviceState)


def test_every_device_state_can_reach_a_final_one() -> None:
    for state in DeviceState:
        seen, todo = {state}, [state]
        while todo:
            current = todo.pop()
            for new in DeviceState:
                if can_move(current, new) and new not in seen:
                    seen.add(new)
                    todo.append(new)
        assert seen & FINAL_DEVICE_STATES, state


def test_counts_name_every_state() -> None:
    result = counts([DeviceState.DONE, DeviceState.DONE, DeviceState.FAILED])
    assert result == {s.value: 0 for s in DeviceState} | {"done": 2, "failed": 1}


# ---- rollout states -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (RolloutState.RUNNING, RolloutState.PAUSED),
        (RolloutState.PAUSED, RolloutState.RUNNING),
        (RolloutState.PAUSED, RolloutState.CANCELLED),
        (RolloutState.RUNNING, RolloutState.CANCELLED),
        (RolloutState.RUNNING, RolloutState.HALTED),
        (RolloutState.RUNNING, RolloutState.DONE),
    ],
)
def test_rollout_moves(current: RolloutState, new: RolloutState) -> None:
    check_rollout_move(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        # A paused rollout sends nothing, so it cannot finish or fail its canary.
        (RolloutState.PAUSED, RolloutState.DONE),
        (RolloutState.PAUSED, RolloutState.HALTED),
        (RolloutState.RUNNING, RolloutState.RUNNING),
        *[(final, new) for final in sorted(FINAL_ROLLOUT_STATES) for new in RolloutState],
    ],
)
def test_refused_rollout_moves_say_which(current: RolloutState, new: RolloutState) -> None:
    with pytest.raises(InvalidInput) as e:
        check_rollout_move(current, new)
    assert e.value.field == "rollout"
    assert e.value.message == f"a {current} rollout cannot be {new}"


# ---- batches ------------------------------------------------------------------------


def test_batches_after_the_canary() -> None:
    assert plan_batches(7, 3, 2) == [0, 0, 1, 1, 1, 2, 2]
    assert plan_batches(0, 1, 0) == []
    assert plan_batches(3, 5, 3) == [0, 0, 0]


@pytest.mark.parametrize(
    ("count", "batch", "canary", "field"),
    [(5, 0, 1, "batch"), (5, 1, -1, "canary"), (5, 1, 6, "canary")],
)
def test_impossible_batches_name_the_field(count: int, batch: int, canary: int, field: str) -> None:
    with pytest.raises(InvalidInput) as e:
        plan_batches(count, batch, canary)
    assert e.value.field == field


@PROPERTY
@given(st.integers(0, 300), st.integers(1, 50), st.data())
def test_every_device_gets_one_batch_none_over_size_in_order(
    count: int, batch_size: int, data: st.DataObject
) -> None:
    canary = data.draw(st.integers(0, count))
    batches = plan_batches(count, batch_size, canary)
    assert len(batches) == count
    assert batches == sorted(batches)
    assert batches.count(0) == canary
    rest = [b for b in batches if b]
    sizes = [rest.count(b) for b in sorted(set(rest))]
    # Batches are numbered 1, 2, … without gaps, all full but the last.
    assert sorted(set(rest)) == list(range(1, len(sizes) + 1))
    assert all(size == batch_size for size in sizes[:-1])
    assert all(1 <= size <= batch_size for size in sizes)
